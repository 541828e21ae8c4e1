from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
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
    failed_logins = models.PositiveSmallIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.full_name or self.username

    @property
    def permissions(self) -> frozenset:
        return permissions_of(self.role)

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()
