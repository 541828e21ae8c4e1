"""Enumerations of the ledger. Labels are Chinese (zh-hans first); English comes from the .po."""
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import lifecycle


class HeatingPath(models.TextChoices):
    CENTRAL = "central", _("集中供热（工业余热）")
    ELECTRIC = "electric", _("煤改电")
    GAS = "gas", _("煤改气")
    BIOMASS = "biomass", _("生物质（热电联产）")
    GROUND_SOURCE = "ground_source", _("地源热泵")
    WATER_SOURCE = "water_source", _("水源热泵")
    SOLAR = "solar", _("太阳能")
    MULTI = "multi", _("多能互补")
    CLEAN_COAL = "clean_coal", _("洁净煤")


class ElectricDevice(models.TextChoices):
    ASHP_WATER = "ashp_water", _("空气源热泵（热水型）")
    ASHP_AIR = "ashp_air", _("空气源热泵（热风型）")
    DIRECT = "direct", _("直热式电暖器")
    STORAGE = "storage", _("蓄热式电暖器")
    OTHER = "other", _("其他电取暖设备")


class LifecycleState(models.TextChoices):
    CONFIRMED = "confirmed", _("确村确户")
    SELECTED = "selected", _("已选型")
    INSTALLING = "installing", _("施工中")
    INSTALLED = "installed", _("已完工")
    ACCEPTED = "accepted", _("已验收")
    PROVEN = "proven", _("稳定运行满一个采暖季")
    REMOVED = "removed", _("原设施已拆除")


STATE_ORDER = list(lifecycle.STEPS)  # the enum lists them in the same order (tested)


class OriginalFacility(models.TextChoices):
    COAL_STOVE = "coal_stove", _("燃煤炉")
    TUNUANQI = "tunuanqi", _("土暖气")
    KANG = "kang", _("火炕")
    COAL_BOILER = "coal_boiler", _("燃煤小锅炉")
    OTHER = "other", _("其他")


class Structure(models.TextChoices):
    BRICK_CONCRETE = "brick_concrete", _("砖混")
    BRICK_WOOD = "brick_wood", _("砖木")
    ADOBE = "adobe", _("土坯")
    STONE = "stone", _("石砌")
    FRAME = "frame", _("框架")
    OTHER = "other", _("其他")


class Channel(models.TextChoices):
    """Through which door a change came in: shown in every history line."""
    UI = "ui", _("网页")
    API = "api", _("接口")
    IMPORT = "import", _("导入")
    CLI = "cli", _("命令行")
    SYSTEM = "system", _("系统")


VULNERABLE_FLAGS = {
    "is_dibao": _("低保"),
    "is_tekun": _("特困"),
    "is_tuopin": _("脱贫"),
    "is_canji": _("残疾"),
}


# Household fields holding a yes/no, and those holding one of the choices above.
BOOL_FIELDS = {*VULNERABLE_FLAGS, "envelope_retrofitted"}
ENUMS = {
    "structure": Structure, "original_facility": OriginalFacility,
    "heating_path": HeatingPath, "electric_device": ElectricDevice,
}
