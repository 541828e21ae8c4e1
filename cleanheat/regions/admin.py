from django.contrib import admin

from .models import Region, RegionAlias, RegionChange, RegionSource


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "level", "kind", "longitude", "latitude")
    list_filter = ("level",)
    search_fields = ("code", "name", "short_name")
    raw_id_fields = ("parent",)


@admin.register(RegionSource)
class RegionSourceAdmin(admin.ModelAdmin):
    list_display = ("city_code", "package", "version", "nbs_year", "loaded_at")


@admin.register(RegionChange)
class RegionChangeAdmin(admin.ModelAdmin):
    """Read only here: a change is recorded, previewed and applied on its page (/regions/changes/),
    which moves the households with it."""
    list_display = ("effective_on", "kind", "to_code", "to_name", "recorded_by", "applied_at")
    list_filter = ("kind",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegionAlias)
class RegionAliasAdmin(admin.ModelAdmin):
    list_display = ("old_code", "old_name", "region", "change")
    search_fields = ("old_code", "old_name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
