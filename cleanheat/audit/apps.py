from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cleanheat.audit"
    verbose_name = "安全审计"

    def ready(self):
        from . import signals  # noqa: F401  (login / logout / failed-login listeners)
