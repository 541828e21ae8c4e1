"""Subsidy policies as versioned data, households' energy readings, and the entitlements computed
from them (补贴政策、能耗读数、补贴核算). Written only through subsidies.services.

A policy version that entitlements approved under it refer to is never rewritten: a change to it
is stored as the next version (see services.save_policy). Amounts of entitlements are whole fen.
"""
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.choices import Channel, HeatingPath, LifecycleState
from cleanheat.procurement.models import PATH_OF_TYPE, EquipmentType

from cleanheat.regions import codes

from . import calc, declaration_flow, explain, policy_rules, terms

USED_VERSION = "此版本已有已审核的补贴，不能修改；修改将作为新版本保存（请在补贴政策页面修改）"


class Kind(models.TextChoices):
    EQUIPMENT = "equipment", _("设备补贴")
    ENVELOPE = "envelope", _("建筑节能改造补贴")
    OPERATING = "operating", _("运行补贴")


class Method(models.TextChoices):
    SHARE = "share", _("按合同价比例")
    FIXED = "fixed", _("定额")


class Unit(models.TextChoices):
    KWH = "kwh", _("kWh（电量）")
    M3 = "m3", _("m³（用气量）")
    GJ = "gj", _("GJ（用热量）")


class Flag(models.TextChoices):
    DIBAO = "is_dibao", _("低保")
    TEKUN = "is_tekun", _("特困")
    TUOPIN = "is_tuopin", _("脱贫")
    CANJI = "is_canji", _("残疾")


class Status(models.TextChoices):
    COMPUTED = "computed", _("已核算（待审核）")
    APPROVED = "approved", _("已审核")


@cache
def calc_labels() -> calc.Labels:
    """Codes as the stored explanations name them (always in Chinese: they are records)."""
    with translation.override("zh-hans"):
        return calc.Labels(paths={c: str(label) for c, label in HeatingPath.choices},
                           states={c: str(label) for c, label in LifecycleState.choices},
                           devices={c: str(label) for c, label in EquipmentType.choices})


def choice_maps() -> dict:
    """What policy_rules checks codes against."""
    return {"paths": dict(HeatingPath.choices), "devices": {t: str(p) for t, p in PATH_OF_TYPE.items()}}


def _fen(yuan) -> int | None:
    return None if yuan is None else int(Decimal(yuan) * 100)


def _bp(pct) -> int | None:
    return None if pct is None else int(Decimal(pct) * 100)


class SubsidyPolicy(models.Model):
    """One version of a city's or county's subsidy policy for a year. A county's own policy for
    the year replaces the city's for its households."""

    region = models.ForeignKey("regions.Region", verbose_name=_("区划（市或县）"), to_field="code",
                               db_column="region_code", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    version = models.PositiveSmallIntegerField(_("版本"), default=1, editable=False)
    title = models.CharField(_("政策名称"), max_length=120)
    document_no = models.CharField(_("文号"), max_length=80, blank=True)
    effective_from = models.DateField(_("施行日期"))
    effective_until = models.DateField(_("截止日期"), null=True, blank=True,
                                       help_text=_("留空：施行至下一版本施行前一日"))
    illustrative = models.BooleanField(_("示意数据"), default=False,
                                       help_text=_("演示用的示意数据，不是正式政策"))
    note = models.TextField(_("说明"), blank=True)
    replaces = models.ForeignKey("self", verbose_name=_("取代的版本"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("补贴政策")
        verbose_name_plural = _("补贴政策")
        ordering = ["-year", "region", "version"]
        constraints = [models.UniqueConstraint(fields=["region", "year", "version"], name="subsidy_policy_version")]

    def __str__(self):
        return f"{self.title}（第{self.version}版）" + ("〔示意数据〕" if self.illustrative else "")

    @property
    def is_used(self) -> bool:
        """Entitlements approved under this version exist: it is never rewritten."""
        return self.entitlements.filter(status=Status.APPROVED).exists()

    def as_calc(self) -> calc.Policy:
        return calc.Policy(self.pk, self.version, self.title + ("（示意数据）" if self.illustrative else ""),
                           self.effective_from, self.effective_until,
                           tuple(i.as_calc() for i in self.items.all()), tuple(t.as_calc() for t in self.tilts.all()))

    def siblings(self) -> list[tuple]:
        """(version, effective_from, effective_until) of the other versions of this policy."""
        return list(SubsidyPolicy.objects.filter(region_id=self.region_id, year=self.year).exclude(pk=self.pk)
                    .values_list("version", "effective_from", "effective_until"))

    def header_problems(self) -> list[policy_rules.Problem]:
        """Dates, the region's level and overlaps with the other versions (the items are checked
        on their own)."""
        problems = policy_rules.header_problems({f: getattr(self, f) for f in ("title", "year", "effective_from",
                                                                               "effective_until")})
        if self.region_id and self.region.level not in (codes.CITY, codes.COUNTY):
            problems.append(policy_rules.Problem("policy", None, "region", "补贴政策按市或县（市、区）制定，请选择市或县"))
        if self.region_id and self.year and self.effective_from:
            problems += policy_rules.overlap_problems(self.effective_from, self.effective_until, self.siblings())
        return problems

    def clean(self):
        """The admin's check (the services check the same, and more, before they write)."""
        if self.pk and SubsidyPolicy.objects.get(pk=self.pk).is_used:
            raise ValidationError(USED_VERSION)
        problems = self.header_problems()
        if problems:
            errors = {}
            for p in problems:
                errors.setdefault(p.field or "__all__", []).append(p.message)
            raise ValidationError(errors)


class SubsidyItem(models.Model):
    policy = models.ForeignKey(SubsidyPolicy, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("序号"), default=1)
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    label = models.CharField(_("名称"), max_length=60, blank=True)
    path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices, blank=True,
                            help_text=_("留空：各取暖路径"))
    device = models.CharField(_("设备类型"), max_length=20, choices=EquipmentType.choices, blank=True,
                              help_text=_("仅设备补贴；留空：该路径各类设备"))
    method = models.CharField(_("计算方式"), max_length=8, choices=Method.choices, blank=True)
    share_pct = models.DecimalField(_("补贴比例（%）"), max_digits=5, decimal_places=2, null=True, blank=True)
    cap_yuan = models.DecimalField(_("上限（元）"), max_digits=12, decimal_places=2, null=True, blank=True,
                                   help_text=_("运行补贴为每个采暖季的上限"))
    fixed_yuan = models.DecimalField(_("定额（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    rate_yuan = models.DecimalField(_("单价（元/m² 或 元/计量单位）"), max_digits=12, decimal_places=4, null=True,
                                    blank=True)
    unit = models.CharField(_("计量单位"), max_length=4, choices=Unit.choices, blank=True)
    seasons = models.PositiveSmallIntegerField(_("补贴季数"), null=True, blank=True)
    central_pct = models.DecimalField(_("中央负担（%）"), max_digits=5, decimal_places=2, default=0)
    provincial_pct = models.DecimalField(_("省级负担（%）"), max_digits=5, decimal_places=2, default=0)
    city_pct = models.DecimalField(_("市级负担（%）"), max_digits=5, decimal_places=2, default=0)
    county_pct = models.DecimalField(_("县级负担（%）"), max_digits=5, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("补贴项目")
        verbose_name_plural = _("补贴项目")
        ordering = ["policy", "position", "id"]

    VALUES = list(policy_rules.ITEM_FIELDS)

    def values(self) -> dict:
        return {f: getattr(self, f) for f in self.VALUES}

    def as_calc(self) -> calc.Item:
        rate = None if self.rate_yuan is None else \
            _fen(self.rate_yuan) if self.kind == Kind.ENVELOPE else int(self.rate_yuan * terms.RATE_SCALE)
        return calc.Item(self.pk, self.position, self.kind, self.label, self.path, self.device, self.method,
                         _bp(self.share_pct), _fen(self.cap_yuan), _fen(self.fixed_yuan), rate, self.unit,
                         self.seasons, tuple(_bp(getattr(self, f)) for f in policy_rules.SHARE_FIELDS))

    def describe(self) -> str:
        return explain.describe_item(self.as_calc(), calc_labels())

    def clean(self):
        problems = policy_rules.item_problems(self.values(), 0, **choice_maps())
        if problems:
            raise ValidationError({p.field if p.field in self.VALUES else "__all__": [p.message] for p in problems})


class SubsidyTilt(models.Model):
    """倾斜: a household with the flag gets a higher share, a higher cap or an extra amount."""

    policy = models.ForeignKey(SubsidyPolicy, on_delete=models.CASCADE, related_name="tilts")
    position = models.PositiveSmallIntegerField(_("序号"), default=1)
    flag = models.CharField(_("困难群体"), max_length=12, choices=Flag.choices)
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices, blank=True,
                            help_text=_("留空：各取暖路径"))
    share_pct = models.DecimalField(_("提高比例至（%）"), max_digits=5, decimal_places=2, null=True, blank=True)
    cap_yuan = models.DecimalField(_("提高上限至（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    extra_yuan = models.DecimalField(_("加发（元）"), max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("倾斜规则")
        verbose_name_plural = _("倾斜规则")
        ordering = ["policy", "position", "id"]

    VALUES = list(policy_rules.TILT_FIELDS)

    def values(self) -> dict:
        return {f: getattr(self, f) for f in self.VALUES}

    def as_calc(self) -> calc.Tilt:
        return calc.Tilt(self.flag, self.kind, self.path, _bp(self.share_pct), _fen(self.cap_yuan), _fen(self.extra_yuan))

    def describe(self) -> str:
        return explain.describe_tilt(self.as_calc(), calc_labels())

    def clean(self):
        problems = policy_rules.tilt_problems(self.values(), 0, choice_maps()["paths"])
        if problems:
            raise ValidationError({p.field if p.field in self.VALUES else "__all__": [p.message] for p in problems})


class EnergyReading(models.Model):
    """A household's meter readings at the start and end of a heating season (season: the year it
    starts in, 2022 = 2022–2023). Use = closing − opening."""

    household = models.ForeignKey("ledger.Household", on_delete=models.PROTECT, related_name="energy_readings")
    season = models.PositiveSmallIntegerField(_("采暖季"))
    unit = models.CharField(_("计量单位"), max_length=4, choices=Unit.choices)
    opening = models.DecimalField(_("季初读数"), max_digits=12, decimal_places=2)
    closing = models.DecimalField(_("季末读数"), max_digits=12, decimal_places=2)
    read_on = models.DateField(_("抄表日期"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    recorded_at = models.DateTimeField(_("录入时间"), auto_now=True)

    class Meta:
        verbose_name = _("能耗读数")
        verbose_name_plural = _("能耗读数")
        ordering = ["household", "unit", "season"]
        constraints = [models.UniqueConstraint(fields=["household", "unit", "season"], name="reading_per_season")]

    @property
    def use(self) -> Decimal:
        return self.closing - self.opening

    @property
    def season_label(self) -> str:
        return terms.season_label(self.season)


class Entitlement(models.Model):
    """One computed subsidy line of a household: its amount, the level shares (adding up to the
    amount to the fen), the inputs and the arithmetic written out. Approved lines are kept as they
    are when entitlements are computed again."""

    # Indexes are few on purpose (a city-wide compute rewrites ~220,000 rows): the household is the
    # first column of the unique constraint, the policy of ent_policy_idx; items and approvers are
    # looked up rarely.
    household = models.ForeignKey("ledger.Household", on_delete=models.PROTECT, related_name="entitlements",
                                  db_index=False)
    village_code = models.CharField(max_length=12)
    year = models.PositiveSmallIntegerField(_("年度"))
    policy = models.ForeignKey(SubsidyPolicy, verbose_name=_("政策版本"), on_delete=models.PROTECT,
                               related_name="entitlements", db_index=False)
    item = models.ForeignKey(SubsidyItem, verbose_name=_("补贴项目"), on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    season = models.PositiveSmallIntegerField(_("采暖季"), default=0, help_text=_("仅运行补贴；0 = 不分采暖季"))
    unit = models.CharField(_("计量单位"), max_length=4, choices=Unit.choices, blank=True)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    central_fen = models.BigIntegerField(_("中央负担（分）"))
    provincial_fen = models.BigIntegerField(_("省级负担（分）"))
    city_fen = models.BigIntegerField(_("市级负担（分）"))
    county_fen = models.BigIntegerField(_("县级负担（分）"))
    inputs = models.TextField(_("依据与数据"))
    arithmetic = models.TextField(_("计算过程"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.COMPUTED)
    # of everything the line says (policy, item, amounts, texts): a recompute rewrites only changed lines
    digest = models.CharField(max_length=16, editable=False)
    computed_at = models.DateTimeField(_("核算时间"), help_text=_("该笔补贴最近一次按新结果写入的时间"))
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("补贴核算")
        verbose_name_plural = _("补贴核算")
        ordering = ["household", "year", "kind", "season"]
        constraints = [models.UniqueConstraint(fields=["household", "year", "kind", "season", "unit"],
                                               name="entitlement_per_kind_season")]
        indexes = [models.Index(fields=["village_code", "year", "status"], name="ent_scope_idx"),
                   models.Index(fields=["policy", "status"], name="ent_policy_idx")]

    LEVEL_FIELDS = [f"{level}_fen" for level in terms.LEVELS]

    @property
    def amount(self) -> str:
        return terms.yuan(self.amount_fen)

    def shares(self) -> list[tuple[str, str]]:
        return [(terms.LEVEL_LABELS[level], terms.yuan(getattr(self, f"{level}_fen"))) for level in terms.LEVELS]

    def input_lines(self) -> list[str]:
        return self.inputs.splitlines()

    @property
    def season_label(self) -> str:
        return terms.season_label(self.season) if self.season else ""


# ---- declaration and review (申报审核): the states and moves are declaration_flow's

def _flow_choices(labels: dict) -> list:
    return [(code, _(label)) for code, label in labels.items()]


class Declaration(models.Model):
    """A village's declaration of a household's subsidy for a year (申报): the invoice, the purchase
    amount, the installer and install date, with photos; reviewed level by level (DeclarationStep).
    `version` grows with every write: an action carries the version its user saw."""

    household = models.ForeignKey("ledger.Household", verbose_name=_("居民用户"), on_delete=models.PROTECT,
                                  related_name="declarations")
    village_code = models.CharField(max_length=12, db_index=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    invoice_no = models.CharField(_("发票号码"), max_length=40)
    purchase_fen = models.BigIntegerField(_("购置金额（分）"))
    installer = models.CharField(_("安装单位"), max_length=80)
    installed_on = models.DateField(_("安装日期"))
    status = models.CharField(_("状态"), max_length=20, choices=_flow_choices(declaration_flow.STATE_LABELS),
                              default=declaration_flow.DRAFT)
    version = models.PositiveIntegerField(default=1, editable=False)
    over_purchase = models.BooleanField(_("补贴高于购置金额"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申报人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("申报时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("补贴申报")
        verbose_name_plural = _("补贴申报")
        ordering = ["village_code", "household"]
        constraints = [models.UniqueConstraint(fields=["household", "year"], name="declaration_per_year")]

    @property
    def purchase(self) -> str:
        return terms.yuan(self.purchase_fen)

    @property
    def level(self) -> str | None:
        return declaration_flow.level_of(self.status)


class DeclarationAttachment(models.Model):
    """A photo of a declaration, stored through Django's storage under DATA_DIR and served only by
    the scoped attachment view."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("附件类别"), max_length=10, choices=_flow_choices(declaration_flow.ATTACHMENT_KINDS))
    stored_name = models.CharField(max_length=200, editable=False)
    original_name = models.CharField(_("文件名"), max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("申报附件")
        verbose_name_plural = _("申报附件")
        ordering = ["declaration", "kind", "uploaded_at"]


class DeclarationStep(models.Model):
    """One step of a declaration's history: who (and in which role, at which level) did what, when,
    from which state to which, with the opinions per section of a return."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("操作"), max_length=10, choices=_flow_choices(declaration_flow.ACTION_LABELS))
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    level = models.CharField(_("层级"), max_length=10, choices=_flow_choices(declaration_flow.LEVEL_LABELS))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("角色"), max_length=30, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    opinions = models.JSONField(_("意见"), default=dict, blank=True)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("申报审核记录")
        verbose_name_plural = _("申报审核记录")
        ordering = ["declaration", "at", "id"]

    def opinion_rows(self) -> list[tuple[str, str]]:
        return [(declaration_flow.SECTIONS.get(k, k), v) for k, v in self.opinions.items() if str(v).strip()]

    @property
    def to_label(self) -> str:
        return str(dict(_flow_choices(declaration_flow.STATE_LABELS)).get(self.to_status, self.to_status))


# ---- public notice (公示) and objections (异议), issue #16 part 7: written only through subsidies.notice

NOTICE_MAX_DAYS = 90

class NoticePeriod(models.Model):
    """How many days a village's notice stays up before its lines may be paid, for a city or a
    county (the county's row wins; none: the default in data/notice.json)."""

    region = models.OneToOneField("regions.Region", verbose_name=_("区划（市或县）"), to_field="code",
                                  db_column="region_code", on_delete=models.PROTECT, related_name="+")
    days = models.PositiveSmallIntegerField(_("公示天数"))

    class Meta:
        verbose_name = _("公示期")
        verbose_name_plural = _("公示期")
        ordering = ["region"]

    def clean(self):
        if not self.days or self.days <= 0:
            raise ValidationError({"days": "公示天数应大于0天"})
        if self.days > NOTICE_MAX_DAYS:
            raise ValidationError({"days": f"公示天数最多{NOTICE_MAX_DAYS}天"})


class Notice(models.Model):
    """A village's public notice of the approved subsidies to be paid for a year: shown from
    starts_on through ends_on (period_days days); its lines may be paid after ends_on. A later
    notice of the same village and year lists the lines approved since."""

    village_code = models.CharField(_("村（社区）"), max_length=12, db_index=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    starts_on = models.DateField(_("公示开始日期"))
    period_days = models.PositiveSmallIntegerField(_("公示天数"))
    ends_on = models.DateField(_("公示截止日期"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("补贴公示")
        verbose_name_plural = _("补贴公示")
        ordering = ["village_code", "year", "starts_on", "id"]


class NoticeLine(models.Model):
    """One household on a notice: its name and ID number as shown (masked at publication, the full
    ones are never stored here) and the amount of its approved lines."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="lines")
    household = models.ForeignKey("ledger.Household", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(_("序号"))
    name_masked = models.CharField(_("户主姓名"), max_length=40)
    id_masked = models.CharField(_("身份证号"), max_length=18)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    kinds = models.CharField(_("补贴类别"), max_length=60)
    entitlements = models.ManyToManyField(Entitlement, related_name="notice_lines")

    class Meta:
        verbose_name = _("公示明细")
        verbose_name_plural = _("公示明细")
        ordering = ["notice", "position"]


class ObjectionOutcome(models.TextChoices):
    OPEN = "open", _("待核实")
    UPHELD = "upheld", _("异议成立（不予发放）")
    DISMISSED = "dismissed", _("异议不成立（可以发放）")


class Objection(models.Model):
    """An objection to a line of a notice (who raised it, what it says) and its outcome. A line
    with an open or upheld objection cannot be paid."""

    line = models.ForeignKey(NoticeLine, on_delete=models.PROTECT, related_name="objections")
    raised_by = models.CharField(_("异议人"), max_length=60)
    content = models.TextField(_("异议内容"))
    received_on = models.DateField(_("收到日期"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    outcome = models.CharField(_("处理结果"), max_length=10, choices=ObjectionOutcome.choices,
                               default=ObjectionOutcome.OPEN)
    outcome_note = models.TextField(_("核实情况"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("公示异议")
        verbose_name_plural = _("公示异议")
        ordering = ["line", "recorded_at", "id"]


# ---- funds, payment batches and recoveries (资金到位、“一卡通”发放、追缴; issue #16 parts 4 and 5)

class Level(models.TextChoices):
    CENTRAL = "central", _("中央")
    PROVINCIAL = "provincial", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")


class FundLine(models.Model):
    """Money received by a county for a year from one level and source (到位资金), with the document
    that allotted it. Recorded by city finance; the county's approvals stay within the sum."""

    county_code = models.CharField(_("县（市、区）"), max_length=12)
    year = models.PositiveSmallIntegerField(_("年度"))
    level = models.CharField(_("资金层级"), max_length=10, choices=Level.choices)
    source = models.CharField(_("资金来源"), max_length=80)
    document_no = models.CharField(_("文号"), max_length=80)
    received_on = models.DateField(_("到位日期"))
    amount_fen = models.BigIntegerField(_("金额（分）"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("录入人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("到位资金")
        verbose_name_plural = _("到位资金")
        ordering = ["county_code", "year", "level", "received_on", "id"]
        indexes = [models.Index(fields=["county_code", "year"], name="fund_county_year_idx")]

    @property
    def amount(self) -> str:
        return terms.yuan(self.amount_fen)


class FundOverride(models.Model):
    """The city's recorded permission for a county to approve beyond its funds, by an amount."""

    county_code = models.CharField(_("县（市、区）"), max_length=12)
    year = models.PositiveSmallIntegerField(_("年度"))
    amount_fen = models.BigIntegerField(_("允许超出金额（分）"))
    reason = models.CharField(_("理由"), max_length=200)
    document_no = models.CharField(_("文号"), max_length=80, blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("批准人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(_("批准时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("超出资金审核许可")
        verbose_name_plural = _("超出资金审核许可")
        ordering = ["county_code", "year", "granted_at"]

    @property
    def amount(self) -> str:
        return terms.yuan(self.amount_fen)


class BatchStatus(models.TextChoices):
    OPEN = "open", _("待导出")
    EXPORTED = "exported", _("已导出发放文件，待银行回盘")
    CLOSED = "closed", _("已回盘关闭")
    CANCELLED = "cancelled", _("已撤销")


class LineStatus(models.TextChoices):
    PENDING = "pending", _("待发放")
    PAID = "paid", _("已发放")
    FAILED = "failed", _("发放失败")
    RECOVERED = "recovered", _("已追缴")
    CANCELLED = "cancelled", _("已撤出批次")


class PaymentBatch(models.Model):
    """A county's bundle of approved entitlements paid through the bank in one file (发放批次)."""

    county_code = models.CharField(_("县（市、区）"), max_length=12)
    year = models.PositiveSmallIntegerField(_("年度"))
    number = models.CharField(_("批次号"), max_length=30, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.OPEN)
    total_fen = models.BigIntegerField(_("金额（分）"), default=0)
    line_count = models.PositiveIntegerField(_("笔数"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    exported_at = models.DateTimeField(_("最近导出时间"), null=True, blank=True)
    file_hash = models.CharField(_("发放文件SHA-256"), max_length=64, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("发放批次")
        verbose_name_plural = _("发放批次")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.number

    @property
    def total(self) -> str:
        return terms.yuan(self.total_fen)

    @property
    def is_open(self) -> bool:
        return self.status in (BatchStatus.OPEN, BatchStatus.EXPORTED)


class PaymentLine(models.Model):
    """One entitlement in one batch, with the payee as the bank file gives it (name, ID and card
    copied, still encrypted, when the batch is made). An entitlement is in at most one open batch
    and paid at most once (both kept by the database); a paid line is reversed only by a recovery."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="lines")
    row_no = models.PositiveIntegerField(_("序号"))
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="payments")
    household = models.ForeignKey("ledger.Household", on_delete=models.PROTECT, related_name="+", db_index=False)
    village_code = models.CharField(max_length=12)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    name = models.CharField(_("姓名"), max_length=40)
    id_cipher = models.TextField(editable=False)
    card_cipher = models.TextField(editable=False)
    card_hash = models.CharField(max_length=64, editable=False)
    card_masked = models.CharField(_("银行卡号"), max_length=30)
    item = models.CharField(_("补贴项目"), max_length=60)
    status = models.CharField(_("状态"), max_length=10, choices=LineStatus.choices, default=LineStatus.PENDING)
    in_open_batch = models.BooleanField(default=True, editable=False)
    reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    settled_at = models.DateTimeField(_("回盘时间"), null=True, blank=True)
    recovered_fen = models.BigIntegerField(_("追缴金额（分）"), default=0)
    recovery_document = models.CharField(_("追缴文号"), max_length=80, blank=True)
    recovery_reason = models.CharField(_("追缴原因"), max_length=200, blank=True)
    recovered_at = models.DateTimeField(_("追缴时间"), null=True, blank=True)
    recovered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("追缴登记人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("发放明细")
        verbose_name_plural = _("发放明细")
        ordering = ["batch", "row_no"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_no"], name="payment_row_per_batch"),
            models.UniqueConstraint(fields=["entitlement"], condition=models.Q(in_open_batch=True),
                                    name="payment_one_open_batch"),
            models.UniqueConstraint(fields=["entitlement"], condition=models.Q(status__in=["paid", "recovered"]),
                                    name="payment_paid_once"),
        ]
        indexes = [models.Index(fields=["village_code", "status"], name="payment_scope_idx")]

    @property
    def amount(self) -> str:
        return terms.yuan(self.amount_fen)

    @property
    def recovered(self) -> str:
        return terms.yuan(self.recovered_fen)
