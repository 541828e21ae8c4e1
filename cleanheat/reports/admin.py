"""The reports app's data tables, editable by administrators (each save runs the model's clean(): a
factor or figure without a source is refused)."""
from django.contrib import admin

from .models import (
    CoalBanVillage,
    CoalUse,
    EmissionFactor,
    EmissionSettings,
    PathEnergy,
)


@admin.register(EmissionFactor)
class EmissionFactorAdmin(admin.ModelAdmin):
    list_display = ["carrier", "pollutant", "kg_per_unit", "year", "estimated", "source"]
    list_filter = ["carrier", "pollutant", "estimated"]


@admin.register(EmissionSettings)
class EmissionSettingsAdmin(admin.ModelAdmin):
    list_display = ["city_code", "basis", "coal_mj_per_kg", "stove_efficiency"]


@admin.register(CoalUse)
class CoalUseAdmin(admin.ModelAdmin):
    list_display = ["city_code", "county_code", "t_per_household", "year", "source"]


@admin.register(PathEnergy)
class PathEnergyAdmin(admin.ModelAdmin):
    list_display = ["city_code", "heating_path", "carrier", "unit", "mj_per_unit", "efficiency"]


@admin.register(CoalBanVillage)
class CoalBanVillageAdmin(admin.ModelAdmin):
    list_display = ["village_code", "zone", "since", "until", "document_no"]
    readonly_fields = ["marked_by", "marked_at"]
