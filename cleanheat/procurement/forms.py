from django import forms
from django.utils.translation import gettext_lazy as _

from cleanheat.formhelp import name_required
from cleanheat.versions import keep_shown_values

from .models import CatalogModel, CountyContract
from .catalog_rules import CATALOG_VALUES, catalog_problems


class CatalogModelForm(forms.ModelForm):
    """The web edit form and the admin's: the catalog rules of the service, on each field."""
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        keep_shown_values(self)
        name_required(self)

    class Meta:
        model = CatalogModel
        fields = ["vendor", "equipment_type", "model_name", "rated_capacity_kw", "rating_points", "seasonal_efficiency",
                  "min_operating_temp_c", "efficiency_grade", "unit_price", "install_price", "warranty_years",
                  "repair_contact", "active"]
        widgets = {"rating_points": forms.Textarea(attrs={"rows": 3, "cols": 60})}
        help_texts = {"rating_points": _('如 [{"t": -12, "kw": 10, "cop": 2.7}, {"t": -20, "kw": 8.2, "cop": 2.2}]')}

    def clean(self):
        cleaned = super().clean()
        values = {name: cleaned[name] if name in cleaned else getattr(self.instance, name) for name in CATALOG_VALUES}
        refused = set(self.errors)   # a field Django refused already says why
        for problem in catalog_problems(values):
            if problem.field not in refused:
                self.add_error(problem.field if problem.field in self.fields else None, str(problem))
        return cleaned


class ContractForm(forms.ModelForm):
    class Meta:
        model = CountyContract
        fields = ["county_code", "contract_no", "vendor", "title", "signed_on", "delivery_until", "status", "note"]
        widgets = {"signed_on": forms.DateInput(attrs={"type": "date"}),
                   "delivery_until": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, counties=(), vendors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county_code"] = forms.ChoiceField(label=_("县（市、区）"), choices=[(c.code[:6], c.name) for c in counties])
        self.fields["vendor"] = forms.ChoiceField(label=_("供货企业（中标企业）"), choices=[(v, v) for v in vendors])
        name_required(self)

    def validate_unique(self):
        pass  # the service names the duplicate in its own words


class AllocateForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=200)
