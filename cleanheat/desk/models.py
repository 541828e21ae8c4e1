"""The clerk's desk (工作台): reminders to report (催报), notices (通知公告) with read receipts,
and what each user has already looked at (for "new since my last look" to-dos).

To-dos themselves are not stored: they are computed from the data (todos.py)."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cleanheat.plan.models import Plan


class Reminder(models.Model):
    """A reviewer's 催报 to a unit for one dispatch period. It is a to-do for the unit's users until
    they submit that period's report. `sms_sent` stays False: there is no SMS outbox yet; a future
    outbox picks up the reminders with sms_sent=False and marks them when sent."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    unit_code = models.CharField(_("被催报单位（区划代码前缀）"), max_length=12)
    period_start = models.DateField(_("调度周期开始"))
    message = models.CharField(_("附言"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("催报人"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("催报时间"), auto_now_add=True)
    sms_sent = models.BooleanField(_("已发短信"), default=False)

    class Meta:
        verbose_name = _("催报")
        verbose_name_plural = _("催报")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["unit_code", "period_start"], name="desk_reminder_unit_idx"),
                   models.Index(fields=["sms_sent"], name="desk_reminder_sms_idx")]


class Notice(models.Model):
    """A notice (通知公告) published by a city or county office to its whole area or chosen units."""

    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("正文"))
    attachment = models.FileField(_("附件"), upload_to="notices/%Y/%m/", blank=True)
    attachment_name = models.CharField(_("附件名"), max_length=200, blank=True)
    publisher = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发布人"), on_delete=models.PROTECT,
                                  related_name="+")
    publisher_scope = models.CharField(_("发布单位区划"), max_length=12)
    published_at = models.DateTimeField(_("发布时间"), auto_now_add=True, db_index=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("撤回人"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    withdraw_reason = models.CharField(_("撤回原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("通知公告")
        verbose_name_plural = _("通知公告")
        ordering = ["-published_at"]

    def __str__(self):
        return self.title


class NoticeAudience(models.Model):
    """One region prefix the notice is addressed to: every user whose scope lies within it."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="audience")
    prefix = models.CharField(_("区划代码前缀"), max_length=12)

    class Meta:
        verbose_name = _("发布范围")
        verbose_name_plural = _("发布范围")
        constraints = [models.UniqueConstraint(fields=["notice", "prefix"], name="desk_audience_unique")]
        indexes = [models.Index(fields=["prefix", "notice"], name="desk_audience_prefix_idx")]


class NoticeRead(models.Model):
    """A read receipt: the user opened the notice."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(_("阅读时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("阅读回执")
        verbose_name_plural = _("阅读回执")
        constraints = [models.UniqueConstraint(fields=["user", "notice"], name="desk_read_unique")]


class Seen(models.Model):
    """What a user last looked at under a key ("breaches:140902", "job:<uuid>"), with what it held
    then (the breaches' keys), so that a to-do can say what is new since."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    at = models.DateTimeField(auto_now=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="desk_seen_unique")]
