from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "cleanheat.reports"
    verbose_name = _("报表与减排")

    def ready(self):
        from . import receivers  # noqa: F401 -- connects the region-change receiver once the registry is ready
