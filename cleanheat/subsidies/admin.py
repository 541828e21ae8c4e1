"""Subsidy policies in the system administration, with their items and tilt rules inline. The same
checks as the policy page run here (each item and rule by its model's clean, the dates and
overlaps by the policy's); a version with approved entitlements is read-only (change it on the
policy page, which stores the change as a new version)."""
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.forms.models import BaseInlineFormSet

from cleanheat.audit.services import record

from . import policy_rules
from .models import (
    EnergyReading,
    Entitlement,
    Notice,
    NoticePeriod,
    Status,
    SubsidyItem,
    SubsidyPolicy,
    SubsidyTilt,
)


class ItemFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        seen = {}
        for i, form in enumerate(f for f in self.forms if f.has_changed() or f.instance.pk):
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            key = (data.get("kind"), data.get("path") or "", data.get("device") or "",
                   data.get("unit") or "" if data.get("kind") == "operating" else "")
            if key in seen:
                raise ValidationError(f"第{i + 1}个补贴项目与第{seen[key] + 1}个的适用范围相同（同一类别、取暖路径、设备类型、计量单位）")
            seen[key] = i


class ItemInline(admin.TabularInline):
    model = SubsidyItem
    formset = ItemFormSet
    extra = 0
    fields = ["position", *policy_rules.ITEM_FIELDS]


class TiltInline(admin.TabularInline):
    model = SubsidyTilt
    extra = 0
    fields = ["position", *policy_rules.TILT_FIELDS]


@admin.register(SubsidyPolicy)
class SubsidyPolicyAdmin(admin.ModelAdmin):
    """Not the registers' stale check (its hidden "version" token would clash with the policy's own
    version number); a policy is changed on the policy page, which versions it."""
    list_display = ["title", "region", "year", "version", "effective_from", "effective_until", "illustrative"]
    readonly_fields = ["version"]
    list_filter = ["year", "illustrative"]
    inlines = [ItemInline, TiltInline]
    raw_id_fields = ["region"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_used)

    def has_delete_permission(self, request, obj=None):
        return False   # versions are kept; a wrong one is replaced by the next

    def save_model(self, request, obj, form, change):
        if not change:
            obj.version = (SubsidyPolicy.objects.filter(region_id=obj.region_id, year=obj.year)
                           .aggregate(v=Max("version"))["v"] or 0) + 1
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        record("subsidy_policy", request=request, region_code=obj.region_id, target=str(obj)[:120],
               detail="系统管理中" + ("修改" if change else "新建"))

    def save_related(self, request, form, formsets, change):
        if change:  # its computed (unapproved) lines cite the items about to change: they are computed again
            Entitlement.objects.filter(policy=form.instance, status=Status.COMPUTED).delete()
        super().save_related(request, form, formsets, change)


@admin.register(EnergyReading)
class EnergyReadingAdmin(admin.ModelAdmin):
    list_display = ["household", "season", "unit", "opening", "closing", "read_on", "channel"]
    raw_id_fields = ["household", "recorded_by"]

    def has_add_permission(self, request):
        return False   # entered on the household page or imported: the meter's order is checked there

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ["household", "year", "kind", "season", "amount_fen", "status"]
    list_filter = ["year", "kind", "status"]
    raw_id_fields = ["household"]

    def has_add_permission(self, request):
        return False   # computed, never typed in

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ---- public notice (公示): the period is data; notices and objections are written on their pages

@admin.register(NoticePeriod)
class NoticePeriodAdmin(admin.ModelAdmin):
    """Days a village's notice stays up, per city or county (none: data/notice.json's default)."""
    list_display = ["region", "days"]
    raw_id_fields = ["region"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record("notice", request=request, region_code=obj.region_id, target=f"公示期：{obj.region_id}",
               detail=f"{obj.days}天")


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["village_code", "year", "starts_on", "ends_on", "period_days", "published_by"]
    list_filter = ["year"]

    def has_add_permission(self, request):
        return False   # published on the village's notice page (subsidies.notice.publish)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
