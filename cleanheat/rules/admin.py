from django.contrib import admin

from cleanheat.versions import StaleCheckAdmin

from .models import GasContract, HeatingSeason, HeatSource, RuleConfig


@admin.register(RuleConfig)
class RuleConfigAdmin(StaleCheckAdmin):
    list_display = ("city_code", "year", "outage_limit_days", "accepted_grades", "gas_index_m3_per_m2",
                    "retrofit_min_gain_pct")


@admin.register(HeatingSeason)
class HeatingSeasonAdmin(StaleCheckAdmin):
    list_display = ("city_code", "county_code", "start", "end")


@admin.register(GasContract)
class GasContractAdmin(StaleCheckAdmin):
    list_display = ("name", "gas_company", "county_code", "season_volume_m3", "pipeline_done", "safety_passed")
    filter_horizontal = ("villages",)


@admin.register(HeatSource)
class HeatSourceAdmin(StaleCheckAdmin):
    list_display = ("name", "kind", "county_code", "grade", "on_exit_list", "flue_gas_cleaning")
    list_filter = ("kind", "grade", "on_exit_list")
    autocomplete_fields = ("villages",)  # the heat network's reach: thousands of villages, searched by name
