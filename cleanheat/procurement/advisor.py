"""The selection advisor for one household (§四.2, §三(六)): feasible paths, the catalog models
that fit its design load, and the family's yearly cost on each path after subsidies."""
from dataclasses import dataclass, field

import numpy as np

from cleanheat.ledger.choices import HeatingPath

from . import selection
from .models import ContractLine
from .services import line_counts
from .sizing import PATH_REASONS, PATHS, Params, Supply, demand, load_params, load_supply, model_reason

UNIT = {"electricity": "kWh", "gas": "m³", "pellets": "t", "heat": "㎡"}


@dataclass
class Option:
    model: object            # CatalogModel, or None for a heat-network connection
    capacity_kw: float
    rating_temp: float | None
    cop: float | None
    units: float
    unit: str
    energy_cost: float
    tariff: str
    price: float
    equipment_subsidy: float
    operating_subsidy: float
    annual: float
    lines: list = field(default_factory=list)   # county contract lines with room left

    @property
    def upfront_net(self):
        return self.price - self.equipment_subsidy

    @property
    def season_net(self):
        return self.energy_cost - self.operating_subsidy


@dataclass
class PathAdvice:
    path: str
    label: str
    feasible: bool
    reason: str
    options: list
    excluded: list
    far_above: bool = False

    @property
    def best(self):
        return self.options[0] if self.options else None


@dataclass
class Advice:
    household: object
    design_temp: float
    indoor_temp: float
    climate: object
    h_w_per_k: float
    design_load_kw: float
    seasonal_heat_kwh: float
    degree_days: float
    paths: list
    cheapest: str | None
    far_above_pct: int
    lifetime_years: int

    @property
    def chart(self):
        rows = [p for p in self.paths if p.best]
        return {"paths": [p.label for p in rows],
                "equipment": [round(p.best.upfront_net / self.lifetime_years) for p in rows],
                "energy": [round(p.best.energy_cost) for p in rows],
                "subsidy": [-round(p.best.operating_subsidy) for p in rows],
                "annual": [round(p.best.annual) for p in rows]}


def advise(household, params: Params | None = None, supply: Supply | None = None) -> Advice:
    params = params or load_params(household.village_id[:4].ljust(12, "0"))
    supply = supply or load_supply(household.village_id)
    config, catalog = params.config, params.catalog
    county = params.county(household.village_id)
    village = household.village_id
    gain = household.envelope_gain_pct
    h, load, heat = demand(params, [float(household.heated_area)], [household.structure],
                           [household.envelope_retrofitted], [np.nan if gain is None else gain], [county])
    design_temp = float(params.design_temp[county])
    feasible = supply.feasible([village])
    spare = supply.spare([village])
    result = selection.evaluate(load, heat, [county], [design_temp], spare, (PATHS, feasible), catalog,
                                config.tariffs, config.subsidies, config.lifetime_years)
    lines = _open_lines(household.village_id[:6])
    paths = []
    for j, path in enumerate(PATHS):
        label = str(HeatingPath(path).label)
        reason = "" if feasible[0, j] else PATH_REASONS.get(path, "")
        options, excluded = [], []
        if path == HeatingPath.CENTRAL:
            if feasible[0, j]:
                annual = float(selection.central_annual(float(household.heated_area), config.tariffs, config.subsidies))
                options.append(Option(None, float(load[0]), None, None, float(household.heated_area), "㎡",
                                      annual, "供热收费", 0.0, 0.0, 0.0, annual))
        else:
            for k in np.flatnonzero(catalog.path == path):
                model = params.models[k]
                code = int(result.reason[0, k])
                cap = float(catalog.capacity[county, k])
                _, cop, t_rating = selection.capacity_at(model.rating_points, design_temp, model.rated_capacity_kw)
                if code == selection.FITS:
                    options.append(Option(
                        model, cap, t_rating, cop, float(result.units[0, k]),
                        UNIT[selection.CARRIER_OF_PATH.get(path, "electricity")],
                        float(result.energy_cost[0, k]), _tariff(path, bool(result.uses_tou[0, k])),
                        float(catalog.price[k]), float(result.equipment_subsidy[k]),
                        float(result.operating_subsidy[0, k]), float(result.annual[0, k]), lines.get(model.pk, [])))
                elif code != selection.INFEASIBLE:
                    excluded.append((model, model_reason(
                        code, cap=cap, load=float(load[0]), ratio=float(catalog.oversize_ratio[k]), t_rating=t_rating,
                        design_temp=design_temp, min_temp=float(catalog.min_temp[k]),
                        power=float(catalog.electric_input[county, k]), spare=float(spare[0]))))
            if feasible[0, j] and not options and not excluded:
                reason = "本县可选用的招标目录中没有此路径的设备"
        options.sort(key=lambda o: o.annual)
        paths.append(PathAdvice(path, label, bool(feasible[0, j]), reason, options, excluded))
    with_options = [p for p in paths if p.best]
    cheapest = min(with_options, key=lambda p: p.best.annual) if with_options else None
    for p in with_options:
        p.far_above = p.best.annual > cheapest.best.annual * (1 + config.far_above_pct / 100)
    climate = params.climate[county]
    dd = float(params.heating_days[county] * (params.indoor - params.mean_temp[county]))
    return Advice(household, design_temp, params.indoor, climate, float(h[0]), float(load[0]), float(heat[0]), dd,
                  paths, cheapest.path if cheapest else None, config.far_above_pct, config.lifetime_years)


def _tariff(path, uses_tou):
    carrier = selection.CARRIER_OF_PATH.get(path, "electricity")
    if carrier == "electricity":
        return "峰谷分时电价" if uses_tou else "阶梯电价"
    return {"gas": "居民气价", "pellets": "颗粒燃料价格"}.get(carrier, "")


def _open_lines(county_code):
    """Signed contract lines of the county with units left: {model id: [(line, left)]}."""
    lines = list(ContractLine.objects.filter(contract__county_code=county_code, contract__status="signed")
                 .select_related("contract"))
    counts = line_counts(lines)
    out = {}
    for line in lines:
        if counts[line.pk]["left"] > 0:
            out.setdefault(line.model_id, []).append((line, counts[line.pk]["left"]))
    return out
