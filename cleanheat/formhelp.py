"""What every form does alike: a required field is marked (its label gets the class "required", drawn
with a red *) and, left empty, says what to do: 请填写用户名 / 请选择角色."""
from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext

REQUIRED_CLASS = "required"


def _what_to_do(choose: bool, label) -> str:
    return (gettext("请选择%(label)s") if choose else gettext("请填写%(label)s")) % {"label": label}


what_to_do = lazy(_what_to_do, str)  # in the language of the request that shows it


def name_required(form: forms.BaseForm) -> None:
    form.required_css_class = REQUIRED_CLASS
    for field in form.fields.values():
        field.error_messages["required"] = what_to_do(isinstance(field, forms.ChoiceField), field.label or "")
