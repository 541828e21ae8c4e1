from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "cleanheat.jobs"
    verbose_name = "后台任务"
