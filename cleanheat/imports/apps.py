from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "cleanheat.imports"
    verbose_name = "导入导出"
