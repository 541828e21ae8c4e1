"""Sizing and advice for a whole village, county or city at once: one query for the households,
NumPy for the arithmetic (in chunks, to bound memory), one bulk write for the results."""
import time

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cleanheat import bulk
from cleanheat.ledger.models import EnergyDemand, Household
from cleanheat.regions.scope import code_q

from . import selection
from .models import Advice, Allocation
from .sizing import PATHS, demand, load_params, load_supply

CHUNK = 20_000
METHOD = "稳态传热+换气（GB 50736 §5.2），度日法采暖季需热量"


def installed_models(prefix: str) -> dict[int, int]:
    """household id → catalog model id of its active allocation."""
    return dict(Allocation.objects.filter(code_q("household__village_id", prefix), released_at__isnull=True)
                .values_list("household_id", "line__model_id"))


def size_region(prefix: str = "", progress=None, params=None) -> dict:
    """Compute and store EnergyDemand and Advice for every active household under `prefix`."""
    started = time.perf_counter()
    params = params or load_params((prefix[:4] or "1409").ljust(12, "0"))
    supply = load_supply(prefix)
    cfg, catalog = params.config, params.catalog
    rows = list(Household.objects.filter(code_q("village_id", prefix), archived=False)
                .values_list("pk", "village_id", "heated_area", "structure", "envelope_retrofitted",
                             "envelope_gain_pct", "heating_path").order_by())
    n = len(rows)
    if progress:
        progress("read", n, n)
    alloc = installed_models(prefix)
    model_col = {int(mid): j for j, mid in enumerate(catalog.ids)}
    path_col = {p: j for j, p in enumerate(PATHS)}
    demands, advices = [], []
    now = timezone.now()
    stats = {"households": n, "design_load_mw": 0.0, "seasonal_heat_gwh": 0.0, "undersized": 0, "no_fit": 0}
    for start in range(0, n, CHUNK):
        chunk = rows[start:start + CHUNK]
        ids, villages, area, structure, retro, gain, path = zip(*chunk)
        area = np.array(area, dtype=float)
        county = np.array([params.county(v) for v in villages])
        gain = np.array([np.nan if g is None else g for g in gain], dtype=float)
        _, load, heat = demand(params, area, np.array(structure, dtype=object), np.array(retro), gain, county)
        design_temp = params.design_temp[county]
        feasible = supply.feasible(villages)
        result = selection.evaluate(load, heat, county, design_temp, supply.spare(villages), (PATHS, feasible),
                                    catalog, cfg.tariffs, cfg.subsidies, cfg.lifetime_years)
        best_idx, best_cost = selection.best_per_path(result, catalog, PATHS)
        central = path_col["central"]
        best_cost[:, central] = np.where(feasible[:, central],
                                         selection.central_annual(area, cfg.tariffs, cfg.subsidies), np.inf)
        cheapest = np.argmin(best_cost, axis=1)
        cheapest_cost = best_cost[np.arange(len(chunk)), cheapest]
        own = np.array([path_col.get(p, -1) for p in path])
        own_idx = np.where(own >= 0, best_idx[np.arange(len(chunk)), np.maximum(own, 0)], -1)
        own_cost = np.where(own >= 0, best_cost[np.arange(len(chunk)), np.maximum(own, 0)], np.inf)
        inst = np.array([model_col.get(alloc.get(pk), -1) for pk in ids])
        inst_cap = np.where(inst >= 0, catalog.capacity[county, np.maximum(inst, 0)], np.nan)
        undersized = inst_cap < load  # nan (no unit, or no rating point) compares False
        undersized |= (inst >= 0) & np.isnan(inst_cap)
        stats["design_load_mw"] += float(load.sum()) / 1000
        stats["seasonal_heat_gwh"] += float(heat.sum()) / 1e6
        stats["undersized"] += int(undersized.sum())
        stats["no_fit"] += int(((own_idx < 0) & (own != central) & (own >= 0)).sum())
        for i, pk in enumerate(ids):
            demands.append(EnergyDemand(household_id=pk, design_load_kw=round(float(load[i]), 2),
                                        seasonal_heat_kwh=round(float(heat[i])), method=METHOD))
            advices.append(Advice(
                household_id=pk, village_code=villages[i],
                recommended_model_id=int(catalog.ids[own_idx[i]]) if own_idx[i] >= 0 else None,
                own_path_cost=round(float(own_cost[i])) if np.isfinite(own_cost[i]) else None,
                best_path=PATHS[cheapest[i]] if np.isfinite(cheapest_cost[i]) else "",
                best_path_cost=round(float(cheapest_cost[i])) if np.isfinite(cheapest_cost[i]) else None,
                installed_capacity_kw=round(float(inst_cap[i]), 2) if np.isfinite(inst_cap[i]) else None,
                undersized=bool(undersized[i]), computed_at=now))
        if progress:
            progress("validate", min(start + CHUNK, n), n)
    with transaction.atomic():
        EnergyDemand.objects.filter(code_q("household__village_id", prefix)).delete()
        Advice.objects.filter(code_q("village_code", prefix)).delete()
        bulk.insert(EnergyDemand, demands)
        if progress:
            progress("write", n // 2, n)
        bulk.insert(Advice, advices)
        if progress:
            progress("write", n, n)
    stats["seconds"] = round(time.perf_counter() - started, 2)
    return stats
