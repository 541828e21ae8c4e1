from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes


class Region(models.Model):
    """A node of the hierarchy above the household: (province,) city, county, township, village.

    `name` is the official statistical name (奇村村委会); `short_name` the one sheets and people use
    (奇村), blank where nothing is shortened."""

    LEVEL_CHOICES = [
        (codes.PROVINCE, _("省（自治区、直辖市）")),
        (codes.CITY, _("市")),
        (codes.COUNTY, _("县（市、区）")),
        (codes.TOWNSHIP, _("乡（镇、街道）")),
        (codes.VILLAGE, _("村（社区）")),
    ]

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    short_name = models.CharField(_("简称"), max_length=60, blank=True,
                                  help_text=_("村（社区）的通用简称，如“奇村村委会”简称“奇村”"))
    level = models.PositiveSmallIntegerField(_("层级"), choices=LEVEL_CHOICES)
    parent = models.ForeignKey("self", verbose_name=_("上级"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children", to_field="code")
    kind = models.CharField(_("类型"), max_length=20, blank=True,
                            help_text=_("如 区、县、县级市、功能区、街道、镇、乡、村"))

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self):
        return self.name

    @property
    def prefix(self) -> str:
        return self.code[: codes.PREFIX_LENGTH[self.level]]

    def ancestors(self):
        """City … parent, found by code prefixes (one query); the province is not shown above a city."""
        wanted = [codes.full_code(self.code[:n]) for lvl, n in codes.PREFIX_LENGTH.items()
                  if codes.CITY <= lvl < self.level]
        return list(Region.objects.filter(code__in=wanted).order_by("level"))

    def match_names(self) -> tuple[str, ...]:
        """The names a sheet may use for this region: the official one, then the short one."""
        return names_of(self.name, self.short_name)


def names_of(name: str, short_name: str = "") -> tuple[str, ...]:
    return (name, short_name) if short_name and short_name != name else (name,)


class RegionSource(models.Model):
    """The package release a city's regions were last loaded from, shown on the region pages."""

    city_code = models.CharField(_("城市代码"), max_length=4, unique=True)
    package = models.CharField(_("数据包"), max_length=60)
    version = models.CharField(_("版本"), max_length=30)
    nbs_year = models.PositiveSmallIntegerField(_("统计用区划代码年份"), null=True, blank=True)
    loaded_at = models.DateTimeField(_("加载时间"), auto_now=True)

    class Meta:
        verbose_name = _("区划数据来源")
        verbose_name_plural = _("区划数据来源")

    def __str__(self):
        return f"{self.city_code} {self.package} {self.version}"
