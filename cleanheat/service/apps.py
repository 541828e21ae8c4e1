from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "cleanheat.service"
    verbose_name = _("热线与维修")
