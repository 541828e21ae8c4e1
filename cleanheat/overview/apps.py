from django.apps import AppConfig


class OverviewConfig(AppConfig):
    name = "cleanheat.overview"
    verbose_name = "区域概览"
