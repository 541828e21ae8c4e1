"""Equipment selection and the family's cost per heating path. Pure NumPy, no Django.

The advisor for one household and the batch for the whole city call the same `evaluate`: a
household × catalog-model matrix of "does it fit, and why not" and "what does it cost the family
per year". Tariffs and subsidy rules arrive as plain dicts (AdvisorConfig's JSON), e.g.

  tariffs = {"electricity": {"tiers": [[2160, 0.477], [4800, 0.527], [null, 0.777]], "base_kwh": 1500,
                             "peak": 0.5, "valley": 0.28, "valley_share": {"storage": 1.0, "default": 0.5}},
             "gas": {"tiers": [[null, 2.72]], "kwh_per_m3": 10.0},
             "pellets": {"price_per_t": 1000, "kwh_per_kg": 4.6},
             "central": {"fee_per_m2": 20}}
  subsidies = {"electric": {"equipment_rate": 0.67, "equipment_cap": 20000,
                            "operating_per_unit": 0.2, "operating_max_units": 12000, "operating_on": "valley"}, …}
"""
import math
from dataclasses import dataclass

import numpy as np

# Why a model does not fit a household (0 = it fits). Higher codes win when several apply.
FITS, OVERSIZED, UNDERSIZED, NO_RATING, TOO_COLD, GRID, NOT_TENDERED, INFEASIBLE = range(8)

CARRIER_OF_PATH = {"electric": "electricity", "ground_source": "electricity", "water_source": "electricity",
                   "solar": "electricity", "multi": "electricity", "gas": "gas", "biomass": "pellets",
                   "central": "heat"}


def capacity_at(points, design_temp, rated_kw=None):
    """Heating capacity and COP at the rating point nearest at or below the design temperature
    (a unit rated at −20 °C is judged by −20 °C data on a −12.3 °C design day, never by the
    warmer −12 °C point). Returns (kw, cop, rating_temp); (rated_kw, None, None) for equipment
    without temperature-dependent rating (boilers, electric heaters); (nan, nan, None) if the
    model has no rating point cold enough."""
    if not points:
        return (float(rated_kw) if rated_kw is not None else float("nan")), None, None
    usable = [p for p in points if float(p["t"]) <= design_temp + 1e-9]
    if not usable:
        return float("nan"), float("nan"), None
    best = max(usable, key=lambda p: float(p["t"]))
    return float(best["kw"]), (float(best["cop"]) if best.get("cop") is not None else None), float(best["t"])


def tiered_cost(units, tiers, base=0.0):
    """Marginal cost of `units` on top of `base` under increasing block tiers [[upper, price], …]
    (upper None = no limit): what heating adds to the bill a family pays anyway."""
    units = np.asarray(units, dtype=float)

    def total(x):
        cost, lower = np.zeros_like(x), 0.0
        for upper, price in tiers:
            top = np.inf if upper is None else float(upper)
            cost = cost + float(price) * np.clip(x - lower, 0.0, top - lower)
            lower = top
        return cost
    return total(units + base) - total(np.full_like(units, base))


def tou_cost(kwh, peak, valley, valley_share):
    kwh = np.asarray(kwh, dtype=float)
    return kwh * (valley_share * valley + (1.0 - valley_share) * peak)


def electricity_cost(kwh, tariff, valley_share):
    """The cheaper of the tiered tariff and the time-of-use tariff (a 煤改电 family may choose the
    peak/valley meter). Returns (cost, uses_tou)."""
    tiered = tiered_cost(kwh, tariff["tiers"], tariff.get("base_kwh", 0.0))
    tou = tou_cost(kwh, tariff["peak"], tariff["valley"], valley_share)
    return np.minimum(tiered, tou), tou < tiered


def equipment_subsidy(rule, price):
    rule = rule or {}
    return np.minimum(float(rule.get("equipment_rate", 0.0)) * np.asarray(price, dtype=float),
                      float(rule.get("equipment_cap", np.inf) or np.inf))


def operating_subsidy(rule, units):
    rule = rule or {}
    capped = np.minimum(np.asarray(units, dtype=float), float(rule.get("operating_max_units") or np.inf))
    return float(rule.get("operating_per_unit", 0.0)) * capped


@dataclass
class Catalog:
    """The tender catalog as arrays over M models; capacity/cop per county (rows) × model."""
    ids: np.ndarray            # catalog model ids
    path: np.ndarray           # heating path per model (str)
    kind: np.ndarray           # equipment type per model (str)
    capacity: np.ndarray       # C × M kW at each county's design temperature (nan: no rating point)
    cop_design: np.ndarray     # C × M COP at that point (nan when not applicable)
    min_temp: np.ndarray       # lowest operating temperature (nan: not limited)
    seasonal_eff: np.ndarray   # seasonal COP (electric) or thermal efficiency (boilers)
    price: np.ndarray          # unit + installation price
    valley_share: np.ndarray   # share of its electricity used in valley hours
    oversize_ratio: np.ndarray # largest acceptable capacity / design load, per model
    available: np.ndarray      # C × M: tendered for that county (city tender or its own)
    electric_input: np.ndarray # C × M kW drawn from the grid at the design temperature (nan: none)


@dataclass
class Result:
    reason: np.ndarray         # n × M fit codes
    units: np.ndarray          # n × M seasonal energy (kWh / m³ / t)
    energy_cost: np.ndarray    # n × M
    uses_tou: np.ndarray       # n × M
    equipment_subsidy: np.ndarray  # M
    operating_subsidy: np.ndarray  # n × M
    annual: np.ndarray         # n × M family's net cost per year (inf where it does not fit)


def seasonal_units(heat_kwh, seasonal_eff, carrier, tariffs):
    heat = np.asarray(heat_kwh, dtype=float)[:, None]
    delivered = heat / seasonal_eff[None, :]
    if carrier == "gas":
        return delivered / float(tariffs["gas"]["kwh_per_m3"])
    if carrier == "pellets":
        return delivered / (float(tariffs["pellets"]["kwh_per_kg"]) * 1000.0)
    return delivered


def evaluate(load_kw, heat_kwh, county_idx, design_temp, grid_spare_kw, feasible_paths, catalog: Catalog,
             tariffs, subsidies, lifetime_years) -> Result:
    """n households × M models. feasible_paths = (paths, n × P bool); grid_spare_kw per household
    (nan where the grid company has not reported the village's spare capacity)."""
    load = np.asarray(load_kw, dtype=float)[:, None]
    county_idx = np.asarray(county_idx, dtype=int)
    cap = catalog.capacity[county_idx]
    n, m = cap.shape
    reason = np.zeros((n, m), dtype=np.int8)
    reason = np.where(cap > catalog.oversize_ratio[None, :] * load, OVERSIZED, reason)
    reason = np.where(cap < load, UNDERSIZED, reason)
    reason = np.where(np.isnan(cap), NO_RATING, reason)
    too_cold = catalog.min_temp[None, :] > np.asarray(design_temp, dtype=float)[:, None]
    reason = np.where(too_cold, TOO_COLD, reason)
    spare = np.asarray(grid_spare_kw, dtype=float)[:, None]
    reason = np.where(catalog.electric_input[county_idx] > spare, GRID, reason)  # nan compares False
    reason = np.where(catalog.available[county_idx], reason, NOT_TENDERED)
    paths, feasible = feasible_paths
    column = np.array([paths.index(p) for p in catalog.path], dtype=int)
    reason = np.where(feasible[:, column], reason, INFEASIBLE).astype(np.int8)

    units = np.zeros((n, m))
    cost = np.zeros((n, m))
    tou = np.zeros((n, m), dtype=bool)
    op_sub = np.zeros((n, m))
    eq_sub = np.zeros(m)
    for path in set(catalog.path.tolist()):
        cols = np.flatnonzero(catalog.path == path)
        carrier = CARRIER_OF_PATH.get(path, "electricity")
        u = seasonal_units(heat_kwh, catalog.seasonal_eff[cols], carrier, tariffs)
        rule = subsidies.get(path) or subsidies.get(carrier) or {}
        if carrier == "electricity":
            share = catalog.valley_share[cols][None, :]
            c, t = electricity_cost(u, tariffs["electricity"], share)
            subsidised = u * share if rule.get("operating_on") == "valley" else u
        elif carrier == "gas":
            c, t = tiered_cost(u, tariffs["gas"]["tiers"]), np.zeros_like(u, dtype=bool)
            subsidised = u
        else:
            c, t = u * float(tariffs["pellets"]["price_per_t"]), np.zeros_like(u, dtype=bool)
            subsidised = u
        units[:, cols], cost[:, cols], tou[:, cols] = u, c, t
        op_sub[:, cols] = operating_subsidy(rule, subsidised)
        eq_sub[cols] = equipment_subsidy(rule, catalog.price[cols])
    annual = (catalog.price - eq_sub)[None, :] / float(lifetime_years) + cost - op_sub
    annual = np.where(reason == FITS, annual, np.inf)
    return Result(reason, units, cost, tou, eq_sub, op_sub, annual)


def central_annual(area, tariffs, subsidies):
    """A heat-network connection: the family pays the heating fee per m², less any subsidy."""
    fee = np.asarray(area, dtype=float) * float(tariffs["central"]["fee_per_m2"])
    rule = subsidies.get("central") or {}
    return fee - np.minimum(fee * float(rule.get("operating_rate", 0.0)), float(rule.get("operating_cap") or np.inf))


def best_per_path(result: Result, catalog: Catalog, paths):
    """n × P: the best (cheapest fitting) model index per path (−1 none) and its annual cost."""
    n = result.annual.shape[0]
    best_idx = np.full((n, len(paths)), -1, dtype=int)
    best_cost = np.full((n, len(paths)), np.inf)
    for j, path in enumerate(paths):
        cols = np.flatnonzero(catalog.path == path)
        if not len(cols):
            continue
        sub = result.annual[:, cols]
        k = np.argmin(sub, axis=1)
        cost = sub[np.arange(n), k]
        best_idx[:, j] = np.where(np.isfinite(cost), cols[k], -1)
        best_cost[:, j] = cost
    return best_idx, best_cost


# ---- what the calculation needs of a city's tariffs and subsidy rules (shape in the module docstring)

SUBSIDY_NUMBERS = ["equipment_rate", "equipment_cap", "operating_per_unit", "operating_max_units", "operating_rate",
                   "operating_cap"]


def _number_problem(where, value, *, positive=False):
    fine = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and (value > 0 if positive else value >= 0)
    return None if fine else f"{where}应为{'大于0' if positive else '不小于0'}的数字"


def _tier_problems(where, tiers):
    if not isinstance(tiers, list) or not tiers or not all(isinstance(t, list) and len(t) == 2 for t in tiers):
        return [f"{where}应为阶梯列表，如 [[2160, 0.477], [null, 0.777]]"]
    return [p for i, (upper, price) in enumerate(tiers, start=1)
            for p in (None if upper is None else _number_problem(f"{where}第{i}档上限", upper, positive=True),
                      _number_problem(f"{where}第{i}档价格", price)) if p]


def tariff_problems(tariffs, subsidies) -> list[str]:
    """What `evaluate` and `central_annual` would stumble on, in Chinese; [] when they can run."""
    if not isinstance(tariffs, dict) or not isinstance(subsidies, dict):
        return ["价格和补贴规则都应为JSON对象"]
    parts = {name: tariffs.get(name) for name in ("electricity", "gas", "pellets", "central")}
    problems = [f"价格中缺少“{name}”部分" for name, part in parts.items() if not isinstance(part, dict)]
    if problems:
        return problems
    electricity, gas, pellets = parts["electricity"], parts["gas"], parts["pellets"]
    shares = electricity.get("valley_share", {})
    checks = [*_tier_problems("电价阶梯", electricity.get("tiers")), *_tier_problems("气价阶梯", gas.get("tiers")),
              _number_problem("峰时电价peak", electricity.get("peak")),
              _number_problem("谷时电价valley", electricity.get("valley")),
              _number_problem("基础用电量base_kwh", electricity.get("base_kwh", 0)),
              _number_problem("燃气热值kwh_per_m3", gas.get("kwh_per_m3"), positive=True),
              _number_problem("颗粒燃料价格price_per_t", pellets.get("price_per_t")),
              _number_problem("颗粒燃料热值kwh_per_kg", pellets.get("kwh_per_kg"), positive=True),
              _number_problem("供热收费fee_per_m2", parts["central"].get("fee_per_m2")),
              _number_problem("锅炉选型容量上限boiler_oversize_ratio", tariffs.get("boiler_oversize_ratio", 1),
                              positive=True)]
    if not isinstance(shares, dict):
        checks.append("谷电比例valley_share应为对象，如 {\"storage\": 1.0, \"default\": 0.5}")
    else:
        checks += [_number_problem(f"谷电比例valley_share.{k}", v) or (f"谷电比例valley_share.{k}应在0到1之间"
                                                                   if v > 1 else None) for k, v in shares.items()]
    for path, rule in subsidies.items():
        if not isinstance(rule, dict):
            checks.append(f"补贴规则“{path}”应为对象")
            continue
        checks += [_number_problem(f"补贴规则“{path}”的{k}", rule[k]) for k in SUBSIDY_NUMBERS
                   if rule.get(k) is not None]
    return [p for p in checks if p]
