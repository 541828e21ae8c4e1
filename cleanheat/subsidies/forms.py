"""The policy edit page (header, items, tilts as formsets) and a reading on the household page.
The forms only read what was typed; the service (policy_rules, reading_rules) judges it."""
from django import forms
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.choices import HeatingPath
from cleanheat.procurement.models import EquipmentType

from .models import Flag, Kind, Method, Unit
from .policy_rules import ITEM_FIELDS, TILT_FIELDS

BLANK = [("", "—")]
ANY = [("", _("不限"))]
NUMBER = {"required": False, "max_digits": 18, "decimal_places": 6}


def _number(label, width=6):
    return forms.DecimalField(label=label, widget=forms.TextInput(attrs={"size": width, "inputmode": "decimal"}),
                              **NUMBER)


class PolicyForm(forms.Form):
    region = forms.ChoiceField(label=_("区划（市或县）"))
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    title = forms.CharField(label=_("政策名称"), max_length=120)
    document_no = forms.CharField(label=_("文号"), max_length=80, required=False)
    effective_from = forms.DateField(label=_("施行日期"), widget=forms.DateInput(attrs={"type": "date"}))
    effective_until = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                      help_text=_("留空：施行至下一版本施行前一日"))
    illustrative = forms.BooleanField(label=_("示意数据（非正式政策）"), required=False)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 80}))

    def __init__(self, *args, regions=(), fixed=None, **kwargs):
        """regions: the cities and counties the user may choose; fixed: the version being changed
        (its region and year stay)."""
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, r.name) for r in regions]
        if fixed is not None:
            self.fields["region"].choices = [(fixed.region_id, fixed.region.name)]
            self.fields["region"].disabled = self.fields["year"].disabled = True


class ItemForm(forms.Form):
    kind = forms.ChoiceField(label=ITEM_FIELDS["kind"], choices=BLANK + Kind.choices, required=False)
    label = forms.CharField(label=ITEM_FIELDS["label"], required=False, widget=forms.TextInput(attrs={"size": 12}))
    path = forms.ChoiceField(label=ITEM_FIELDS["path"], choices=ANY + HeatingPath.choices, required=False)
    device = forms.ChoiceField(label=ITEM_FIELDS["device"], choices=ANY + EquipmentType.choices, required=False)
    method = forms.ChoiceField(label=ITEM_FIELDS["method"], choices=BLANK + Method.choices, required=False)
    share_pct = _number(ITEM_FIELDS["share_pct"], 5)
    cap_yuan = _number(ITEM_FIELDS["cap_yuan"], 7)
    fixed_yuan = _number(ITEM_FIELDS["fixed_yuan"], 7)
    rate_yuan = _number(ITEM_FIELDS["rate_yuan"], 6)
    unit = forms.ChoiceField(label=ITEM_FIELDS["unit"], choices=BLANK + Unit.choices, required=False)
    seasons = forms.IntegerField(label=ITEM_FIELDS["seasons"], required=False, widget=forms.TextInput(attrs={"size": 3}))
    central_pct = _number(ITEM_FIELDS["central_pct"], 4)
    provincial_pct = _number(ITEM_FIELDS["provincial_pct"], 4)
    city_pct = _number(ITEM_FIELDS["city_pct"], 4)
    county_pct = _number(ITEM_FIELDS["county_pct"], 4)


class TiltForm(forms.Form):
    flag = forms.ChoiceField(label=TILT_FIELDS["flag"], choices=BLANK + Flag.choices, required=False)
    kind = forms.ChoiceField(label=TILT_FIELDS["kind"], choices=BLANK + Kind.choices, required=False)
    path = forms.ChoiceField(label=TILT_FIELDS["path"], choices=ANY + HeatingPath.choices, required=False)
    share_pct = _number(TILT_FIELDS["share_pct"], 5)
    cap_yuan = _number(TILT_FIELDS["cap_yuan"], 7)
    extra_yuan = _number(TILT_FIELDS["extra_yuan"], 7)


ItemFormSet = forms.formset_factory(ItemForm, extra=2, can_delete=True, max_num=60, validate_max=True)
TiltFormSet = forms.formset_factory(TiltForm, extra=2, can_delete=True, max_num=40, validate_max=True)


def rows_of(formset) -> tuple[list[dict], list]:
    """The filled, kept rows of a valid formset, and the form of each (to place the service's problems)."""
    kept = [f for f in formset.forms if f.has_changed() and not f.cleaned_data.get("DELETE")]
    return [{k: v for k, v in f.cleaned_data.items() if k != "DELETE"} for f in kept], kept


class ReadingForm(forms.Form):
    season = forms.IntegerField(label=_("采暖季（开始年份）"),
                                widget=forms.TextInput(attrs={"size": 8, "placeholder": _("采暖季，如2022")}))
    unit = forms.ChoiceField(label=_("计量单位"), choices=Unit.choices)
    opening = forms.DecimalField(label=_("季初读数"), required=False, max_digits=18, decimal_places=6,
                                 widget=forms.TextInput(attrs={"size": 12, "inputmode": "decimal",
                                                               "placeholder": _("季初读数（可留空）")}),
                                 help_text=_("留空：取上一采暖季的季末读数"))
    closing = forms.DecimalField(label=_("季末读数"), max_digits=18, decimal_places=6,
                                 widget=forms.TextInput(attrs={"size": 10, "inputmode": "decimal",
                                                               "placeholder": _("季末读数")}))
    read_on = forms.DateField(label=_("抄表日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class DeclarationForm(forms.Form):
    """申报: what the village clerk types on a phone; the service judges the values."""

    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100,
                              widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    invoice_no = forms.CharField(label=_("发票号码"), max_length=40)
    purchase_yuan = forms.DecimalField(label=_("购置金额（元）"), max_digits=12, decimal_places=2, min_value=0,
                                       widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    installer = forms.CharField(label=_("安装单位"), max_length=80)
    installed_on = forms.DateField(label=_("安装日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    invoice = forms.FileField(label=_("发票照片"), required=False,
                              widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}))
    site = forms.FileField(label=_("现场照片"), required=False,
                           widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}))

    def __init__(self, *args, fixed_year=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].disabled = fixed_year

    def values(self) -> dict:
        data = self.cleaned_data
        return {"year": data["year"], "invoice_no": data["invoice_no"], "purchase_fen": int(data["purchase_yuan"] * 100),
                "installer": data["installer"], "installed_on": data["installed_on"]}

    def files_given(self) -> list:
        return [(kind, self.cleaned_data[kind]) for kind in ("invoice", "site") if self.cleaned_data.get(kind)]
