from django.conf import settings
from django.db import models
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from .choices import (VULNERABLE_FLAGS, Channel, ElectricDevice, HeatingPath, LifecycleState, OriginalFacility,
                      Structure)
from .years import default_plan_year


class Household(models.Model):
    """One household of the ledger (居民用户台账), with the six content groups of §三(二):
    resident, building, heating (path and original facility) here; equipment, energy demand,
    subsidy and O&M as related records below. Written only through ledger.services."""

    # -- identity: never changes over the household's lifecycle
    household_no = models.CharField(_("户编号"), max_length=16, unique=True, editable=False)
    village = models.ForeignKey("regions.Region", verbose_name=_("所属村（社区）"), to_field="code",
                                db_column="village_code", on_delete=models.PROTECT,
                                related_name="households", db_index=False)  # indexed in Meta
    # -- resident (居民信息); ID number and phone are encrypted, searched by keyed hash
    householder_name = models.CharField(_("户主姓名"), max_length=40)
    id_number_cipher = models.TextField(_("身份证号（密文）"), editable=False)
    id_number_hash = models.CharField(max_length=64, editable=False)
    id_number_masked = models.CharField(_("身份证号"), max_length=18, editable=False)
    phone_cipher = models.TextField(_("联系电话（密文）"), blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)  # indexed in Meta
    phone_masked = models.CharField(_("联系电话"), max_length=11, blank=True, editable=False)
    bank_account_cipher = models.TextField(_("补贴发放账号（密文）"), blank=True, editable=False)
    bank_account_hash = models.CharField(max_length=64, blank=True, editable=False)
    bank_account_masked = models.CharField(_("补贴发放账号"), max_length=30, blank=True, editable=False)
    # Utility account numbers (电力户号, 燃气户号): an import matches a row to its household by them first.
    electricity_account_cipher = models.TextField(_("电力户号（密文）"), blank=True, editable=False)
    electricity_account_hash = models.CharField(max_length=64, blank=True, editable=False)  # indexed in Meta
    electricity_account_masked = models.CharField(_("电力户号"), max_length=30, blank=True, editable=False)
    gas_account_cipher = models.TextField(_("燃气户号（密文）"), blank=True, editable=False)
    gas_account_hash = models.CharField(max_length=64, blank=True, editable=False)  # indexed in Meta
    gas_account_masked = models.CharField(_("燃气户号"), max_length=30, blank=True, editable=False)
    address = models.CharField(_("住址（门牌号）"), max_length=120, blank=True)
    household_size = models.PositiveSmallIntegerField(_("家庭人口"), default=1)
    is_dibao = models.BooleanField(_("低保"), default=False)
    is_tekun = models.BooleanField(_("特困"), default=False)
    is_tuopin = models.BooleanField(_("脱贫"), default=False)
    is_canji = models.BooleanField(_("残疾"), default=False)
    # -- building (房屋)
    heated_area = models.DecimalField(_("采暖面积（㎡）"), max_digits=7, decimal_places=1)
    structure = models.CharField(_("房屋结构"), max_length=20, choices=Structure.choices,
                                 default=Structure.BRICK_CONCRETE)
    envelope_retrofitted = models.BooleanField(_("已做围护结构节能改造"), default=False)
    envelope_gain_pct = models.PositiveSmallIntegerField(_("节能改造能效提升（%）"), null=True, blank=True)
    # -- heating (取暖路径)
    original_facility = models.CharField(_("原取暖设施"), max_length=20, choices=OriginalFacility.choices)
    heating_path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices)
    electric_device = models.CharField(_("煤改电设备类型"), max_length=20, blank=True,
                                       choices=ElectricDevice.choices)
    heat_source = models.ForeignKey("rules.HeatSource", verbose_name=_("热源"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="households")
    removal_consent_on = models.DateField(_("居民同意拆除原设施日期"), null=True, blank=True)
    # -- conversion lifecycle
    state = models.CharField(_("改造状态"), max_length=20, choices=LifecycleState.choices,
                             default=LifecycleState.CONFIRMED)
    state_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    # The yearly plan the household's conversion belongs to (2022, 2023 …): rollups, dashboards and
    # progress count one year's households against that year's targets.
    plan_year = models.PositiveSmallIntegerField(_("计划年度"), default=default_plan_year)
    # -- archiving instead of deleting
    archived = models.BooleanField(_("已归档"), default=False)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    archive_reason = models.CharField(_("归档原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("建档时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # Raised by every write to this row: a save based on an older version is refused (lost edits).
    version = models.PositiveIntegerField(_("版本"), default=1, db_default=1, editable=False)

    class Meta:
        verbose_name = _("居民用户")
        verbose_name_plural = _("居民用户")
        ordering = ["household_no"]
        indexes = [
            # Covers the five-level rollup (group by code prefix × path × state) index-only.
            models.Index(fields=["archived", "village", "heating_path", "state"], name="hh_rollup_idx"),
            # The same for one plan year (every rollup, dashboard and progress page chooses a year).
            models.Index(fields=["plan_year", "archived", "village", "heating_path", "state"],
                         name="hh_year_rollup_idx"),
            # The list pages: in household-number order, and name search, without a full sort/scan.
            models.Index(fields=["archived", "household_no"], name="hh_list_idx"),
            # A county's list in number order, read from where the county starts (a county of a
            # province's last city would otherwise walk past every household numbered before it).
            models.Index("archived", Substr("village", 1, 6), "household_no", name="hh_county_list_idx"),
            models.Index("archived", Substr("village", 1, 4), "household_no", name="hh_city_list_idx"),  # a city's, alike
            models.Index(fields=["archived", "householder_name"], name="hh_name_idx"),
            # Exact matches only: declared here rather than with db_index, which on PostgreSQL adds a
            # second LIKE-pattern index that no query uses and every insert pays for.
            models.Index(fields=["village"], name="hh_village_idx"),
            models.Index(fields=["phone_hash"], name="hh_phone_hash_idx"),
            # Partial: most households have no utility account on file, and an insert without one
            # costs these indexes nothing.
            models.Index(fields=["electricity_account_hash"], name="hh_elec_account_idx",
                         condition=~models.Q(electricity_account_hash="")),
            models.Index(fields=["gas_account_hash"], name="hh_gas_account_idx", condition=~models.Q(gas_account_hash="")),
        ]
        constraints = [
            # One person is householder of at most one active household in the whole city.
            models.UniqueConstraint(fields=["id_number_hash"], condition=models.Q(archived=False),
                                    name="hh_one_active_per_householder"),
        ]

    def __str__(self):
        return f"{self.household_no} {self.householder_name}"

    @property
    def original_facility_removed(self) -> bool:
        return self.state == LifecycleState.REMOVED

    def vulnerable_labels(self):
        return [label for field, label in VULNERABLE_FLAGS.items() if getattr(self, field)]


class HouseholdNumberSequence(models.Model):
    """Per-county counter behind household numbers (county code + 7-digit serial)."""

    county_code = models.CharField(max_length=6, primary_key=True)
    last = models.PositiveIntegerField(default=0)


class LifecycleEvent(models.Model):
    """One move of a household through the conversion lifecycle: who, when, why."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="lifecycle_events")
    from_state = models.CharField(_("原状态"), max_length=20, choices=LifecycleState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, choices=LifecycleState.choices)
    occurred_on = models.DateField(_("发生日期"))
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True,
                             blank=True, on_delete=models.PROTECT)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    is_backstep = models.BooleanField(_("回退"), default=False)

    class Meta:
        verbose_name = _("改造进度记录")
        verbose_name_plural = _("改造进度记录")
        ordering = ["household", "id"]
        # Covers "who reached which state when" (progress curves, past dates) without row lookups.
        indexes = [models.Index(fields=["to_state", "occurred_on", "is_backstep", "household"], name="lc_state_date_idx")]


class HouseholdChange(models.Model):
    """Field-level history of a household. Personal identifiers are kept masked here; written through
    `ledger.history`, shown through `ledger.labels.history_lines`."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="changes")
    changed_at = models.DateTimeField(_("时间"), auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True,
                             blank=True, on_delete=models.PROTECT)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    source = models.CharField(_("来源"), max_length=200, blank=True, help_text=_("如导入文件名"))
    field = models.CharField(_("字段"), max_length=40)
    old_value = models.TextField(_("原值"), blank=True)
    new_value = models.TextField(_("新值"), blank=True)
    # The household's version after this change: "what changed since version n" is version > n.
    version = models.PositiveIntegerField(_("版本"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("台账变更记录")
        verbose_name_plural = _("台账变更记录")
        ordering = ["household", "-id"]


# ---- Places for the groups that later modules fill (equipment, energy demand, subsidy, O&M).

class EquipmentRecord(models.Model):
    """Equipment installed in a household (设备选型/安装); the procurement module links models."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="equipment")
    equipment_type = models.CharField(_("设备类型"), max_length=40)
    vendor = models.CharField(_("生产/中标企业"), max_length=80, blank=True)
    model_name = models.CharField(_("型号"), max_length=80, blank=True)
    rated_capacity_kw = models.DecimalField(_("额定制热量（kW）"), max_digits=6, decimal_places=2, null=True, blank=True)
    installed_on = models.DateField(_("安装日期"), null=True, blank=True)
    warranty_until = models.DateField(_("质保截止"), null=True, blank=True)

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")


class EnergyDemand(models.Model):
    """A household's energy demand (用能需求), computed by the equipment-selection module."""

    household = models.OneToOneField(Household, on_delete=models.PROTECT, related_name="energy_demand")
    design_load_kw = models.DecimalField(_("设计热负荷（kW）"), max_digits=6, decimal_places=2)
    seasonal_heat_kwh = models.DecimalField(_("采暖季需热量（kWh）"), max_digits=9, decimal_places=0)
    method = models.CharField(_("计算方法"), max_length=120, blank=True)
    computed_at = models.DateTimeField(_("计算时间"), auto_now=True)

    class Meta:
        verbose_name = _("用能需求")
        verbose_name_plural = _("用能需求")


class SubsidyRecord(models.Model):
    """A subsidy granted to a household (补贴政策), filled by the subsidies module."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="subsidies")
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("补贴类型"), max_length=40)
    amount = models.DecimalField(_("金额（元）"), max_digits=10, decimal_places=2)
    status = models.CharField(_("状态"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("补贴")
        verbose_name_plural = _("补贴")


class MaintenanceRecord(models.Model):
    """Operation and maintenance (运行维护): faults, repairs, outages; the hotline module adds tickets."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="maintenance")
    reported_on = models.DateField(_("报修日期"))
    description = models.CharField(_("情况"), max_length=200)
    resolved_on = models.DateField(_("修复日期"), null=True, blank=True)
    is_outage = models.BooleanField(_("停暖"), default=True)

    class Meta:
        verbose_name = _("运行维护记录")
        verbose_name_plural = _("运行维护记录")


class ProgressDelta(models.Model):
    """Maintained by `ledger.asof` (never written elsewhere): how many active households entered (+n)
    or left (−n) a lifecycle state on `day`, per unit, plan year and heating path — so the counts as
    of a past day D are the sums of the rows up to D, without reading the lifecycle history.

    Three grains keep every query short: a village's rows by day (townships and villages as units), a
    county's rows by day, and a county's rows by month (`day`: the month's first day) — a city or
    province as of D reads its counties' months before D's month and their days in D's month."""

    grain = models.PositiveSmallIntegerField()           # asof.VILLAGE_DAY / COUNTY_DAY / COUNTY_MONTH
    unit = models.CharField(max_length=12)               # village code, or county code (6 digits)
    plan_year = models.PositiveSmallIntegerField()
    heating_path = models.CharField(max_length=20)
    state = models.CharField(max_length=20)
    day = models.DateField()
    n = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grain", "unit", "day", "plan_year", "heating_path", "state"],
                                               name="pd_key")]
        # A whole city or province by date range, on the counties' grains only (the key above serves one
        # county's or village's range; the village rows, most of the table, then cost writes one index).
        indexes = [models.Index(fields=["grain", "day", "unit", "plan_year", "heating_path", "state", "n"],
                                name="pd_day_idx", condition=models.Q(grain__gt=0))]


class HouseholdCount(models.Model):
    """Active households by township × plan year × heating path × state, kept by database triggers
    on the household table (migration 0007), so every write path — services, batch updates, COPY —
    keeps it exact in the same transaction. On PostgreSQL the triggers add signed rows (+n/−n, one
    per key per statement: concurrent writers never wait on a shared counter row) that
    `ledger.counts.compact` folds; on SQLite (one writer) they add to one row per key. Read summed."""

    township_code = models.CharField(max_length=9)
    plan_year = models.PositiveSmallIntegerField()
    heating_path = models.CharField(max_length=20)
    state = models.CharField(max_length=20)
    n = models.IntegerField()

    class Meta:
        # The rollups read it index-only: a code range, a year, then the summed column.
        indexes = [models.Index(fields=["township_code", "plan_year", "heating_path", "state", "n"],
                                name="hh_count_idx")]
