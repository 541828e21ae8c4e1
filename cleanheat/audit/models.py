from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.choices import Channel


class AuditEvent(models.Model):
    """Security audit log (等保三级 安全审计): append-only, never edited or deleted by the app."""

    ACTIONS = [
        ("login", _("登录")),
        ("logout", _("退出")),
        ("login_failed", _("登录失败")),
        ("lockout", _("登录暂停")),
        ("login_alert", _("登录异常告警")),
        ("unlock", _("解除登录暂停")),
        ("password_change", _("修改密码")),
        ("password_reset", _("重置密码")),
        ("user_create", _("新建用户")),
        ("permission_change", _("权限变更")),
        ("pii_reveal", _("查看个人敏感信息")),
        ("export", _("导出")),
        ("import", _("导入")),
        ("denied", _("越权访问被拒绝")),
        ("catalog_import", _("导入中标产品")),
        ("catalog_edit", _("修改中标产品")),
        ("contract", _("采购合同")),
        ("sizing", _("选型测算")),
        ("subsidy_policy", _("补贴政策")),
        ("entitlements", _("补贴核算")),
        ("energy_readings", _("能耗读数导入")),
        ("notice", _("通知公告")),
        ("remind", _("催报")),
        # API tokens (issue #20 part 3)
        ("api_token", _("API 令牌签发/吊销")),
        ("api_call", _("API 调用")),
        ("api_refused", _("API 令牌被拒绝")),
    ]
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    action = models.CharField(_("事件"), max_length=30, choices=ACTIONS, db_index=True)
    region_code = models.CharField(_("涉及区划"), max_length=12, blank=True, db_index=True,
                                   help_text=_("用于按管辖范围查看审计记录"))
    target = models.CharField(_("对象"), max_length=120, blank=True)
    detail = models.TextField(_("详情"), blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("审计记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("审计记录不能删除")


class DuplicateAttempt(models.Model):
    """A refused attempt to register as householder someone who already heads an active household
    outside the caller's area (跨地区重复登记). The refusal names nothing; this record lets the
    administrators of both areas and the city settle it. Append-only; the ID number only masked."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    id_number_masked = models.CharField(_("身份证号"), max_length=18)
    id_number_hash = models.CharField(max_length=64)  # the same person's attempts, grouped
    region_code = models.CharField(_("登记地"), max_length=12, help_text=_("操作人要把此人登记为户主的村（社区）"))
    other_region_code = models.CharField(_("已登记地"), max_length=12, help_text=_("此人已是户主的户所在村（社区）"))
    other_household_no = models.CharField(_("已登记户编号"), max_length=16)

    class Meta:
        verbose_name = _("跨地区重复登记")
        verbose_name_plural = _("跨地区重复登记")
        ordering = ["-id"]
        # Exact and range matches only (declared here: db_index adds an unused LIKE index on PostgreSQL).
        indexes = [models.Index(fields=["region_code"], name="dup_region_idx"),
                   models.Index(fields=["other_region_code"], name="dup_other_region_idx"),
                   models.Index(fields=["id_number_hash"], name="dup_id_hash_idx")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("审计记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("审计记录不能删除")
