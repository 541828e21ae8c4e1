from django.apps import AppConfig


class PlanConfig(AppConfig):
    name = "cleanheat.plan"
    verbose_name = "年度计划与进度"

    def ready(self):
        from . import receivers  # noqa: F401 -- connects the region-change receiver once the registry is ready
