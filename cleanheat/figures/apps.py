from django.apps import AppConfig


class FiguresConfig(AppConfig):
    name = "cleanheat.figures"
    verbose_name = "统计缓存"

    def ready(self):
        from . import watch  # noqa: F401 -- connects the write watcher once the app registry is ready
        watch.install()
