"""Checklists (data, versioned), evidence files and acceptance records (《实施方案》六.1、五(三)(四)、七(三))."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.choices import Channel, HeatingPath
from cleanheat.ledger.models import Household


class InspectionKind(models.TextChoices):
    ACCEPTANCE = "acceptance", _("竣工验收")
    SELF = "self", _("县级自查")
    CITY = "city", _("市级考核")
    JOINT = "joint", _("联合督导检查")


class ItemType(models.TextChoices):
    YES_NO = "yes_no", _("是/否")
    NUMBER = "number", _("数值")
    PHOTO = "photo", _("照片")
    TEXT = "text", _("文字")


class Checklist(models.Model):
    """One version of the checklist of a heating path and inspection kind. A change is a new version
    (`loader.load_checklists`); records keep the version they were filled on."""

    heating_path = models.CharField(_("取暖路径"), max_length=20, choices=HeatingPath.choices)
    kind = models.CharField(_("检查类别"), max_length=12, choices=InspectionKind.choices)
    version = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("名称"), max_length=100)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("检查清单")
        verbose_name_plural = _("检查清单")
        constraints = [models.UniqueConstraint(fields=["heating_path", "kind", "version"], name="checklist_version")]
        ordering = ["heating_path", "kind", "-version"]

    def __str__(self):
        return f"{self.title}（第{self.version}版）"


class ChecklistItem(models.Model):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("代码"), max_length=40)
    text = models.CharField(_("检查内容"), max_length=200)
    item_type = models.CharField(_("类型"), max_length=10, choices=ItemType.choices)
    required = models.BooleanField(_("必填"), default=True)
    expected = models.BooleanField(_("合格答案（是/否项）"), default=True)
    minimum = models.DecimalField(_("下限"), max_digits=10, decimal_places=2, null=True, blank=True)
    maximum = models.DecimalField(_("上限"), max_digits=10, decimal_places=2, null=True, blank=True)
    valid_min = models.DecimalField(_("可填写的最小值"), max_digits=10, decimal_places=2, null=True, blank=True)
    valid_max = models.DecimalField(_("可填写的最大值"), max_digits=10, decimal_places=2, null=True, blank=True)
    unit = models.CharField(_("单位"), max_length=10, blank=True)
    severity = models.CharField(_("不合格时问题等级"), max_length=10, default="normal")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("检查项")
        verbose_name_plural = _("检查项")
        ordering = ["checklist", "order"]
        constraints = [models.UniqueConstraint(fields=["checklist", "code"], name="checklist_item_code")]

    def spec(self) -> dict:
        """The item as the pure checks (`checklists`) read it."""
        return {"code": self.code, "text": self.text, "type": self.item_type, "required": self.required,
                "expected": self.expected, "min": self.minimum, "max": self.maximum,
                "valid_min": self.valid_min, "valid_max": self.valid_max, "unit": self.unit,
                "severity": self.severity}


class EvidenceFile(models.Model):
    """A photo or scan, kept through Django's storage (`files.evidence_storage`) and served only by the
    scoped view. `region_code`: the village (or county) whose users may see it."""

    region_code = models.CharField(max_length=12, db_index=True)
    stored_name = models.CharField(max_length=255, editable=False)
    display_name = models.CharField(max_length=255, blank=True, editable=False)  # resized, EXIF stripped
    original_name = models.CharField(_("文件名"), max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")


class AcceptanceRecord(models.Model):
    """The evidence behind 已验收: the checklist filled, photos, the inspector and the household's
    representative. `passed` records are what the rules ask for (`evidence.acceptance_problem`)."""

    number = models.CharField(_("验收记录编号"), max_length=40, unique=True)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="acceptance_records")
    region_code = models.CharField(max_length=12, db_index=True)   # the household's village when recorded
    checklist = models.ForeignKey(Checklist, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(_("检查结果"), default=dict)   # item code → value (photo items: [file ids])
    failed_items = models.JSONField(default=list, blank=True)
    passed = models.BooleanField(_("验收合格"))
    accepted_on = models.DateField(_("验收日期"))
    inspector_name = models.CharField(_("验收人"), max_length=40)
    representative_name = models.CharField(_("户方代表"), max_length=40)
    signed_on_paper = models.BooleanField(_("纸质签字"), default=False)
    signature = models.ForeignKey(EvidenceFile, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("签字图片或纸质签字扫描件"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.UI)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("验收记录")
        verbose_name_plural = _("验收记录")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["household", "passed"], name="acceptance_household_idx")]

    def __str__(self):
        return self.number


class InspectionRound(models.Model):
    """A round of self-inspection (a county), city assessment (the city) or joint inspection: the rule
    it samples by (copied from data/sampling.json when it is created), its stored seed and its draws."""

    kind = models.CharField(_("检查类别"), max_length=12, choices=InspectionKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    region_code = models.CharField(_("检查范围"), max_length=12, db_index=True)   # the county's or city's code
    year = models.PositiveSmallIntegerField(_("计划年度"))
    level = models.CharField(_("分层单位"), max_length=10)
    share = models.DecimalField(_("抽取比例"), max_digits=5, decimal_places=4)
    minimum = models.PositiveIntegerField(_("每单位最少户数"))
    exclude_previous = models.BooleanField(_("排除上一轮已抽户"), default=False)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    seed = models.BigIntegerField(_("随机种子"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("检查轮次")
        verbose_name_plural = _("检查轮次")
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class SampleDraw(models.Model):
    """Each draw of a round: the seed, how many, who, why (a re-draw needs a reason)."""

    round = models.ForeignKey(InspectionRound, on_delete=models.CASCADE, related_name="draws")
    seed = models.BigIntegerField()
    size = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    drawn_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "id"]


class SampledHousehold(models.Model):
    round = models.ForeignKey(InspectionRound, on_delete=models.CASCADE, related_name="samples")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=12, db_index=True)   # the household's village
    unit_code = models.CharField(max_length=12)                     # the township or county it was drawn in
    heating_path = models.CharField(max_length=20, choices=HeatingPath.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "household"], name="sample_once")]
        ordering = ["round", "unit_code", "heating_path", "household"]


class Visit(models.Model):
    """One inspection visit to a sampled household: the checklist filled in the field. `client_id`:
    made by the phone, so a visit sent twice (after a reconnect) is recorded once."""

    client_id = models.CharField(max_length=64, unique=True)
    sample = models.ForeignKey(SampledHousehold, on_delete=models.PROTECT, related_name="visits")
    region_code = models.CharField(max_length=12, db_index=True)
    checklist = models.ForeignKey(Checklist, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(default=dict)
    failed_items = models.JSONField(default=list, blank=True)
    visited_at = models.DateTimeField(_("检查时间"))
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("现场检查")
        verbose_name_plural = _("现场检查")


class Severity(models.TextChoices):
    NORMAL = "normal", _("一般")
    SERIOUS = "serious", _("严重")


class FindingStatus(models.TextChoices):
    OPEN = "open", _("待整改")
    RECTIFIED = "rectified", _("已整改待复核")
    CLOSED = "closed", _("已销号")


class Finding(models.Model):
    """A failed checklist item (问题): severity, the responsible unit (a county), a deadline; the county
    records the rectification, the inspector closes or reopens it."""

    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="findings")
    round = models.ForeignKey(InspectionRound, on_delete=models.PROTECT, related_name="findings")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(max_length=12, db_index=True)
    item_code = models.CharField(max_length=40)
    description = models.CharField(_("问题"), max_length=200)
    severity = models.CharField(_("问题等级"), max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    responsible_unit = models.CharField(_("责任单位"), max_length=12)   # a county's code
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(_("状态"), max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    closed_on = models.DateField(_("销号日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查发现的问题")
        verbose_name_plural = _("检查发现的问题")
        indexes = [models.Index(fields=["status", "deadline"], name="finding_due_idx")]


class FindingStep(models.Model):
    """The history of a finding: rectification recorded (with evidence), closed, reopened."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(max_length=10)   # rectify / close / reopen
    note = models.CharField(max_length=200)
    evidence = models.JSONField(default=list, blank=True)   # EvidenceFile ids
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["finding", "id"]


class LedgerApproval(models.Model):
    """Bottom-up confirmation of a unit's ledger for a year's city assessment (village → township →
    county → city). Approved data is locked until the approving level reopens it with a reason."""

    year = models.PositiveSmallIntegerField()
    region_code = models.CharField(max_length=12)
    approved = models.BooleanField(default=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(auto_now=True)
    figures = models.JSONField(default=dict, blank=True)   # the counts as approved
    reopen_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["year", "region_code"], name="approval_once")]
