from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes

# China's extent (a village's coordinates outside it are a typing error, e.g. swapped columns)
LATITUDE_RANGE = (3.0, 54.0)
LONGITUDE_RANGE = (73.0, 136.0)


class CurrentRegions(models.Manager):
    """Regions in force: one retired by a region change (撤乡并镇) is kept for history and for
    mapping old codes, but no page, picker, rollup or import lists it."""

    def get_queryset(self):
        return super().get_queryset().filter(retired_on__isnull=True)


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
    # -- retired by a region change (never deleted): since when, and the region that took its place
    # -- where it lies (村庄坐标表; WGS-84 as phones record it, approximate is enough): photos taken far
    # from the village are flagged, the inspectors' phones list the nearest visits first
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True,
                                   validators=[MinValueValidator(LATITUDE_RANGE[0]),
                                               MaxValueValidator(LATITUDE_RANGE[1])])
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True,
                                    validators=[MinValueValidator(LONGITUDE_RANGE[0]),
                                                MaxValueValidator(LONGITUDE_RANGE[1])])
    retired_on = models.DateField(_("撤销日期"), null=True, blank=True)
    successor = models.ForeignKey("self", verbose_name=_("调整后区划"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="predecessors", to_field="code")

    objects = CurrentRegions()
    all_objects = models.Manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        base_manager_name = "all_objects"  # a household's history may name a retired village

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


class RegionChange(models.Model):
    """A change of the divisions recorded by an administrator (撤乡并镇, 村庄调整), applied once by
    `ledger.services.apply_region_change` (regions through `regions.services`, households through
    the ledger): a rename keeps the code; a merge or a move gives each moved village a code under
    its new township (the code prefix is the hierarchy and the scope) and keeps the old code as an
    alias; retired regions stay, pointing at their successor."""

    RENAME, MERGE, MOVE, SPLIT = "rename", "merge", "move", "split"
    KIND_CHOICES = [
        (RENAME, _("更名")),
        (MERGE, _("合并（撤乡并镇）")),
        (MOVE, _("村（社区）改属其他乡镇")),
        (SPLIT, _("拆分（部分村设立新乡镇）")),
    ]

    kind = models.CharField(_("调整类型"), max_length=10, choices=KIND_CHOICES)
    effective_on = models.DateField(_("生效日期"))
    from_codes = models.JSONField(_("原区划代码"), default=list,
                                  help_text=_("更名：被更名的区划；合并：被合并的乡镇；改属、拆分：原乡镇"))
    villages = models.JSONField(_("调整的村（社区）"), default=list, blank=True,
                                help_text=_("改属、拆分：要调整的村（社区）代码"))
    to_code = models.CharField(_("调整后区划代码"), max_length=12, blank=True)
    to_name = models.CharField(_("调整后名称"), max_length=60, blank=True)
    note = models.CharField(_("说明（文件依据）"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    applied_at = models.DateTimeField(_("实施时间"), null=True, blank=True)
    summary = models.JSONField(_("实施结果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("区划调整")
        verbose_name_plural = _("区划调整")
        ordering = ["-effective_on", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.effective_on}：{self.to_name or self.to_code}"


class RegionAlias(models.Model):
    """An old code (and the name it had) that now means another region, from a region change: an
    imported sheet's old code or old name is read as the new one, with a note."""

    old_code = models.CharField(_("原代码"), max_length=12)
    old_name = models.CharField(_("原名称"), max_length=60)
    old_parent_name = models.CharField(_("原上级名称"), max_length=60, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("现区划"), on_delete=models.PROTECT, to_field="code",
                               related_name="aliases")
    change = models.ForeignKey(RegionChange, verbose_name=_("区划调整"), on_delete=models.PROTECT,
                               related_name="aliases")

    class Meta:
        verbose_name = _("区划旧代码")
        verbose_name_plural = _("区划旧代码")
        indexes = [models.Index(fields=["old_code"], name="region_alias_old_idx")]

    def __str__(self):
        return f"{self.old_code} {self.old_name} → {self.region_id}"
