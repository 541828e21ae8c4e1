from django.apps import AppConfig


class PlanConfig(AppConfig):
    name = "cleanheat.plan"
    verbose_name = "年度计划与进度"
