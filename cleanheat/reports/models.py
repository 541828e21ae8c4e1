"""Reports (issue #19): emission factors and coal figures (data, with source and year), coal-ban
villages (禁煤区, dated), report templates (.xlsx with {{…}} markers) and the reports generated from
them. Written only through reports.services (the admin edits the data tables, checked by clean())."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.choices import HeatingPath

from .emissions import POLLUTANTS

POLLUTANT_CHOICES = [("co2", "CO₂"), ("so2", "SO₂"), ("nox", "NOx"), ("pm25", "PM2.5"), ("pm10", "PM10")]
assert [p for p, _label in POLLUTANT_CHOICES] == list(POLLUTANTS)
CARRIER_CHOICES = [("coal", _("散煤")), ("electricity", _("电网电力")), ("gas", _("天然气")),
                   ("biomass", _("生物质成型燃料")), ("waste_heat", _("工业余热")), ("clean_coal", _("洁净煤"))]


def _require_source(obj):
    if not (obj.source or "").strip():
        raise ValidationError({"source": [_("须注明数据来源（文献、标准或公告）")]})


class EmissionSettings(models.Model):
    """Per city: how coal displaced is counted, and the old coal's heating value and stove efficiency."""

    BASIS = [("survey", _("按县调查户均燃煤量")), ("demand", _("按户采暖季需热量折算"))]
    city_code = models.CharField(_("城市区划代码"), max_length=12, unique=True)
    basis = models.CharField(_("替代散煤量计算方式"), max_length=10, choices=BASIS, default="survey")
    coal_mj_per_kg = models.DecimalField(_("散煤低位发热量（MJ/kg）"), max_digits=6, decimal_places=3)
    stove_efficiency = models.DecimalField(_("原燃煤炉具效率"), max_digits=4, decimal_places=2)
    source = models.TextField(_("数据来源"))

    class Meta:
        verbose_name = _("减排测算参数")
        verbose_name_plural = _("减排测算参数")

    def clean(self):
        _require_source(self)
        if self.stove_efficiency is not None and not 0 < self.stove_efficiency <= 1:
            raise ValidationError({"stove_efficiency": [_("炉具效率应在 0 到 1 之间")]})


class CoalUse(models.Model):
    """Surveyed coal use per household and heating season; blank county = the city's default."""

    city_code = models.CharField(_("城市区划代码"), max_length=12)
    county_code = models.CharField(_("县级区划代码（空=全市默认）"), max_length=6, blank=True)
    t_per_household = models.DecimalField(_("户均采暖季燃煤量（t）"), max_digits=5, decimal_places=2)
    year = models.PositiveSmallIntegerField(_("数据年份"))
    source = models.TextField(_("数据来源"))

    class Meta:
        verbose_name = _("户均燃煤量")
        verbose_name_plural = _("户均燃煤量")
        unique_together = [("city_code", "county_code")]
        ordering = ["city_code", "county_code"]

    def clean(self):
        _require_source(self)


class PathEnergy(models.Model):
    """The energy a heating path uses and its seasonal efficiency (a COP for heat pumps)."""

    city_code = models.CharField(_("城市区划代码"), max_length=12)
    heating_path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices)
    carrier = models.CharField(_("能源"), max_length=20, choices=CARRIER_CHOICES)
    unit = models.CharField(_("计量单位"), max_length=10)
    mj_per_unit = models.DecimalField(_("单位热值（MJ/单位）"), max_digits=9, decimal_places=3)
    efficiency = models.DecimalField(_("季节效率/COP"), max_digits=5, decimal_places=2)
    source = models.TextField(_("数据来源"))

    class Meta:
        verbose_name = _("取暖路径能源参数")
        verbose_name_plural = _("取暖路径能源参数")
        unique_together = [("city_code", "heating_path")]

    def clean(self):
        _require_source(self)


class EmissionFactor(models.Model):
    """kg of a pollutant per unit of an energy carrier (per t of coal, per kWh, per m³ …), with its
    source and year; the factor of the latest year up to the season counts."""

    carrier = models.CharField(_("能源"), max_length=20, choices=CARRIER_CHOICES)
    pollutant = models.CharField(_("污染物"), max_length=10, choices=POLLUTANT_CHOICES)
    kg_per_unit = models.DecimalField(_("排放因子（kg/单位）"), max_digits=12, decimal_places=6)
    year = models.PositiveSmallIntegerField(_("年份"))
    source = models.TextField(_("来源"))
    estimated = models.BooleanField(_("估计值（待核实）"), default=False)

    class Meta:
        verbose_name = _("排放因子")
        verbose_name_plural = _("排放因子")
        unique_together = [("carrier", "pollutant", "year")]
        ordering = ["carrier", "pollutant", "-year"]
        constraints = [models.CheckConstraint(condition=~models.Q(source=""), name="factor_has_source")]

    def clean(self):
        _require_source(self)


class CoalBanVillage(models.Model):
    """A village inside a coal-ban zone (禁煤区) from `since` (to `until`), keyed by village code so
    that it follows region changes (receivers.py)."""

    village_code = models.CharField(_("村（社区）区划代码"), max_length=12, db_index=True)
    zone = models.CharField(_("禁煤区名称"), max_length=60)
    since = models.DateField(_("划定日期"))
    until = models.DateField(_("解除日期"), null=True, blank=True)
    document_no = models.CharField(_("依据文号"), max_length=80, blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    marked_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("禁煤区村")
        verbose_name_plural = _("禁煤区村")
        ordering = ["village_code", "-since"]


class ReportTemplate(models.Model):
    """An .xlsx layout with {{…}} markers (see reports/figures.py for the names a marker may use)."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("报表名称"), max_length=80)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    content = models.BinaryField(_("模板文件"))
    sha256 = models.CharField(max_length=64)
    builtin = models.BooleanField(_("内置"), default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now=True)

    class Meta:
        verbose_name = _("报表模板")
        verbose_name_plural = _("报表模板")
        ordering = ["-builtin", "code"]

    def __str__(self):
        return self.name


class GeneratedReport(models.Model):
    """A report filled from the ledger: who, when, for which region and date, and the file's hash;
    a county's report can be submitted to the city (and returned), like dispatch reports."""

    STATUS = [("draft", _("未报送")), ("submitted", _("已报送")), ("returned", _("已退回"))]
    template = models.ForeignKey(ReportTemplate, verbose_name=_("模板"), on_delete=models.PROTECT,
                                 related_name="reports")
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    on = models.DateField(_("统计日期"))
    plan_year = models.PositiveSmallIntegerField(_("计划年度"), null=True)
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(_("文件摘要（SHA-256）"), max_length=64)
    # the PDF of the same report, drawn from the kept .xlsx (reports.tables); blank until rendered
    pdf_name = models.CharField(max_length=200, blank=True)
    pdf_sha256 = models.CharField(_("PDF摘要（SHA-256）"), max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("生成人"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    status = models.CharField(_("状态"), max_length=10, choices=STATUS, default="draft")
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    return_reason = models.CharField(_("退回原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("已生成报表")
        verbose_name_plural = _("已生成报表")
        ordering = ["-created_at", "-id"]


class RetrofitProject(models.Model):
    """A building energy retrofit (§二(二), §三(四)): a county-town building (address, m², energy use
    per m² before and after) or a rural household's envelope (m², measures, measured gain). The gain
    must reach the rules' minimum (30 %); the m² count against the plan's targets once completed."""

    KIND = [("town", _("县城既有建筑节能改造")), ("rural", _("农村围护结构改造"))]
    kind = models.CharField(_("类型"), max_length=10, choices=KIND)
    region_code = models.CharField(_("所在区划代码"), max_length=12, db_index=True)
    household = models.ForeignKey("ledger.Household", verbose_name=_("居民用户"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="retrofits")
    name = models.CharField(_("项目/建筑名称"), max_length=80, blank=True)
    address = models.CharField(_("地址"), max_length=120, blank=True)
    area_m2 = models.DecimalField(_("改造面积（㎡）"), max_digits=10, decimal_places=1)
    before_kwh_m2 = models.DecimalField(_("改造前单位面积能耗（kWh/㎡·年）"), max_digits=7, decimal_places=1,
                                        null=True, blank=True)
    after_kwh_m2 = models.DecimalField(_("改造后单位面积能耗（kWh/㎡·年）"), max_digits=7, decimal_places=1,
                                       null=True, blank=True)
    gain_pct = models.PositiveSmallIntegerField(_("能效提升（%）"))
    measures = models.CharField(_("改造措施"), max_length=200, blank=True)
    plan_year = models.PositiveSmallIntegerField(_("计划年度"))
    completed_on = models.DateField(_("完工日期"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("建筑节能改造项目")
        verbose_name_plural = _("建筑节能改造项目")
        ordering = ["-id"]
