from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "cleanheat.inspections"
    verbose_name = _("验收与督导检查")
