"""Configuration and registers the plan's rules read (per city and year): heating seasons, the
outage limit, accepted environmental grades, gas supply contracts, heat sources."""
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from cleanheat.limits import check_ranges

# Plausible ranges {field: (lowest, highest)}; None = open.
RULE_LIMITS = {"gas_index_m3_per_m2": (0.01, None), "retrofit_min_gain_pct": (0, 100)}
GAS_CONTRACT_LIMITS = {"season_volume_m3": (1, None)}
HEAT_SOURCE_LIMITS = {"capacity_mw": (0, None)}


class RuleConfig(models.Model):
    city_code = models.CharField(_("城市区划代码"), max_length=12)
    year = models.PositiveSmallIntegerField(_("年度"))
    outage_limit_days = models.PositiveSmallIntegerField(_("采暖季内允许的最长停暖（天）"), default=3)
    accepted_grades = models.CharField(_("认可的环保绩效等级"), max_length=40, default="A,B",
                                       help_text=_("逗号分隔；“B级及以上”默认不含B-"))
    gas_index_m3_per_m2 = models.DecimalField(_("煤改气采暖季用气指标（m³/㎡）"), max_digits=5, decimal_places=2,
                                              default=10)
    retrofit_min_gain_pct = models.PositiveSmallIntegerField(_("节能改造最低能效提升（%）"), default=30)

    class Meta:
        verbose_name = _("规则参数")
        verbose_name_plural = _("规则参数")
        unique_together = [("city_code", "year")]

    def grades(self) -> set[str]:
        return {g.strip().upper() for g in self.accepted_grades.split(",") if g.strip()}

    def clean(self):
        known = {code for code, _ in HeatSource.GRADES}
        unknown = sorted(self.grades() - known)
        check_ranges(self, RULE_LIMITS, {"accepted_grades": [
            f"“{'、'.join(unknown)}”不是环保绩效等级，可填：{'、'.join(sorted(known))}"]} if unknown else None)


class HeatingSeason(models.Model):
    """An operating heating season; county_code blank = the whole city."""

    city_code = models.CharField(_("城市区划代码"), max_length=12)
    county_code = models.CharField(_("县级区划代码"), max_length=6, blank=True)
    start = models.DateField(_("开始"))
    end = models.DateField(_("结束"))

    class Meta:
        verbose_name = _("采暖季")
        verbose_name_plural = _("采暖季")
        ordering = ["start"]

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": ["采暖季结束日期应晚于开始日期"]})


class GasContract(models.Model):
    """A signed gas supply contract for coal-to-gas households (以气定改)."""

    name = models.CharField(_("合同名称"), max_length=120)
    gas_company = models.CharField(_("燃气企业"), max_length=80)
    county_code = models.CharField(_("县级区划代码"), max_length=6)
    villages = models.ManyToManyField("regions.Region", verbose_name=_("覆盖村"), related_name="gas_contracts")
    season_volume_m3 = models.PositiveIntegerField(_("采暖季合同气量（m³）"))
    pipeline_done = models.BooleanField(_("管网已建成"), default=False)
    safety_passed = models.BooleanField(_("安全验收已通过"), default=False)

    class Meta:
        verbose_name = _("供气合同")
        verbose_name_plural = _("供气合同")

    def __str__(self):
        return self.name

    def clean(self):
        check_ranges(self, GAS_CONTRACT_LIMITS)


class HeatSource(models.Model):
    KINDS = [("chp", _("热电联产")), ("boiler_house", _("独立供热锅炉房")), ("waste_heat", _("工业余热")),
             ("biomass_chp", _("生物质热电联产"))]
    GRADES = [("A", "A"), ("B", "B"), ("B-", "B-"), ("C", "C"), ("D", "D")]
    name = models.CharField(_("名称"), max_length=80)
    kind = models.CharField(_("类型"), max_length=20, choices=KINDS)
    county_code = models.CharField(_("县级区划代码"), max_length=6)
    capacity_mw = models.DecimalField(_("供热能力（MW）"), max_digits=8, decimal_places=1, default=0)
    grade = models.CharField(_("环保绩效等级"), max_length=2, choices=GRADES)
    on_exit_list = models.BooleanField(_("列入淘汰关停/产能退出"), default=False)
    flue_gas_cleaning = models.BooleanField(_("配备高效烟气净化设施"), default=True)
    villages = models.ManyToManyField("regions.Region", verbose_name=_("供热管网覆盖村"), blank=True,
                                      related_name="heat_sources")

    class Meta:
        verbose_name = _("热源")
        verbose_name_plural = _("热源")

    def __str__(self):
        return self.name

    def clean(self):
        check_ranges(self, HEAT_SOURCE_LIMITS)
