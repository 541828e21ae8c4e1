from django.apps import AppConfig


class HelpdocsConfig(AppConfig):
    name = "cleanheat.helpdocs"
    verbose_name = "帮助"
