from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import ROLE_CHOICES, permissions_of


class Organisation(models.Model):
    """A body that takes part in the programme (§六): governments, bureaus, companies, vendors."""

    KIND_CHOICES = [
        ("city_office", _("市清洁取暖办/市能源局")),
        ("county_gov", _("县（市、区）人民政府/管委会")),
        ("township_gov", _("乡（镇）人民政府/街道办")),
        ("village", _("村（居）委会")),
        ("finance", _("财政局")),
        ("housing", _("住房和城乡建设局")),
        ("ecology", _("生态环境局")),
        ("development_reform", _("发展和改革委员会")),
        ("public_utilities", _("公用事业中心")),
        ("grid", _("供电公司")),
        ("gas", _("燃气企业")),
        ("heat", _("热力公司")),
        ("vendor", _("设备企业")),
    ]
    name = models.CharField(_("名称"), max_length=80, unique=True)
    kind = models.CharField(_("类型"), max_length=30, choices=KIND_CHOICES)
    region_code = models.CharField(_("所在/负责区划（代码前缀）"), max_length=12)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["region_code", "name"]

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A civil servant or company user: an organisation, a role and a region scope
    (a division-code prefix: '1409' = all of Xinzhou, '140902' = 忻府区)."""

    full_name = models.CharField(_("姓名"), max_length=40, blank=True)
    organisation = models.ForeignKey(Organisation, verbose_name=_("单位"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="users")
    role = models.CharField(_("角色"), max_length=30, choices=ROLE_CHOICES, blank=True)
    region_scope = models.CharField(_("管辖区划（代码前缀）"), max_length=12, blank=True)
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.full_name or self.username

    @property
    def permissions(self) -> frozenset:
        return permissions_of(self.role)


class LoginFailure(models.Model):
    """One failed login, kept only as long as the counting window (the audit log keeps its own
    record): counted per username and address, per address, and per username across addresses."""

    at = models.DateTimeField(_("时间"))
    username = models.CharField(_("用户名"), max_length=150)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录失败")
        verbose_name_plural = _("登录失败")
        indexes = [models.Index(fields=["ip", "at"]), models.Index(fields=["username", "at"]),
                   models.Index(fields=["at"])]


class LoginThrottle(models.Model):
    """A pause on logins from one address (for one username or for all), or an alert about one
    account failing from many addresses, which pauses nothing: an account is never locked, so
    nobody can lock another person out by typing wrong passwords."""

    USERNAME_AT_ADDRESS, ADDRESS, ACCOUNT_ALERT = "username_address", "address", "account_alert"
    KIND_CHOICES = [
        (USERNAME_AT_ADDRESS, _("该用户名从该地址暂停登录")),
        (ADDRESS, _("该地址暂停登录（多个用户名失败）")),
        (ACCOUNT_ALERT, _("多个地址登录该账号失败（仅告警，不限制登录）")),
    ]

    kind = models.CharField(_("类型"), max_length=20, choices=KIND_CHOICES)
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    region_code = models.CharField(_("涉及区划"), max_length=12, blank=True,
                                   help_text=_("用于按管辖范围查看和解除"))
    failures = models.PositiveIntegerField(_("失败次数"))
    started_at = models.DateTimeField(_("开始"))
    until = models.DateTimeField(_("至"))
    lifted_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    lifted_by = models.ForeignKey(User, verbose_name=_("解除人"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("登录暂停")
        verbose_name_plural = _("登录暂停")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["ip", "until"]), models.Index(fields=["until"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.username} {self.ip or ''}".strip()


class ApiToken(models.Model):
    """A machine client's key to the JSON API (`Authorization: Bearer …`), issued by an administrator
    for an integration user: it acts as that user (their role and region scope), until it expires
    or is revoked. Only its SHA-256 digest is stored; the token itself is shown once."""

    user = models.ForeignKey(User, verbose_name=_("集成用户"), on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=80)
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("令牌开头"), max_length=16)  # the first characters, to tell tokens apart
    created_by = models.ForeignKey(User, verbose_name=_("签发人"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("签发时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("到期时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, verbose_name=_("吊销人"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("最近来源地址"), null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(_("每分钟请求上限"), null=True, blank=True)  # none: the setting's

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name}（{self.hint}…）"
