from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidiesConfig(AppConfig):
    name = "cleanheat.subsidies"
    verbose_name = _("补贴资金")
