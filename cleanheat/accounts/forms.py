from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cleanheat.audit.services import record
from cleanheat.versions import keep_shown_values

from .models import Organisation
from .roles import ROLE_CHOICES


def lock_message(user) -> str:
    until = timezone.localtime(user.locked_until).strftime("%H:%M")
    return (f"该账号因连续{settings.LOGIN_MAX_FAILURES}次密码错误已被锁定，请于{until}后再试，"
            "或联系管理员解锁。")


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码不正确。"),
        "inactive": _("该账号已停用，请联系管理员。"),
    }

    def clean(self):
        user = get_user_model().objects.filter(username=self.cleaned_data.get("username")).first()
        if user is not None and user.is_locked():
            record("login_failed", request=self.request, username=user.username,
                   region_code=user.region_scope, detail="账号锁定期间尝试登录")
            raise ValidationError(lock_message(user), code="locked")
        try:
            return super().clean()
        except ValidationError:
            if user is not None:
                user.refresh_from_db(fields=["failed_logins", "locked_until"])
                if user.is_locked():
                    raise ValidationError(lock_message(user), code="locked") from None
                left = settings.LOGIN_MAX_FAILURES - user.failed_logins
                raise ValidationError(f"用户名或密码不正确，再错{left}次账号将被锁定。") from None
            raise


class UserForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150)
    full_name = forms.CharField(label=_("姓名"), max_length=40)
    organisation = forms.ModelChoiceField(label=_("单位"), queryset=Organisation.objects.none(), required=False)
    role = forms.ChoiceField(label=_("角色"), choices=ROLE_CHOICES)
    region_scope = forms.CharField(label=_("管辖区划（代码前缀）"), max_length=12,
                                   help_text=_("如 1409 全市、140902 忻府区、140902100 某镇"))
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organisations=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations if organisations is not None else Organisation.objects.none()
        if editing:
            self.fields["username"].disabled = True
            keep_shown_values(self)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200)
