from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidiesConfig(AppConfig):
    name = "cleanheat.subsidies"
    verbose_name = _("补贴资金")

    def ready(self):
        from . import receivers  # noqa: F401 -- connects the region-change receiver once the registry is ready
