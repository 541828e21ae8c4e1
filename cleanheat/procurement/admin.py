"""Reference data of the procurement module, edited by the city's system administrators:
climate per county, envelopes per structure, tariffs and subsidy rules, grid capacity."""
from django.contrib import admin

from cleanheat.versions import StaleCheckAdmin, StaleCheckForm

from .forms import CatalogModelForm
from .models import AdvisorConfig, CatalogModel, CountyClimate, EnvelopeType, GridCapacity, TenderLot


@admin.register(CountyClimate)
class CountyClimateAdmin(StaleCheckAdmin):
    list_display = ["county_code", "station", "design_temp_c", "heating_days", "mean_temp_c", "estimated"]
    list_filter = ["estimated"]


@admin.register(EnvelopeType)
class EnvelopeTypeAdmin(StaleCheckAdmin):
    list_display = ["structure", "wall_u", "roof_u", "window_u", "floor_u", "air_changes", "retrofit_wall_u"]


@admin.register(AdvisorConfig)
class AdvisorConfigAdmin(StaleCheckAdmin):
    list_display = ["city_code", "year", "indoor_temp_c", "usage_factor", "oversize_ratio", "far_above_pct"]


@admin.register(GridCapacity)
class GridCapacityAdmin(StaleCheckAdmin):
    list_display = ["village", "spare_kw", "as_of"]
    raw_id_fields = ["village"]


@admin.register(TenderLot)
class TenderLotAdmin(StaleCheckAdmin):
    list_display = ["tender_no", "code", "name", "year", "county_code", "path"]


class CatalogAdminForm(StaleCheckForm, CatalogModelForm):
    """The catalog rules of the edit page, and the stale check of every register."""


@admin.register(CatalogModel)
class CatalogModelAdmin(StaleCheckAdmin):
    form = CatalogAdminForm
    list_display = ["model_name", "vendor", "equipment_type", "rated_capacity_kw", "unit_price", "active"]
    list_filter = ["equipment_type", "active"]
