from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "cleanheat.procurement"
    verbose_name = _("设备招标与选型")

    def ready(self):
        from . import receivers  # noqa: F401 -- connects the region-change receiver once the registry is ready
