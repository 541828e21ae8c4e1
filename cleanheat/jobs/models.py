import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """A background job (import, export, sizing): who, when, which file, what came of it."""

    KINDS = [("import", _("导入")), ("export_households", _("导出台账")), ("export_rollup", _("导出五级汇总")),
             ("sizing", _("选型测算")), ("entitlements", _("补贴核算"))]
    STATUSES = [
        ("queued", _("排队中")), ("running", _("处理中")), ("previewed", _("已预检，待确认")),
        ("committing", _("写入中")), ("done", _("已完成")), ("refused", _("未写入")), ("failed", _("出错")),
    ]
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("类型"), max_length=20, choices=KINDS)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT)
    region_scope = models.CharField(_("范围"), max_length=12, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    stored_path = models.CharField(max_length=400, blank=True)
    result_path = models.CharField(max_length=400, blank=True)
    report_path = models.CharField(max_length=400, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=STATUSES, default="queued")
    counts = models.JSONField(default=dict, blank=True)
    problems = models.JSONField(default=list, blank=True)
    ignored_columns = models.JSONField(default=list, blank=True)
    # an import's dry run beyond its counts and problems: questions about columns the sheet lacks,
    # what it says once for the file, and its notes on rows it accepts (the first 50, and how many)
    preview = models.JSONField(default=dict, blank=True)
    message = models.TextField(_("说明"), blank=True)
    valid_only = models.BooleanField(_("仅导入有效行"), default=False)
    # The run the task queue carries (cleanheat/jobs/services.py): which function, which run (a
    # run is claimed once, so a task delivered twice runs once), by which worker, since when.
    runner = models.CharField(max_length=200, blank=True)
    run_token = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_safe = models.BooleanField(default=False)  # a run that writes nothing or all in one transaction
    sealed = models.TextField(blank=True)  # the run's arguments (a search term), encrypted, until it ends

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running", "committing")

    class Meta:
        verbose_name = _("导入导出任务")
        verbose_name_plural = _("导入导出任务")
        ordering = ["-created_at"]
        db_table = "imports_job"  # the table the imports app created; moved here with its rows
