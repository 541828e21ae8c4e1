from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The synthetic Xinzhou demo: assembles every app's demo data, so it sits above them all."""

    name = "cleanheat.demo"
    verbose_name = "演示数据"
