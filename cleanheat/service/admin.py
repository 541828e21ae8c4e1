"""SLA targets, cause codes, SMS templates and repair teams are data: edited here by a superuser."""
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import sla
from .models import CauseCode, RepairTeam, SlaTarget, SmsTemplate


class SlaTargetForm(admin.ModelAdmin.form):
    def clean(self):
        data = super().clean()
        target = sla.Target(data.get("respond_minutes"), data.get("onsite_minutes"), data.get("fix_minutes"),
                            float(data.get("at_risk_fraction") or 0))
        problems = target.problems()
        if problems:
            raise ValidationError(list(problems.values()))
        return data


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    form = SlaTargetForm
    list_display = ("category", "severity", "cold", "respond_minutes", "onsite_minutes", "fix_minutes",
                    "at_risk_fraction", "escalate_county_minutes", "escalate_city_minutes")


@admin.register(CauseCode)
class CauseCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "active")


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    list_display = ("key", "text")


@admin.register(RepairTeam)
class RepairTeamAdmin(admin.ModelAdmin):
    list_display = ("name", "organisation", "region_code", "phone")
    list_filter = ("organisation__kind",)
