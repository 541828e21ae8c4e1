from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "cleanheat.rules"
    verbose_name = "政策规则"
