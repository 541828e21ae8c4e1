from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A civil servant or company user. `region_scope` is a division-code prefix
    ('1409' = all of Xinzhou, '140902' = 忻府区); organisations and roles build on it."""

    full_name = models.CharField(_("姓名"), max_length=40, blank=True)
    region_scope = models.CharField(_("管辖区划（代码前缀）"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.full_name or self.username
