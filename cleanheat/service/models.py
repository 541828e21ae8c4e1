"""Hotline tickets (热线工单) and repair (维修保障专班), §三(三) of the plan.

A ticket is opened by the hotline, a village clerk or an outside system, routed to a repair team
(the vendor whose equipment is allocated to the household, the grid / gas / heat company, or the
county office) and tracked against its service-level deadlines (data: SlaTarget). A "no heat"
ticket opens an outage on the household (ledger.MaintenanceRecord), which the 先立后破 check reads.
Written only through service.services."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cleanheat.accounts.models import Organisation
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household, MaintenanceRecord


class Category(models.TextChoices):
    NO_HEAT = "no_heat", _("不热/停暖")
    DEVICE = "device_fault", _("设备故障")
    POWER = "power_supply", _("供电故障")
    GAS = "gas_supply", _("供气故障")
    SUBSIDY = "subsidy", _("补贴咨询")
    COMPLAINT = "complaint", _("投诉")
    CONSULT = "consultation", _("政策咨询")


class Severity(models.TextChoices):
    URGENT = "urgent", _("紧急")
    NORMAL = "normal", _("一般")
    LOW = "low", _("轻微")


class Source(models.TextChoices):
    """Where a ticket came from (渠道)."""
    HOTLINE = "hotline", _("热线电话")
    VILLAGE = "village", _("村级上报")
    MONITOR = "monitor", _("设备监测平台")
    UTILITY = "utility", _("供电/燃气企业")
    SMS = "sms", _("短信")
    WEB = "web", _("网页")


class Status(models.TextChoices):
    OPEN = "open", _("待响应")
    ACCEPTED = "accepted", _("已响应")
    ON_SITE = "on_site", _("已到场")
    RESOLVED = "resolved", _("已修复待回访")
    CLOSED = "closed", _("已办结")


class SlaStatus(models.TextChoices):
    ON_TRACK = "on_track", _("正常")
    AT_RISK = "at_risk", _("即将超时")
    BREACHED = "breached", _("已超时")


OPEN_STATUSES = (Status.OPEN, Status.ACCEPTED, Status.ON_SITE)


class SlaTarget(models.Model):
    """Minutes to respond, be on site and fix, per category and severity (data, not code); `cold`
    rows apply when the outdoor temperature is below the county's design temperature."""

    category = models.CharField(_("类别"), max_length=20, choices=Category.choices)
    severity = models.CharField(_("紧急程度"), max_length=10, choices=Severity.choices)
    cold = models.BooleanField(_("低于室外设计温度时"), default=False)
    respond_minutes = models.IntegerField(_("响应时限（分钟）"))
    onsite_minutes = models.IntegerField(_("到场时限（分钟）"))
    fix_minutes = models.IntegerField(_("修复时限（分钟）"))
    at_risk_fraction = models.DecimalField(_("预警比例"), max_digits=3, decimal_places=2, default=0.75)
    escalate_county_minutes = models.PositiveIntegerField(_("超时后升级到县级（分钟）"), default=0)
    escalate_city_minutes = models.PositiveIntegerField(_("超时后升级到市级（分钟）"), default=480)

    class Meta:
        verbose_name = _("服务时限")
        verbose_name_plural = _("服务时限")
        ordering = ["category", "severity", "cold"]
        constraints = [
            models.UniqueConstraint(fields=["category", "severity", "cold"], name="service_sla_unique"),
            models.CheckConstraint(condition=Q(respond_minutes__gt=0) & Q(onsite_minutes__gte=F("respond_minutes"))
                                   & Q(fix_minutes__gte=F("onsite_minutes")), name="service_sla_positive"),
        ]

    def __str__(self):
        return f"{self.get_category_display()} {self.get_severity_display()}{'（低温）' if self.cold else ''}"


class CauseCode(models.Model):
    """Why a fault happened, chosen when resolving (data: service/data/sla.json)."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    label = models.CharField(_("原因"), max_length=60)
    active = models.BooleanField(_("可选"), default=True)

    class Meta:
        verbose_name = _("故障原因")
        verbose_name_plural = _("故障原因")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.label}"


class RepairTeam(models.Model):
    """A team answering tickets for one organisation in an area (a code prefix: a county, or the city)."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("单位"), on_delete=models.PROTECT,
                                     related_name="repair_teams")
    region_code = models.CharField(_("负责区划（代码前缀）"), max_length=12)
    name = models.CharField(_("名称"), max_length=80)
    phone = models.CharField(_("值班电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("维修专班")
        verbose_name_plural = _("维修专班")
        ordering = ["region_code", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "region_code"], name="service_team_unique")]

    def __str__(self):
        return self.name


class Ticket(models.Model):
    number = models.CharField(_("工单号"), max_length=20, unique=True)
    household = models.ForeignKey(Household, verbose_name=_("居民用户"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="tickets")
    village_code = models.CharField(_("村（社区）代码"), max_length=12)
    caller_name = models.CharField(_("来电人"), max_length=40, blank=True)
    caller_phone_cipher = models.TextField(blank=True, editable=False)
    caller_phone_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    caller_phone_masked = models.CharField(_("来电号码"), max_length=20, blank=True)
    category = models.CharField(_("类别"), max_length=20, choices=Category.choices)
    severity = models.CharField(_("紧急程度"), max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    description = models.CharField(_("情况描述"), max_length=500)
    outdoor_temp_c = models.DecimalField(_("室外温度（℃）"), max_digits=4, decimal_places=1, null=True, blank=True)
    cold = models.BooleanField(_("低温时限"), default=False)
    team = models.ForeignKey(RepairTeam, verbose_name=_("承办专班"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="tickets")
    route_note = models.CharField(_("派单依据"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("受理时间"))
    clock_start = models.DateTimeField(_("计时起点"))   # opened_at, or the last reopening
    due_respond = models.DateTimeField(_("响应期限"))
    due_onsite = models.DateTimeField(_("到场期限"))
    due_fix = models.DateTimeField(_("修复期限"))
    at_risk_fraction = models.DecimalField(_("预警比例"), max_digits=3, decimal_places=2)
    escalate_county_minutes = models.PositiveIntegerField(default=0)
    escalate_city_minutes = models.PositiveIntegerField(default=480)
    responded_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("到场时间"), null=True, blank=True)
    arrived_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    arrived_lon = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    resolved_at = models.DateTimeField(_("修复时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("修复人"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    repair_minutes = models.PositiveIntegerField(_("修复用时（分钟）"), null=True, blank=True)
    cause = models.ForeignKey(CauseCode, verbose_name=_("故障原因"), null=True, blank=True, on_delete=models.PROTECT)
    parts = models.CharField(_("更换配件"), max_length=200, blank=True)
    resolution = models.CharField(_("处理情况"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    satisfied = models.BooleanField(_("满意"), null=True, blank=True)
    reopened = models.PositiveSmallIntegerField(_("重开次数"), default=0)
    sla_status = models.CharField(_("时限状态"), max_length=10, choices=SlaStatus.choices, default=SlaStatus.ON_TRACK)
    breached_at = models.DateTimeField(_("首次超时"), null=True, blank=True)
    escalation = models.PositiveSmallIntegerField(_("升级层级"), default=0)  # 0 none, 1 county, 2 city
    outage = models.ForeignKey(MaintenanceRecord, verbose_name=_("停暖记录"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    changed_at = models.DateTimeField(_("最后修改"), auto_now=True, db_index=True)  # the dashboard cache's generation
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("受理人"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["village_code", "status"], name="service_ticket_village_idx"),
                   models.Index(fields=["status", "due_fix"], name="service_ticket_open_idx"),
                   models.Index(fields=["opened_at"], name="service_ticket_opened_idx"),
                   # covers every column the winter dashboard groups by: its scans read the index only
                   models.Index(fields=["opened_at", "village_code", "status", "category", "team", "breached_at",
                                        "satisfied", "sla_status", "repair_minutes", "household"],
                                name="service_ticket_dash_idx")]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def due(self) -> dict:
        return {"respond": self.due_respond, "onsite": self.due_onsite, "fix": self.due_fix}

    def done(self) -> dict:
        return {"respond": self.responded_at, "onsite": self.arrived_at, "fix": self.resolved_at}


class TicketEvent(models.Model):
    """What happened to a ticket, in order: the ticket's history (never changed)."""

    KINDS = [("opened", _("受理")), ("routed", _("派单")), ("accepted", _("响应")), ("arrived", _("到场")),
             ("not_home", _("上门未遇")), ("photo", _("照片")), ("resolved", _("修复")), ("callback", _("回访")),
             ("reopened", _("重开")), ("escalated", _("升级")), ("closed", _("办结")), ("note", _("备注"))]
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("事项"), max_length=12, choices=KINDS)
    at = models.DateTimeField(_("时间"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    lon = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = _("工单记录")
        verbose_name_plural = _("工单记录")
        ordering = ["at", "pk"]


class TicketPhoto(models.Model):
    STAGES = [("before", _("维修前")), ("after", _("维修后"))]
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="photos")
    stage = models.CharField(_("阶段"), max_length=6, choices=STAGES)
    stored_name = models.CharField(max_length=200)
    original_name = models.CharField(_("文件名"), max_length=120)
    size = models.PositiveIntegerField(_("大小（字节）"))
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    taken_at = models.DateTimeField(_("拍摄时间（EXIF）"), null=True, blank=True)
    lat = models.DecimalField(_("纬度（EXIF）"), max_digits=9, decimal_places=6, null=True, blank=True)
    lon = models.DecimalField(_("经度（EXIF）"), max_digits=9, decimal_places=6, null=True, blank=True)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    class Meta:
        verbose_name = _("工单照片")
        verbose_name_plural = _("工单照片")
        ordering = ["uploaded_at", "pk"]


class SmsTemplate(models.Model):
    """An SMS text with {placeholders} (data, editable in the admin)."""

    key = models.CharField(_("代码"), max_length=30, unique=True)
    text = models.CharField(_("内容"), max_length=300)

    class Meta:
        verbose_name = _("短信模板")
        verbose_name_plural = _("短信模板")

    def __str__(self):
        return self.key


class SmsMessage(models.Model):
    """One SMS in the outbox. `dedupe_key` is unique: the same notice is never queued (or sent) twice."""

    STATUS = [("queued", _("待发送")), ("sending", _("发送中")), ("sent", _("已发送")), ("failed", _("发送失败"))]
    dedupe_key = models.CharField(max_length=80, unique=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    region_code = models.CharField(_("区划"), max_length=12)
    to_cipher = models.TextField(editable=False)
    to_masked = models.CharField(_("号码"), max_length=20)
    template = models.CharField(_("模板"), max_length=30)
    body = models.CharField(_("内容"), max_length=400)
    status = models.CharField(_("状态"), max_length=8, choices=STATUS, default="queued")
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    last_error = models.CharField(_("错误"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("短信")
        verbose_name_plural = _("短信发件箱")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="service_sms_due_idx")]
