"""Forms only render and carry input; validation lives in services (the single door)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from cleanheat.versions import keep_shown_values

from .choices import STATE_ORDER, ElectricDevice, HeatingPath, LifecycleState, OriginalFacility, Structure
from .records import PII_FIELDS
from .services import REQUIRED_ON_CREATE


def _choices(enum, blank=True):
    return ([("", "—")] if blank else []) + list(enum.choices)


class HouseholdForm(forms.Form):
    village = forms.CharField(label=_("所属村（社区）"), required=False, widget=forms.HiddenInput)
    householder_name = forms.CharField(label=_("户主姓名"), required=False, max_length=40)
    id_number = forms.CharField(label=_("身份证号"), required=False, max_length=40)
    phone = forms.CharField(label=_("联系电话"), required=False, max_length=20)
    bank_account = forms.CharField(label=_("补贴发放账号"), required=False, max_length=40)
    electricity_account = forms.CharField(label=_("电力户号"), required=False, max_length=40)
    gas_account = forms.CharField(label=_("燃气户号"), required=False, max_length=40)
    address = forms.CharField(label=_("住址（门牌号）"), required=False, max_length=120)
    household_size = forms.CharField(label=_("家庭人口"), required=False, initial=1)
    is_dibao = forms.BooleanField(label=_("低保"), required=False)
    is_tekun = forms.BooleanField(label=_("特困"), required=False)
    is_tuopin = forms.BooleanField(label=_("脱贫"), required=False)
    is_canji = forms.BooleanField(label=_("残疾"), required=False)
    heated_area = forms.CharField(label=_("采暖面积（㎡）"), required=False)
    structure = forms.ChoiceField(label=_("房屋结构"), choices=_choices(Structure, blank=False), required=False)
    envelope_retrofitted = forms.BooleanField(label=_("已做围护结构节能改造"), required=False)
    envelope_gain_pct = forms.CharField(label=_("节能改造能效提升（%）"), required=False, max_length=6)
    heat_source = forms.CharField(label=_("热源（名称）"), required=False, max_length=80)
    # ISO format: what a date input shows and posts (the locale's 2024/01/02 would show blank
    # and post "", clearing a date the user never touched).
    removal_consent_on = forms.DateField(label=_("居民同意拆除原设施日期"), required=False,
                                         widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    original_facility = forms.ChoiceField(label=_("原取暖设施"), choices=_choices(OriginalFacility), required=False)
    heating_path = forms.ChoiceField(label=_("取暖路径"), choices=_choices(HeatingPath), required=False)
    electric_device = forms.ChoiceField(label=_("煤改电设备类型"), choices=_choices(ElectricDevice), required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    GROUPS = [
        (_("居民信息"), ["householder_name", "id_number", "phone", "bank_account", "electricity_account",
                        "gas_account", "address", "household_size", "is_dibao", "is_tekun", "is_tuopin", "is_canji"]),
        (_("房屋"), ["heated_area", "structure", "envelope_retrofitted", "envelope_gain_pct"]),
        (_("取暖路径"), ["original_facility", "heating_path", "electric_device", "heat_source", "removal_consent_on"]),
    ]

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        # What the service refuses to leave empty (an edit keeps a stored identifier when left blank).
        self.required_names = {n for n in REQUIRED_ON_CREATE
                               if not editing or (n not in PII_FIELDS and n != "village")}
        for name in self.required_names:
            self.fields[name].widget.attrs["aria-required"] = "true"
        if editing:
            for name in PII_FIELDS:
                self.fields[name].help_text = _("留空表示不修改")
            keep_shown_values(self)

    def groups(self):
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    def village_initial(self):
        """The village picker is drawn by hand; this is its hidden copy of the value shown."""
        return self["village"].as_hidden(only_initial=True) if self.editing else ""

    def based_on_version(self) -> bool:
        """An edit page names the version it shows; a post without one is checked as before."""
        return self.editing and self.cleaned_data.get("version") is not None

    def service_data(self) -> dict:
        """What to hand to the service: on edit, only what the user changed (when the page says
        what it showed), and blank identifiers mean 'unchanged'."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if self.based_on_version():
            data = {k: v for k, v in data.items() if k in self.changed_data}
        if self.editing:
            for name in PII_FIELDS:
                if not data.get(name):
                    data.pop(name, None)
            if not data.get("village"):
                data.pop("village", None)
        return data


class TransitionForm(forms.Form):
    """One step forward (the next state only) or back to an earlier state with a reason: the
    household page offers them as two separate forms, each behind a confirm step."""
    to_state = forms.ChoiceField(label=_("变更为"), choices=LifecycleState.choices)
    occurred_on = forms.DateField(label=_("发生日期"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因/说明"), required=False, max_length=200)


class BatchForm(forms.Form):
    """A batch action on the households ticked in the list (each still goes through the service)."""
    action = forms.ChoiceField(label=_("批量操作"), choices=[("transition", _("变更改造状态")), ("archive", _("归档"))])
    to_state = forms.ChoiceField(label=_("目标状态"), choices=_choices(LifecycleState), required=False)
    occurred_on = forms.DateField(label=_("发生日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因/说明"), required=False, max_length=200)

    def clean(self):
        data = super().clean()
        if data.get("action") == "transition" and not data.get("to_state"):
            self.add_error("to_state", _("请选择目标状态"))
        if data.get("action") == "archive" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("请填写归档原因"))
        return data


class ArchiveForm(forms.Form):
    reason = forms.CharField(label=_("原因"), required=False, max_length=200)


class OutageForm(forms.Form):
    reported_on = forms.DateField(label=_("停暖日期"), widget=forms.DateInput(attrs={"type": "date"}))
    resolved_on = forms.DateField(label=_("恢复日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(label=_("情况"), max_length=200, required=False)


def next_state(state: str) -> str | None:
    """The one state a household may move on to, or None at the end of the line."""
    i = STATE_ORDER.index(state)
    return STATE_ORDER[i + 1] if i + 1 < len(STATE_ORDER) else None


def earlier_states(state: str) -> list[tuple[str, str]]:
    """The states a household may step back to (with a reason), nearest first."""
    return [(s, LifecycleState(s).label) for s in reversed(STATE_ORDER[:STATE_ORDER.index(state)])]
