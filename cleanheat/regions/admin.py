from django.contrib import admin

from .models import Region, RegionSource


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "level", "kind")
    list_filter = ("level",)
    search_fields = ("code", "name", "short_name")
    raw_id_fields = ("parent",)


@admin.register(RegionSource)
class RegionSourceAdmin(admin.ModelAdmin):
    list_display = ("city_code", "package", "version", "nbs_year", "loaded_at")
