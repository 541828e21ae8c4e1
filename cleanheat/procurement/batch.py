"""Sizing and advice for a whole village, county or city at once: one query for the households,
NumPy for the arithmetic (in chunks, to bound memory), one bulk write for the results."""
import time
from itertools import repeat

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, FloatField, Max, Q, Sum
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from cleanheat import bulk
from cleanheat.audit.services import record
from cleanheat.figures.cache import cached
from cleanheat.jobs import services as jobs
from cleanheat.jobs.models import Job
from cleanheat.ledger.models import EnergyDemand, Household
from cleanheat.regions import codes
from cleanheat.regions.scope import code_q, region_named, user_prefix

from . import selection
from .models import Advice, Allocation
from .sizing import PATHS, MissingData, demand_of_rows, load_params, load_supply

CHUNK = 20_000
METHOD = "稳态传热+换气（GB 50736 §5.2），度日法采暖季需热量"


def installed_models(prefix: str) -> dict[int, int]:
    """household id → catalog model id of its active allocation."""
    return dict(Allocation.objects.filter(code_q("household__village_id", prefix), released_at__isnull=True)
                .values_list("household_id", "line__model_id"))


def _ints_or_none(values, missing=None):
    """Array → list of ints, with None where the value is not finite (or equals `missing`)."""
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) if missing is None else values != missing
    return [int(round(v)) if k else None for v, k in zip(values.tolist(), ok.tolist())]


def _floats_or_none(values):
    values = np.round(np.asarray(values, dtype=float), 2)
    return [v if v == v else None for v in values.tolist()]


def size_region(prefix: str = "", progress=None, params=None, household_ids=None) -> dict:
    """Compute and store EnergyDemand and Advice for every active household under `prefix`
    (or only for `household_ids`, as after an allocation)."""
    started = time.perf_counter()
    params = params or load_params((prefix[:4] or "1409").ljust(12, "0"))
    supply = load_supply(prefix)
    cfg, catalog = params.config, params.catalog
    households = Household.objects.filter(code_q("village_id", prefix), archived=False)
    if household_ids is not None:
        households = households.filter(pk__in=household_ids)
    # the area as a float in SQL: Decimal conversion of 200k values would cost more than the arithmetic
    rows = list(households.annotate(area=Cast("heated_area", FloatField()))
                .values_list("pk", "village_id", "area", "structure", "envelope_retrofitted",
                             "envelope_gain_pct", "heating_path").order_by())
    n = len(rows)
    if progress:
        progress("read", n, n)
    alloc = installed_models(prefix)
    model_col = {int(mid): j for j, mid in enumerate(catalog.ids)}
    path_col = {p: j for j, p in enumerate(PATHS)}
    m_models = len(catalog.ids)
    demand_rows, advice_rows = [], []
    computed_at = EnergyDemand._meta.get_field("computed_at").get_db_prep_save(timezone.now(), connection)
    stats = {"households": n, "design_load_mw": 0.0, "seasonal_heat_gwh": 0.0, "undersized": 0, "no_fit": 0,
             "skipped_models": len(params.skipped)}
    for start in range(0, n, CHUNK):
        chunk = rows[start:start + CHUNK]
        m = len(chunk)
        ids, villages, area, structure, retro, gain, path = zip(*chunk)
        area = np.array(area, dtype=float)
        county, load, heat = demand_of_rows(params, villages, area, structure, retro, gain)
        design_temp = params.design_temp[county]
        feasible = supply.feasible(villages)
        result = selection.evaluate(load, heat, county, design_temp, supply.spare(villages), (PATHS, feasible),
                                    catalog, cfg.tariffs, cfg.subsidies, cfg.lifetime_years)
        best_idx, best_cost = selection.best_per_path(result, catalog, PATHS)
        central = path_col["central"]
        best_cost[:, central] = np.where(feasible[:, central],
                                         selection.central_annual(area, cfg.tariffs, cfg.subsidies), np.inf)
        rows_ = np.arange(m)
        cheapest = np.argmin(best_cost, axis=1)
        cheapest_cost = best_cost[rows_, cheapest]
        own = np.array([path_col.get(p, -1) for p in path])
        own_idx = np.where(own >= 0, best_idx[rows_, np.maximum(own, 0)], -1)
        own_cost = np.where(own >= 0, best_cost[rows_, np.maximum(own, 0)], np.inf)
        inst = np.array([model_col.get(alloc.get(pk), -1) for pk in ids])
        inst_cap = np.where(inst >= 0, catalog.capacity[county, np.maximum(inst, 0)], np.nan)
        undersized = inst_cap < load  # nan (no unit, or no rating point) compares False
        undersized |= (inst >= 0) & np.isnan(inst_cap)
        stats["design_load_mw"] += float(load.sum()) / 1000
        stats["seasonal_heat_gwh"] += float(heat.sum()) / 1e6
        stats["undersized"] += int(undersized.sum())
        stats["no_fit"] += int(((own_idx < 0) & (own != central) & (own >= 0)).sum())
        demand_rows += zip(ids, np.round(load, 2).tolist(), np.rint(heat).tolist(), repeat(METHOD, m),
                           repeat(computed_at, m))
        advice_rows += zip(ids, villages, _ints_or_none(np.where(own_idx >= 0, catalog.ids[np.maximum(own_idx, 0)] if m_models else -1, -1), -1),
                           _ints_or_none(own_cost), [PATHS[j] if np.isfinite(c) else "" for j, c in
                                                     zip(cheapest.tolist(), cheapest_cost.tolist())],
                           _ints_or_none(cheapest_cost), _floats_or_none(inst_cap), undersized.tolist(),
                           repeat(computed_at, m))
        if progress:
            progress("validate", min(start + CHUNK, n), n)
    with transaction.atomic():
        old_demand = EnergyDemand.objects.filter(code_q("household__village_id", prefix))
        old_advice = Advice.objects.filter(code_q("village_code", prefix))
        if household_ids is not None:
            old_demand, old_advice = old_demand.filter(household_id__in=household_ids), old_advice.filter(
                household_id__in=household_ids)
        old_demand.delete()
        old_advice.delete()
        bulk.insert_rows(EnergyDemand, ["household_id", "design_load_kw", "seasonal_heat_kwh", "method",
                                        "computed_at"], demand_rows)
        if progress:
            progress("write", n // 2, n)
        bulk.insert_rows(Advice, ["household_id", "village_code", "recommended_model_id", "own_path_cost",
                                  "best_path", "best_path_cost", "installed_capacity_kw", "undersized",
                                  "computed_at"], advice_rows)
        if progress:
            progress("write", n, n)
    stats["seconds"] = round(time.perf_counter() - started, 2)
    return stats


def summary(stats: dict) -> str:
    skipped = (f"；目录中{stats['skipped_models']}个型号的数据不完整，已在计算中跳过，请在设备目录中修正"
               if stats.get("skipped_models") else "")
    return (f"已测算{stats['households']}户：设计热负荷合计{stats['design_load_mw']:.1f} MW，采暖季需热量"
            f"{stats['seasonal_heat_gwh']:.1f} GWh；已分配设备容量不足{stats['undersized']}户；用时{stats['seconds']}秒"
            f"{skipped}")


def start_job(user, code: str = ""):
    """Batch sizing of a region (its 12-digit code or prefix; none: the user's whole area) as a
    background job with a progress bar (the page and the API start it). The code is checked
    before any job exists: a malformed one is refused, an unknown or out-of-scope one answers 404."""
    region = region_named(user, code)
    prefix, label = (region.prefix, region.name) if region else ("", "全市")
    job = Job.objects.create(kind="sizing", user=user, region_scope=user_prefix(user), params={"prefix": prefix},
                             filename=f"选型测算：{label}")
    jobs.start(job, run_job, retry_safe=True)  # one transaction replaces the region's sizing
    return job


def run_job(job):
    jobs.save(job, status="running")
    stats = size_region(job.params.get("prefix", ""), progress=jobs.reporter(job.pk))
    message = summary(stats)
    jobs.save(job, status="done", counts=stats, message=message, finished_at=timezone.now())
    record("sizing", user=job.user, region_code=job.params.get("prefix", ""), target=job.filename, detail=message)


def undersized(prefix: str = "") -> list[tuple]:
    """Households whose allocated unit cannot cover their design load at the county's design
    temperature, computed afresh: (id, household no, village, load kW, capacity kW or nan, model)."""
    try:
        params = load_params((prefix[:4] or "1409").ljust(12, "0"))
    except MissingData:
        return []
    catalog = params.catalog
    rows = list(Allocation.objects.filter(code_q("household__village_id", prefix), released_at__isnull=True,
                                          household__archived=False)
                .exclude(line__model_id__in=params.skipped)   # their data cannot be judged; the page says so
                .values_list("household_id", "household__household_no", "household__village_id",
                             "household__heated_area", "household__structure", "household__envelope_retrofitted",
                             "household__envelope_gain_pct", "line__model_id", "line__model__model_name"))
    if not rows:
        return []
    ids, numbers, villages, area, structure, retro, gain, model_ids, names = zip(*rows)
    county, load, _ = demand_of_rows(params, villages, area, structure, retro, gain)
    column = {int(mid): j for j, mid in enumerate(catalog.ids)}
    cols = np.array([column.get(m, -1) for m in model_ids])
    cap = np.where(cols >= 0, catalog.capacity[county, np.maximum(cols, 0)], np.nan)
    short = (cap < load) | np.isnan(cap)
    return [(ids[i], numbers[i], villages[i], float(load[i]), float(cap[i]), names[i]) for i in np.flatnonzero(short)]


def sizing_rollup(region, *, only_if_cached: bool = False) -> dict | None:
    """The stored batch results per child unit of `region` (and its total): households sized,
    design load, seasonal heat, allocated units too small, households with no fitting model
    (cached until the next write; only_if_cached: None unless cached)."""
    unit_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    found = cached("procurement.sizing", (region.prefix, unit_length),
                   lambda: _sizing_units(region.prefix, unit_length), only_if_cached=only_if_cached)
    if found is None:
        return None
    units, computed_at = found
    total = {k: sum(u.get(k, 0) for u in units.values()) for k in ("households", "load_mw", "heat_gwh", "undersized",
                                                                   "no_fit")}
    children = [{"region": child, **units.get(child.prefix, {})} for child in region.children.all()] \
        if region.level < codes.VILLAGE else []
    return {"children": children, "total": total, "computed_at": computed_at}


def _sizing_units(prefix: str, unit_length: int) -> tuple[dict, object]:
    demand_rows = (EnergyDemand.objects.filter(code_q("household__village_id", prefix), household__archived=False)
                   .annotate(unit=Substr("household__village_id", 1, unit_length)).values("unit")
                   .annotate(n=Count("pk"), load=Sum("design_load_kw"), heat=Sum("seasonal_heat_kwh")).order_by())
    advice_rows = (Advice.objects.filter(code_q("village_code", prefix), household__archived=False)
                   .annotate(unit=Substr("village_code", 1, unit_length)).values("unit")
                   .annotate(short=Count("pk", filter=Q(undersized=True)),
                             no_fit=Count("pk", filter=Q(recommended_model__isnull=True)
                                          & ~Q(household__heating_path="central")),
                             at=Max("computed_at")).order_by())
    units = {}
    for r in demand_rows:
        units[r["unit"]] = {"households": r["n"], "load_mw": float(r["load"] or 0) / 1000,
                            "heat_gwh": float(r["heat"] or 0) / 1e6, "undersized": 0, "no_fit": 0}
    computed_at = None
    for r in advice_rows:
        row = units.setdefault(r["unit"], {"households": 0, "load_mw": 0.0, "heat_gwh": 0.0})
        row.update(undersized=r["short"], no_fit=r["no_fit"])
        computed_at = max(filter(None, [computed_at, r["at"]]), default=None)
    return units, computed_at
