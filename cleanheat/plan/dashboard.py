"""The progress dashboard's figures for one region (city, county or township), from the ledger."""
from collections import defaultdict
from datetime import date

from django.db.models import Count
from django.utils import timezone

from cleanheat.ledger.choices import STATE_ORDER, HeatingPath
from cleanheat.ledger.models import Household, LifecycleEvent
from cleanheat.ledger.rollup import counts_by_unit
from cleanheat.regions import codes
from cleanheat.regions.scope import code_q

from . import progress
from . import schedule as scheduling
from .models import ScheduleEntry

INSTALLED = STATE_ORDER.index("installed")
ACCEPTED = STATE_ORDER.index("accepted")


def build(region, plan, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    child_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    counts = counts_by_unit(region.prefix, child_length)
    targets = progress.county_targets(plan, region.prefix) if plan and region.level <= codes.COUNTY else {}
    units, path_mix = [], defaultdict(int)
    for child in region.children.all().order_by("code"):
        per = counts.get(child.prefix, {})
        reached = progress.reached(per)
        county = targets.get(child.code[:6]) if child.level == codes.COUNTY else None
        target = county["target"] if county else None
        expected = progress.expected_by(county, plan.works_start, today)[0] if county else None
        units.append({
            "code": child.code, "name": child.name, "target": target, "households": reached[0],
            "installed": reached[INSTALLED], "accepted": reached[ACCEPTED],
            "rate": round(100 * reached[INSTALLED] / target, 1) if target else None,
            "expected": expected, "behind": max(0, expected - reached[INSTALLED]) if expected is not None else 0,
            "days_left": (county["deadline"] - today).days if county else None,
        })
        for (path, _), n in per.items():
            path_mix[path] += n
    if region.level == codes.COUNTY and plan:  # a county's own target is drawn on its page
        own = targets.get(region.code[:6])
    else:
        own = None
    return {
        "region": {"code": region.code, "name": region.name, "level": region.level},
        "units": units,
        "path_mix": [{"name": str(HeatingPath(p).label), "value": n, "path": p} for p, n in sorted(path_mix.items())],
        "prefix": region.prefix,
        "curve": curve(region, plan, today) if plan else None,
        "milestones": milestones(plan, today) if plan else [],
        "behind": sorted([u for u in units if u["behind"]], key=lambda u: -u["behind"]),
        "today": today.isoformat(),
        "target": sum(u["target"] or 0 for u in units) or (own["target"] if own else None),
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
            "planned": planned if region.level <= codes.COUNTY else None, "actual": actual}


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
