from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from cleanheat.formhelp import name_required
from cleanheat.versions import keep_shown_values

from .models import Organisation
from .roles import ROLE_CHOICES

# One answer for every failed login (unknown name, wrong password, paused, inactive account),
# so that nobody learns from it which usernames exist.
LOGIN_FAILED = _("用户名或密码错误，或账号暂时无法登录。多次失败后将暂停登录，请稍后再试或联系管理员。")


class LoginForm(AuthenticationForm):
    error_messages = {**AuthenticationForm.error_messages, "invalid_login": LOGIN_FAILED, "inactive": LOGIN_FAILED}


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
        name_required(self)
        if editing:
            self.fields["username"].disabled = True
            keep_shown_values(self)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200)
