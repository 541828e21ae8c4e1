"""The progress dashboard's figures for one region (city, county or township), from the ledger."""
from collections import defaultdict
from datetime import date

from django.db.models import Count
from django.utils import timezone

from cleanheat.figures.cache import cached
from cleanheat.ledger.choices import STATE_ORDER, HeatingPath
from cleanheat.ledger.models import Household, LifecycleEvent
from cleanheat.ledger.rollup import counts_by_unit
from cleanheat.regions import codes
from cleanheat.regions.scope import code_q

from . import progress, targets
from . import schedule as scheduling
from .models import ScheduleEntry

INSTALLED = STATE_ORDER.index("installed")
ACCEPTED = STATE_ORDER.index("accepted")


def build(region, plan, today: date | None = None) -> dict:
    """The dashboard's figures; for today they are cached until the next write (cleanheat/figures)."""
    if today is None:
        return cached("plan.dashboard", (region.code, plan.pk if plan else ""),
                      lambda: _build(region, plan, timezone.localdate()))
    return _build(region, plan, today)


def _build(region, plan, today: date) -> dict:
    child_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    counts = counts_by_unit(region.prefix, child_length)
    below = targets.parts_below(plan, region, today)
    units, path_mix, node = [], defaultdict(int), defaultdict(int)
    for child in region.children.all().order_by("code"):
        per = counts.get(child.prefix, {})
        units.append(_unit(child.code, child.name, progress.reached(per), below.get(child.code), today))
        for (path, state), n in per.items():
            path_mix[path] += n
            node[(path, state)] += n
    own = _unit(region.code, region.name, progress.reached(node), targets.parts_of(plan, region, today), today)
    return {
        "region": {"code": region.code, "name": region.name, "level": region.level},
        "units": units,
        "own": own,
        "path_mix": [{"name": str(HeatingPath(p).label), "value": n, "path": p} for p, n in sorted(path_mix.items())],
        "prefix": region.prefix,
        "curve": curve(region, plan, today) if plan else None,
        "milestones": milestones(plan, today) if plan else [],
        "behind": sorted([u for u in units if u["behind"]], key=lambda u: -u["behind"]),
        "today": today.isoformat(),
        "target": own["target"],
    }


def _unit(code: str, name: str, reached: list[int], parts: dict | None, today: date) -> dict:
    """One unit's row: its target and the installations its schedule expects by today (None
    without a target), what the ledger says, and how far behind it is."""
    target = targets.total(parts, "targets") if parts else None
    expected = targets.total(parts, "expected") if parts else None
    return {
        "code": code, "name": name, "target": target, "households": reached[0],
        "installed": reached[INSTALLED], "accepted": reached[ACCEPTED],
        "rate": round(100 * reached[INSTALLED] / target, 1) if target else None,
        "expected": expected, "behind": max(0, expected - reached[INSTALLED]) if expected is not None else 0,
        "days_left": (parts["deadline"] - today).days if parts else None,
    }


def curve(region, plan, today):
    """Planned against actual cumulative installations at each month end of the works period."""
    points = scheduling.month_ends(plan.works_start, max(plan.assessment_end, plan.works_deadline))
    planned = [0] * len(points)
    entries = ScheduleEntry.objects.filter(county_plan__plan=plan, county_plan__county_code__startswith=region.prefix[:6]) \
        if region.level >= codes.COUNTY else ScheduleEntry.objects.filter(county_plan__plan=plan)
    series = defaultdict(list)
    for e in entries.order_by("checkpoint"):
        series[(e.county_plan_id, e.heating_path)].append((e.checkpoint, e.installed))
    if region.level <= codes.COUNTY:
        for s in series.values():
            for i, point in enumerate(points):
                planned[i] += scheduling.planned_by(s, plan.works_start, point)
    elif region.level == codes.TOWNSHIP:  # its share of the county's schedule
        for i, point in enumerate(points):
            parts = targets.parts_of(plan, region, point)
            planned[i] = targets.total(parts, "expected") if parts else 0
    # actual: households that moved forward into 已完工, by month of the move
    events = LifecycleEvent.objects.filter(to_state="installed", is_backstep=False)
    archived = list(Household.objects.filter(archived=True).values_list("id", flat=True)[:5001])
    if len(archived) <= 5000 and not Household.objects.exclude(code_q("village_id", region.prefix)).exists():
        events = events.exclude(household_id__in=archived)  # the whole ledger: no join needed
    else:
        events = events.filter(code_q("household__village_id", region.prefix), household__archived=False)
    by_month = defaultdict(int)  # grouped by day in SQL (no per-row date function), by month here
    for day, n in events.values("occurred_on").annotate(n=Count("id")).values_list("occurred_on", "n").order_by():
        by_month[(day.year, day.month)] += n
    first = (points[0].year, points[0].month)
    total = sum(n for month, n in by_month.items() if month < first)
    actual = []
    for point in points:
        total += by_month.get((point.year, point.month), 0)
        actual.append(total if date(point.year, point.month, 1) <= today else None)
    return {"labels": [p.isoformat() for p in points],
            "planned": planned if region.level <= codes.TOWNSHIP else None, "actual": actual}


def milestones(plan, today):
    items = [
        ("县级方案备案", plan.county_plans_due, plan.county_plans_due),
        ("组织实施", plan.works_start, plan.works_deadline),
        ("自查自纠", plan.self_check_start, plan.self_check_end),
        ("统一考核", plan.assessment_start, plan.assessment_end),
        ("年度总结报送", plan.annual_report_due, plan.annual_report_due),
    ]
    first, last = plan.county_plans_due, plan.annual_report_due
    span = (last - first).days or 1
    return [{"name": name, "start": a.isoformat(), "end": b.isoformat(),
             "left": round(100 * (a - first).days / span, 1), "width": max(1.0, round(100 * (b - a).days / span, 1)),
             "state": "done" if b < today else "now" if a <= today <= b else "todo"} for name, a, b in items] + \
        [{"name": f"今天 {today:%Y-%m-%d}", "today": True,
          "left": min(100.0, max(0.0, round(100 * (today - first).days / span, 1)))}]
