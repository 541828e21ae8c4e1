"""Sizing and advice from the database: gathers climate, envelope, tariffs, the catalog and the
supply situation into arrays and runs the pure calculations (heatload, selection) on them —
for one household (the advisor page) or a whole region at once (the batch)."""
import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.db.models import Prefetch
from django.utils import timezone

from cleanheat.ledger.choices import HeatingPath, Structure
from cleanheat.limits import range_errors
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import code_q
from cleanheat.rules import checks
from cleanheat.rules.models import GasContract, HeatSource, RuleConfig

from . import heatload, selection
from .models import (ADVISOR_LIMITS, CLIMATE_LIMITS, ENVELOPE_FIELDS, ENVELOPE_LIMITS, AdvisorConfig, CatalogModel,
                     CountyClimate, EnvelopeType, GridCapacity)
from .catalog_rules import unusable_models

log = logging.getLogger(__name__)

PATHS = [HeatingPath.ELECTRIC.value, HeatingPath.GAS.value, HeatingPath.BIOMASS.value,
         HeatingPath.GROUND_SOURCE.value, HeatingPath.WATER_SOURCE.value, HeatingPath.SOLAR.value,
         HeatingPath.CENTRAL.value]
STRUCTURES = [s.value for s in Structure]
BOILERS = {"gas_boiler", "biomass_boiler"}
ELECTRIC_TYPES = {"ashp_water", "ashp_air", "direct", "storage", "ground_source", "water_source", "solar_assisted"}


class MissingData(Exception):
    """Sizing data (climate, envelope, parameters) has not been entered for this city."""


@dataclass
class Params:
    config: AdvisorConfig
    counties: list[str]
    county_index: dict[str, int]
    climate: list[CountyClimate]
    design_temp: np.ndarray
    heating_days: np.ndarray
    mean_temp: np.ndarray
    envelope: dict[str, np.ndarray]   # field → value per structure index
    models: list[CatalogModel] = field(default_factory=list)
    catalog: selection.Catalog | None = None
    skipped: set[int] = field(default_factory=set)   # ids of catalog models whose data is unusable

    @property
    def indoor(self) -> float:
        return float(self.config.indoor_temp_c)

    def county(self, village_code: str) -> int:
        return self.county_index.get(village_code[:6], 0)


def load_params(city_code: str = "140900000000", on: date | None = None) -> Params:
    year = (on or timezone.localdate()).year
    config = AdvisorConfig.objects.filter(city_code=city_code, year__lte=year).order_by("-year").first() \
        or AdvisorConfig.objects.filter(city_code=city_code).order_by("year").first()
    climates = {c.county_code: c for c in _sound(CountyClimate.objects.filter(city_code=city_code), CLIMATE_LIMITS)}
    envelopes = {e.structure: e for e in _sound(EnvelopeType.objects.all(), ENVELOPE_LIMITS)}
    if config is None or "" not in climates or not envelopes:
        raise MissingData("尚未录入选型测算参数（气候、围护结构或价格参数），请联系市级管理员在系统管理中录入")
    problems = selection.tariff_problems(config.tariffs, config.subsidies) + \
        [m for messages in range_errors(config, ADVISOR_LIMITS).values() for m in messages]
    if problems:
        log.warning("advisor config id %s unusable: %s", config.pk, problems)
        raise MissingData(f"{config.year}年选型与费用参数有误：{'；'.join(problems)}。请联系市级管理员在系统管理中修正")
    counties = [""] + sorted(code[:6] for code in Region.objects.filter(level=codes.COUNTY, code__startswith=city_code[:4])
                             .values_list("code", flat=True))
    rows = [climates.get(c) or climates[""] for c in counties]
    default_env = envelopes.get("other") or next(iter(envelopes.values()))
    env = {f: np.array([float(getattr(envelopes.get(s, default_env), f)) for s in STRUCTURES]) for f in ENVELOPE_FIELDS}
    params = Params(config=config, counties=counties, county_index={c: i for i, c in enumerate(counties)},
                    climate=rows, design_temp=np.array([float(c.design_temp_c) for c in rows]),
                    heating_days=np.array([float(c.heating_days) for c in rows]),
                    mean_temp=np.array([float(c.mean_temp_c) for c in rows]), envelope=env)
    params.models, params.catalog, params.skipped = build_catalog(params)
    return params


def _sound(rows, limits):
    """Reference rows inside their plausible ranges; one outside is logged and left out (a
    county's climate then falls back to the city's, a structure's envelope to the default)."""
    kept = []
    for row in rows:
        if errors := range_errors(row, limits):
            log.warning("%s id %s left out of sizing: %s", type(row).__name__, row.pk, errors)
        else:
            kept.append(row)
    return kept


def active_catalog():
    """The active catalog and the ids of the models left out of it: one entry with broken data
    is skipped and logged, never allowed to break every household's advice."""
    models = list(CatalogModel.objects.filter(active=True).select_related("lot").order_by("id"))
    skipped = set()
    for model, problems in unusable_models(models):
        log.warning("catalog model id %s (%s) skipped in sizing: %s", model.pk, model, problems)
        skipped.add(model.pk)
    return [m for m in models if m.pk not in skipped], skipped


def build_catalog(params: Params):
    models, skipped = active_catalog()
    tariffs = params.config.tariffs
    share = tariffs.get("electricity", {}).get("valley_share", {})
    c, m = len(params.counties), len(models)
    capacity, cop, power = np.full((c, m), np.nan), np.full((c, m), np.nan), np.full((c, m), np.nan)
    available = np.zeros((c, m), dtype=bool)
    for j, model in enumerate(models):
        for i, county in enumerate(params.counties):
            kw, point_cop, _ = selection.capacity_at(model.rating_points, params.design_temp[i], model.rated_capacity_kw)
            capacity[i, j] = kw
            cop[i, j] = np.nan if point_cop is None else point_cop
            if model.equipment_type in ELECTRIC_TYPES:
                efficiency = point_cop if point_cop else float(model.seasonal_efficiency)
                power[i, j] = kw / efficiency if efficiency else np.nan
            available[i, j] = model.lot.county_code in ("", county)
    boiler_ratio = float(tariffs.get("boiler_oversize_ratio", params.config.oversize_ratio))
    catalog = selection.Catalog(
        ids=np.array([mm.pk for mm in models], dtype=int),
        path=np.array([str(mm.path) for mm in models], dtype=object),
        kind=np.array([mm.equipment_type for mm in models], dtype=object),
        capacity=capacity, cop_design=cop,
        min_temp=np.array([np.nan if mm.min_operating_temp_c is None else float(mm.min_operating_temp_c)
                           for mm in models]),
        seasonal_eff=np.array([float(mm.seasonal_efficiency) for mm in models]),
        price=np.array([float(mm.unit_price + mm.install_price) for mm in models]),
        valley_share=np.array([float(share.get(mm.equipment_type, share.get("default", 0.0))) for mm in models]),
        oversize_ratio=np.array([boiler_ratio if mm.equipment_type in BOILERS else float(params.config.oversize_ratio)
                                 for mm in models]),
        available=available, electric_input=power)
    return models, catalog, skipped


def demand(params: Params, area, structure, retrofitted, gain_pct, county_idx):
    """(H W/K, design load kW, seasonal heat kWh) for arrays of houses."""
    s = np.array([STRUCTURES.index(x) if x in STRUCTURES else STRUCTURES.index("other") for x in np.atleast_1d(structure)])
    env = {f: values[s] for f, values in params.envelope.items()}
    h = heatload.envelope_h(np.atleast_1d(np.asarray(area, dtype=float)), env, retrofitted, gain_pct)
    county_idx = np.atleast_1d(county_idx)
    load = heatload.design_load_kw(h, params.indoor, params.design_temp[county_idx])
    dd = heatload.degree_days(params.heating_days[county_idx], params.indoor, params.mean_temp[county_idx])
    heat = heatload.seasonal_heat_kwh(h, dd, float(params.config.usage_factor))
    return h, load, heat


def demand_of_rows(params: Params, villages, area, structure, retrofitted, gain_pct):
    """(county index, design load, seasonal heat) for household columns as the database gives them
    (decimals, None for an unregistered gain)."""
    county = np.array([params.county(v) for v in villages])
    gain = np.array([np.nan if g is None else g for g in gain_pct], dtype=float)
    _, load, heat = demand(params, np.array(area, dtype=float), np.array(structure, dtype=object),
                           np.array(retrofitted), gain, county)
    return county, load, heat


@dataclass
class Supply:
    """What limits the paths a village can take (heat network, gas, grid)."""
    central_villages: set
    gas_villages: set
    grid_spare: dict

    def feasible(self, villages, paths=PATHS):
        villages = list(villages)
        matrix = np.ones((len(villages), len(paths)), dtype=bool)
        for j, path in enumerate(paths):
            if path == HeatingPath.CENTRAL:
                matrix[:, j] = [v in self.central_villages for v in villages]
            elif path == HeatingPath.GAS:
                matrix[:, j] = [v in self.gas_villages for v in villages]
        return matrix

    def spare(self, villages):
        return np.array([self.grid_spare.get(v, np.nan) for v in villages], dtype=float)


def load_supply(prefix: str = "", on: date | None = None) -> Supply:
    """Heat-network reach, gas coverage and grid capacity of the villages under `prefix`."""
    config = RuleConfig.objects.filter(city_code=(prefix[:4] or "1409").ljust(12, "0")).order_by("-year").first() \
        or RuleConfig()
    grades = config.grades()
    villages = Region.objects.filter(code_q("code", prefix)).only("code")
    central = set()
    for source in HeatSource.objects.prefetch_related(Prefetch("villages", queryset=villages)):
        problem = checks.heat_source({"name": source.name, "kind": source.kind, "grade": source.grade,
                                      "on_exit_list": source.on_exit_list,
                                      "flue_gas_cleaning": source.flue_gas_cleaning}, grades)
        if not problem:
            central.update(v.code for v in source.villages.all())
    gas = set()
    for contract in GasContract.objects.filter(pipeline_done=True, safety_passed=True) \
            .prefetch_related(Prefetch("villages", queryset=villages)):
        gas.update(v.code for v in contract.villages.all())
    grid = {code: float(kw) for code, kw in GridCapacity.objects.filter(code_q("village_id", prefix))
            .values_list("village_id", "spare_kw")}
    return Supply(central, gas, grid)


PATH_REASONS = {
    HeatingPath.CENTRAL.value: "本村不在符合要求（B级及以上、配备烟气净化、未列入淘汰）热源的供热管网覆盖范围内",
    HeatingPath.GAS.value: "本村没有管网已建成、安全验收已通过的供气合同（以气定改，§三(四)）",
}


def model_reason(code, *, cap, load, ratio, t_rating, design_temp, min_temp, power, spare) -> str:
    if code == selection.OVERSIZED:
        return f"设计工况制热量{cap:.1f} kW，超过设计负荷{load:.1f} kW的{ratio:g}倍，明显偏大"
    if code == selection.UNDERSIZED:
        where = f"{t_rating:g}℃工况" if t_rating is not None else "额定"
        return f"{where}制热量{cap:.1f} kW，小于设计热负荷{load:.1f} kW"
    if code == selection.NO_RATING:
        return f"没有不高于设计温度{design_temp:g}℃的额定工况数据，无法确认低温制热能力"
    if code == selection.TOO_COLD:
        return f"最低运行温度{min_temp:g}℃，高于本县供暖室外计算温度{design_temp:g}℃"
    if code == selection.GRID:
        return f"设计工况用电{power:.1f} kW，超过本村配电可用容量{spare:g} kW"
    if code == selection.NOT_TENDERED:
        return "不在本县可选用的招标范围内"
    return ""
