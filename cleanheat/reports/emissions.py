"""Emissions avoided by clean heating, and the calibration of seasonal heat against surveyed coal
use. Pure Python, no Django: the page, the annual report, the benchmark and the worked example in
docs/emissions-method.md run the same arithmetic.

Method (per household and heating season; docs/emissions-method.md has a worked example):
  Coal displaced  C (t)   = the county's surveyed coal use per household-season   (basis "survey")
                          = E · 3.6 / (η_stove · H_coal) / 1000                   (basis "demand")
                            where E (kWh) is the household's seasonal heat demand from the equipment
                            sizing, η_stove the old stove's efficiency, H_coal the coal's heating value
                            (MJ/kg); 3.6 MJ = 1 kWh.
  Heat delivered  Q (kWh) = C · 1000 · H_coal · η_stove / 3.6  (basis "survey": the heat the coal gave)
                          = E                                  (basis "demand")
  New energy      U       = Q · 3.6 / (η_new · h_unit)   in the carrier's unit (kWh, m³, t)
                            η_new is the seasonal efficiency (a COP for heat pumps), h_unit the MJ one
                            unit of the carrier holds (3.6 for a kWh).
  Emissions       e_p     = C · f_coal,p − U · f_carrier,p   for each pollutant p (kg), the factors f in
                            kg per unit (per t of coal, per kWh, per m³, per t of pellets).
  A sum over households is the same formula on summed C and Q, because every term is linear in them:
  totals are computed per (county, path) from counts and summed demands, never household by household.

Sources of the default figures (all of them data, editable, each with its source and year):
  Shanxi rural household survey (环境科学研究, 2015 season): 3.4 t coal per household-season, 4.4 t in
  the severe-cold north; implied factors PM2.5 7.0, SO₂ 15.3, NOx 1.6, PM 10.0 kg/t.
  CO₂ of raw coal 23.2 GJ/t × 89.0 tCO₂/TJ ≈ 2.06 t/t; natural gas ≈ 2.0 kg/m³; 华北电网 0.6361 kg/kWh.
  Raw coal 20.908 MJ/kg (GB/T 2589); old stove efficiency 0.7 (Shandong rural case study).
"""
from dataclasses import dataclass

POLLUTANTS = ("co2", "so2", "nox", "pm25", "pm10")
MJ_PER_KWH = 3.6


@dataclass(frozen=True)
class Carrier:
    """The energy a heating path uses: its seasonal efficiency, the MJ in one unit, and the kg of each
    pollutant per unit (missing pollutants count as zero)."""
    efficiency: float
    mj_per_unit: float
    factors: dict


@dataclass(frozen=True)
class Coal:
    """The coal a household burned: heating value (MJ/kg), old stove efficiency, kg per t."""
    mj_per_kg: float
    stove_efficiency: float
    factors: dict


def heat_from_coal_kwh(coal_t: float, coal: Coal) -> float:
    """The useful heat `coal_t` tonnes of coal gave in the old stove."""
    return coal_t * 1000.0 * coal.mj_per_kg * coal.stove_efficiency / MJ_PER_KWH


def coal_from_heat_t(heat_kwh: float, coal: Coal) -> float:
    """The coal the old stove would have burned to give `heat_kwh`."""
    return heat_kwh * MJ_PER_KWH / (coal.stove_efficiency * coal.mj_per_kg) / 1000.0


def energy_use(heat_kwh: float, carrier: Carrier) -> float:
    """Units of the carrier (kWh, m³, t) to deliver `heat_kwh`."""
    if not carrier.efficiency or not carrier.mj_per_unit:
        return 0.0
    return heat_kwh * MJ_PER_KWH / (carrier.efficiency * carrier.mj_per_unit)


def emitted(amount: float, factors: dict) -> dict:
    """kg of each pollutant from `amount` units at `factors` (kg per unit)."""
    return {p: amount * float(factors.get(p, 0.0)) for p in POLLUTANTS}


def avoided(coal_t: float, heat_kwh: float, coal: Coal, carrier: Carrier) -> dict:
    """The season's figures for households that displaced `coal_t` t of coal and now get `heat_kwh`
    from `carrier`: coal (t), heat (kWh), new energy (units), and kg of each pollutant for the coal,
    the new energy and the difference (avoided; negative when the new energy emits more)."""
    units = energy_use(heat_kwh, carrier)
    before, after = emitted(coal_t, coal.factors), emitted(units, carrier.factors)
    return {"coal_t": coal_t, "heat_kwh": heat_kwh, "energy": units, "before": before, "after": after,
            "avoided": {p: before[p] - after[p] for p in POLLUTANTS}}


def for_households(households: int, coal: Coal, carrier: Carrier, *, basis: str, surveyed_t: float,
                   demand_kwh: float = 0.0, with_demand: int = 0) -> dict:
    """avoided() for `households` households of one county and path. Basis "survey": each displaced
    the county's surveyed coal per household `surveyed_t`. Basis "demand": the `with_demand` of them
    with a seasonal heat demand from the sizing displaced the coal for their summed `demand_kwh`; the
    others fall back to the survey."""
    if basis == "demand":
        rest = max(0, households - with_demand) * surveyed_t
        coal_t = coal_from_heat_t(demand_kwh, coal) + rest
        heat = demand_kwh + heat_from_coal_kwh(rest, coal)
    else:
        coal_t = households * surveyed_t
        heat = heat_from_coal_kwh(coal_t, coal)
    return avoided(coal_t, heat, coal, carrier)


def add(total: dict, part: dict) -> dict:
    """Sum of two avoided() results (a fresh dict)."""
    out = {k: total.get(k, 0.0) + part[k] for k in ("coal_t", "heat_kwh", "energy")}
    for group in ("before", "after", "avoided"):
        out[group] = {p: total.get(group, {}).get(p, 0.0) + part[group][p] for p in POLLUTANTS}
    return out


def zero() -> dict:
    return {"coal_t": 0.0, "heat_kwh": 0.0, "energy": 0.0,
            **{g: dict.fromkeys(POLLUTANTS, 0.0) for g in ("before", "after", "avoided")}}


# ---- Calibration: the sizing's seasonal heat next to the surveyed coal use

def calibration(mean_demand_kwh: float, surveyed_t: float, coal: Coal, usage_factor: float) -> dict:
    """ratio = the sizing's mean seasonal heat per household ÷ the heat the surveyed coal gave
    (heat_from_coal_kwh); a ratio above 1 means the sizing assumes more heat than households used.
    The suggested usage factor scales the current one so that the two agree (kept in (0.01, 1])."""
    surveyed_heat = heat_from_coal_kwh(surveyed_t, coal)
    ratio = mean_demand_kwh / surveyed_heat if surveyed_heat else None
    suggested = None
    if ratio:
        suggested = round(min(1.0, max(0.01, usage_factor / ratio)), 2)
    return {"demand_kwh": mean_demand_kwh, "surveyed_heat_kwh": surveyed_heat, "ratio": ratio,
            "suggested_usage_factor": suggested}
