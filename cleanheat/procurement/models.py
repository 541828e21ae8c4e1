"""Tender catalog, county purchase contracts and allocations (§五(二)), and the data that sizes
each household's equipment (§四.2): climate per county, envelope per structure, tariffs and
simple subsidy rules per city and year. Written only through procurement.services."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.choices import Channel, HeatingPath, Structure
from cleanheat.limits import check_ranges

from .selection import tariff_problems

# Plausible ranges of the reference data {field: (lowest, highest)}; None = open.
CLIMATE_LIMITS = {"design_temp_c": (-50, 20), "mean_temp_c": (-40, 20), "heating_days": (1, 366)}
ENVELOPE_LIMITS = {**{f: (0.01, 10) for f in ("wall_u", "roof_u", "window_u", "floor_u", "retrofit_wall_u",
                                              "retrofit_roof_u", "retrofit_window_u")},
                   "air_changes": (0, 10), "retrofit_air_changes": (0, 10), "storey_height": (1, 10),
                   "window_ratio": (0, 1)}
ADVISOR_LIMITS = {"indoor_temp_c": (5, 30), "usage_factor": (0.01, 1), "oversize_ratio": (1, None),
                  "lifetime_years": (1, None)}
GRID_LIMITS = {"spare_kw": (0, None)}


class EquipmentType(models.TextChoices):
    ASHP_WATER = "ashp_water", _("低温空气源热泵（热水型）")
    ASHP_AIR = "ashp_air", _("低温空气源热泵（热风型）")
    DIRECT = "direct", _("直热式电暖器")
    STORAGE = "storage", _("蓄热式电暖器")
    GAS_BOILER = "gas_boiler", _("燃气壁挂炉")
    BIOMASS_BOILER = "biomass_boiler", _("生物质颗粒锅炉（带烟气净化）")
    GROUND_SOURCE = "ground_source", _("地源热泵")
    WATER_SOURCE = "water_source", _("水源热泵")
    SOLAR_ASSISTED = "solar_assisted", _("太阳能辅助热泵")


PATH_OF_TYPE = {
    "ashp_water": HeatingPath.ELECTRIC, "ashp_air": HeatingPath.ELECTRIC, "direct": HeatingPath.ELECTRIC,
    "storage": HeatingPath.ELECTRIC, "gas_boiler": HeatingPath.GAS, "biomass_boiler": HeatingPath.BIOMASS,
    "ground_source": HeatingPath.GROUND_SOURCE, "water_source": HeatingPath.WATER_SOURCE,
    "solar_assisted": HeatingPath.SOLAR,
}
# Their seasonal efficiency is a COP (any positive number); every other type's is a thermal
# efficiency in (0, 1].
HEAT_PUMP_TYPES = {"ashp_water", "ashp_air", "ground_source", "water_source", "solar_assisted"}


class TenderLot(models.Model):
    """A lot (标段) of a unified tender; county_code blank = the city's tender."""

    tender_no = models.CharField(_("招标编号"), max_length=60)
    code = models.CharField(_("标段"), max_length=40)
    name = models.CharField(_("标段名称"), max_length=120)
    year = models.PositiveSmallIntegerField(_("年度"))
    county_code = models.CharField(_("招标县（空=市统一招标）"), max_length=6, blank=True)
    path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices)

    class Meta:
        verbose_name = _("招标标段")
        verbose_name_plural = _("招标标段")
        unique_together = [("tender_no", "code")]
        ordering = ["tender_no", "code"]

    def __str__(self):
        return f"{self.tender_no} {self.code} {self.name}"


class CatalogModel(models.Model):
    """A winning model (中标产品) with its rated data at the standard's rating points."""

    lot = models.ForeignKey(TenderLot, verbose_name=_("标段"), on_delete=models.PROTECT, related_name="models")
    vendor = models.CharField(_("中标企业"), max_length=80)
    equipment_type = models.CharField(_("设备类型"), max_length=20, choices=EquipmentType.choices)
    model_name = models.CharField(_("型号"), max_length=80)
    rated_capacity_kw = models.DecimalField(_("名义制热量（kW）"), max_digits=6, decimal_places=2)
    # [{"t": -12, "kw": 9.0, "cop": 2.7}, {"t": -20, "kw": 7.6, "cop": 2.2}] (GB/T 25127.2 rating points)
    rating_points = models.JSONField(_("额定工况制热量与COP"), default=list, blank=True)
    seasonal_efficiency = models.DecimalField(_("季节能效（COP/热效率）"), max_digits=4, decimal_places=2,
                                              help_text=_("热泵填制热季节性能系数，锅炉填热效率（如0.92）"))
    min_operating_temp_c = models.DecimalField(_("最低运行温度（℃）"), max_digits=4, decimal_places=1,
                                               null=True, blank=True)
    efficiency_grade = models.PositiveSmallIntegerField(_("能效等级"), null=True, blank=True)
    unit_price = models.DecimalField(_("设备单价（元）"), max_digits=9, decimal_places=2)
    install_price = models.DecimalField(_("安装费（元）"), max_digits=9, decimal_places=2, default=0)
    warranty_years = models.PositiveSmallIntegerField(_("质保年限"), default=3)
    repair_contact = models.CharField(_("维修服务电话"), max_length=60, blank=True)
    active = models.BooleanField(_("可选用"), default=True)

    class Meta:
        verbose_name = _("中标产品")
        verbose_name_plural = _("中标产品")
        unique_together = [("lot", "vendor", "model_name")]
        ordering = ["lot", "equipment_type", "rated_capacity_kw"]

    def __str__(self):
        return f"{self.vendor} {self.model_name}"

    @property
    def path(self):
        return PATH_OF_TYPE[self.equipment_type]

    @property
    def total_price(self):
        return self.unit_price + self.install_price


class CountyContract(models.Model):
    STATUS = [("draft", _("草拟")), ("signed", _("已签订")), ("completed", _("已履约")), ("terminated", _("已终止"))]
    county_code = models.CharField(_("县级区划代码"), max_length=6)
    contract_no = models.CharField(_("合同编号"), max_length=60, unique=True)
    vendor = models.CharField(_("供货企业"), max_length=80)
    title = models.CharField(_("合同名称"), max_length=120)
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    delivery_until = models.DateField(_("供货截止日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=STATUS, default="signed")
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True,
                                   on_delete=models.PROTECT)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("县级采购合同")
        verbose_name_plural = _("县级采购合同")
        ordering = ["county_code", "contract_no"]

    def __str__(self):
        return f"{self.contract_no} {self.title}"


class ContractLine(models.Model):
    contract = models.ForeignKey(CountyContract, on_delete=models.PROTECT, related_name="lines")
    model = models.ForeignKey(CatalogModel, verbose_name=_("型号"), on_delete=models.PROTECT, related_name="lines")
    quantity = models.PositiveIntegerField(_("合同数量（台）"))
    unit_price = models.DecimalField(_("合同单价（元）"), max_digits=9, decimal_places=2)
    install_price = models.DecimalField(_("安装费（元）"), max_digits=9, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("合同明细")
        verbose_name_plural = _("合同明细")
        unique_together = [("contract", "model")]


class Allocation(models.Model):
    """A household's draw on a contract line (one unit). Released, never deleted."""

    household = models.ForeignKey("ledger.Household", on_delete=models.PROTECT, related_name="allocations")
    line = models.ForeignKey(ContractLine, on_delete=models.PROTECT, related_name="allocations")
    allocated_at = models.DateTimeField(_("分配时间"), auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    released_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    release_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("设备分配")
        verbose_name_plural = _("设备分配")
        constraints = [models.UniqueConstraint(fields=["household"], condition=models.Q(released_at__isnull=True),
                                               name="alloc_one_active_per_household")]


class CountyClimate(models.Model):
    """Climate design data per county (blank county = the city's default station)."""

    city_code = models.CharField(_("城市区划代码"), max_length=12)
    county_code = models.CharField(_("县级区划代码"), max_length=6, blank=True)
    station = models.CharField(_("气象站/依据"), max_length=60)
    design_temp_c = models.DecimalField(_("供暖室外计算温度（℃）"), max_digits=4, decimal_places=1)
    heating_days = models.PositiveSmallIntegerField(_("供暖期天数"))
    mean_temp_c = models.DecimalField(_("供暖期室外平均温度（℃）"), max_digits=4, decimal_places=1)
    source = models.CharField(_("数据来源"), max_length=200, blank=True)
    estimated = models.BooleanField(_("估计值（待核实）"), default=False)

    class Meta:
        verbose_name = _("县气候参数")
        verbose_name_plural = _("县气候参数")
        unique_together = [("city_code", "county_code")]

    def clean(self):
        colder = None not in (self.mean_temp_c, self.design_temp_c) and self.mean_temp_c < self.design_temp_c
        check_ranges(self, CLIMATE_LIMITS,
                     {"mean_temp_c": ["供暖期室外平均温度不应低于供暖室外计算温度"]} if colder else None)


class EnvelopeType(models.Model):
    """Typical envelope of a structure type, before and after energy retrofit."""

    structure = models.CharField(_("房屋结构"), max_length=20, choices=Structure.choices, unique=True)
    wall_u = models.DecimalField(_("外墙传热系数 W/(㎡·K)"), max_digits=4, decimal_places=2)
    roof_u = models.DecimalField(_("屋面传热系数"), max_digits=4, decimal_places=2)
    window_u = models.DecimalField(_("外窗传热系数"), max_digits=4, decimal_places=2)
    floor_u = models.DecimalField(_("地面传热系数"), max_digits=4, decimal_places=2)
    air_changes = models.DecimalField(_("换气次数（次/h）"), max_digits=4, decimal_places=2)
    retrofit_wall_u = models.DecimalField(_("改造后外墙传热系数"), max_digits=4, decimal_places=2)
    retrofit_roof_u = models.DecimalField(_("改造后屋面传热系数"), max_digits=4, decimal_places=2)
    retrofit_window_u = models.DecimalField(_("改造后外窗传热系数"), max_digits=4, decimal_places=2)
    retrofit_air_changes = models.DecimalField(_("改造后换气次数"), max_digits=4, decimal_places=2)
    storey_height = models.DecimalField(_("层高（m）"), max_digits=3, decimal_places=1, default=3)
    window_ratio = models.DecimalField(_("窗地面积比"), max_digits=3, decimal_places=2, default=0.2)
    source = models.CharField(_("数据来源"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("围护结构参数")
        verbose_name_plural = _("围护结构参数")

    def values(self) -> dict:
        return {f: float(getattr(self, f)) for f in ENVELOPE_FIELDS}

    def clean(self):
        check_ranges(self, ENVELOPE_LIMITS)


ENVELOPE_FIELDS = ["wall_u", "roof_u", "window_u", "floor_u", "air_changes", "retrofit_wall_u", "retrofit_roof_u",
                   "retrofit_window_u", "retrofit_air_changes", "storey_height", "window_ratio"]


class AdvisorConfig(models.Model):
    """Sizing and cost parameters per city and year; tariffs and subsidy rules as JSON (see
    procurement.selection for their shape). The subsidy module will replace the simple rules."""

    city_code = models.CharField(_("城市区划代码"), max_length=12)
    year = models.PositiveSmallIntegerField(_("年度"))
    indoor_temp_c = models.DecimalField(_("室内计算温度（℃）"), max_digits=4, decimal_places=1, default=14)
    usage_factor = models.DecimalField(_("采暖季使用系数"), max_digits=3, decimal_places=2, default=0.6,
                                       help_text=_("农户分室、分时取暖，采暖季实际需热量占连续全屋供暖的比例"))
    oversize_ratio = models.DecimalField(_("选型容量上限（倍设计负荷）"), max_digits=3, decimal_places=2, default=1.6)
    far_above_pct = models.PositiveSmallIntegerField(_("费用明显偏高阈值（%）"), default=30)
    lifetime_years = models.PositiveSmallIntegerField(_("设备费用分摊年限"), default=10)
    tariffs = models.JSONField(_("价格"), default=dict)
    subsidies = models.JSONField(_("补贴规则（简化）"), default=dict)
    source = models.TextField(_("数据来源说明"), blank=True)

    class Meta:
        verbose_name = _("选型与费用参数")
        verbose_name_plural = _("选型与费用参数")
        unique_together = [("city_code", "year")]

    def clean(self):
        problems = tariff_problems(self.tariffs, self.subsidies)
        check_ranges(self, ADVISOR_LIMITS, {"tariffs": problems} if problems else None)


class GridCapacity(models.Model):
    """Spare capacity of a village's distribution transformers, when the grid company reports it."""

    village = models.OneToOneField("regions.Region", to_field="code", db_column="village_code",
                                   on_delete=models.PROTECT, related_name="grid_capacity")
    spare_kw = models.DecimalField(_("可用容量（kW）"), max_digits=8, decimal_places=1)
    as_of = models.DateField(_("核定日期"))

    class Meta:
        verbose_name = _("村配电容量")
        verbose_name_plural = _("村配电容量")

    def clean(self):
        check_ranges(self, GRID_LIMITS)


class Advice(models.Model):
    """The batch's result per household, for rollups and the compliance view."""

    household = models.OneToOneField("ledger.Household", on_delete=models.CASCADE, primary_key=True,
                                     related_name="advice")
    village_code = models.CharField(max_length=12, db_index=True)
    recommended_model = models.ForeignKey(CatalogModel, null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+", verbose_name=_("推荐型号"))
    own_path_cost = models.DecimalField(_("本路径年费用（元）"), max_digits=9, decimal_places=0, null=True)
    best_path = models.CharField(_("费用最低路径"), max_length=20, blank=True)
    best_path_cost = models.DecimalField(_("最低年费用（元）"), max_digits=9, decimal_places=0, null=True)
    installed_capacity_kw = models.DecimalField(_("已分配设备设计工况制热量（kW）"), max_digits=6,
                                                decimal_places=2, null=True)
    undersized = models.BooleanField(_("已分配设备容量不足"), default=False)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("选型建议")
        verbose_name_plural = _("选型建议")
