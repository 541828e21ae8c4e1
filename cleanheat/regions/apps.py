from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "cleanheat.regions"
    verbose_name = "行政区划"
