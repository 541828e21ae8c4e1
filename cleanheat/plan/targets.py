"""Targets and the schedule at every level: the city's targets per county (CountyPlan), broken down
to townships (as the county set them, or in proportion to households confirmed), and to villages
(in proportion within the township). Expected progress by a date follows the county's monthly
schedule, shared like the targets, so each level's figures add up to its parent's."""
from collections import defaultdict
from datetime import date

from cleanheat.ledger.rollup import counts_by_unit
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from . import breakdown
from .models import CountyPlan
from .schedule import planned_by


def county_parts(county_plan: CountyPlan, on: date) -> dict:
    """{"targets": {path: n}, "expected": {path: installed by `on`}} of one county."""
    targets = {t.heating_path: t.households for t in county_plan.targets.all()}
    series = defaultdict(list)
    for e in sorted(county_plan.schedule.all(), key=lambda e: e.checkpoint):
        series[e.heating_path].append((e.checkpoint, e.installed))
    start = county_plan.plan.works_start
    return {"targets": targets, "expected": {p: planned_by(series.get(p, []), start, on) for p in targets}}


def stated_split(county_plan: CountyPlan) -> dict | None:
    """{township prefix: {path: n}} as the county set them, or None (in proportion to households)."""
    stated = defaultdict(dict)
    for t in county_plan.township_targets.all():
        stated[t.township_code][t.heating_path] = t.households
    return dict(stated) or None


def households_by_path(region: Region, year: int | None = None) -> dict:
    """{child prefix: {path: active households}} (of plan year `year`) for every child unit of
    `region` (none: empty)."""
    length = codes.PREFIX_LENGTH[region.level + 1]
    counts = counts_by_unit(region.prefix, length, year=year)
    out = {}
    for child in region.children.all():
        per = defaultdict(int)
        for (path, _), n in counts.get(child.prefix, {}).items():
            per[path] += n
        out[child.prefix] = dict(per)
    return out


def _county_plan(plan, county_code: str) -> CountyPlan | None:
    return CountyPlan.objects.filter(plan=plan, county_code=county_code) \
        .select_related("plan").prefetch_related("targets", "schedule", "township_targets").first()


def parts_below(plan, region: Region, on: date) -> dict:
    """{child code: {"targets", "expected", "deadline"}} for the child units of `region` that have a
    target: counties of a city, townships of a county, villages of a township."""
    if plan is None or region.level >= codes.VILLAGE:
        return {}
    if region.level == codes.CITY:
        out = {}
        for cp in CountyPlan.objects.filter(plan=plan, county_code__startswith=region.prefix) \
                .select_related("plan").prefetch_related("targets", "schedule"):
            out[codes.full_code(cp.county_code)] = {**county_parts(cp, on), "deadline": cp.deadline}
        return out
    cp = _county_plan(plan, region.code[:6])
    if cp is None:
        return {}
    parts = county_parts(cp, on)
    stated = stated_split(cp)
    if region.level == codes.TOWNSHIP:
        county = Region.objects.get(code=codes.full_code(region.code[:6]))
        parts = breakdown.split(parts["targets"], parts["expected"], households_by_path(county, plan.year),
                                stated=stated).get(region.prefix, {"targets": {}, "expected": {}})
        stated = None  # villages: always in proportion to their households
    shares = breakdown.split(parts["targets"], parts["expected"], households_by_path(region, plan.year),
                            stated=stated)
    return {codes.full_code(prefix): {**share, "deadline": cp.deadline} for prefix, share in shares.items()}


def parts_of(plan, region: Region, on: date) -> dict | None:
    """The targets, expected progress and deadline of `region` itself (a city: its counties' sums)."""
    if plan is None:
        return None
    if region.level == codes.CITY:
        below = parts_below(plan, region, on).values()
        if not below:
            return None
        return {key: _sum_paths([p[key] for p in below]) for key in ("targets", "expected")} | \
            {"deadline": max(p["deadline"] for p in below)}
    parent = Region.objects.filter(code=region.parent_id).first() if region.parent_id else None
    return parts_below(plan, parent, on).get(region.code) if parent else None


def _sum_paths(dicts) -> dict:
    out = defaultdict(int)
    for d in dicts:
        for path, n in d.items():
            out[path] += n
    return dict(out)


def total(parts: dict, key: str, path: str | None = None) -> int:
    """Households of `parts[key]` for one path or all."""
    return sum(n for p, n in parts[key].items() if path in (None, p))
