"""The progress dashboard's figures for one region (city, county or township), from the ledger."""
from collections import defaultdict
from datetime import date

from django.db.models import Count
from django.utils import timezone

from cleanheat.figures.cache import cached
from cleanheat.ledger.choices import STATE_ORDER, HeatingPath
from cleanheat.ledger.models import LifecycleEvent
from cleanheat.regions import codes
from cleanheat.regions.scope import code_q

from . import lateness, progress, targets
from . import schedule as scheduling
from .models import ScheduleEntry

INSTALLED = STATE_ORDER.index("installed")
ACCEPTED = STATE_ORDER.index("accepted")


def build(region, plan, today: date | None = None, approved: frozenset | None = None) -> dict:
    """The dashboard's figures for the households of the plan's year as of `today` (default: the
    real today); cached until the next write (cleanheat/figures), the date being part of the key.
    `approved`: show approved figures only, counting only the child units whose codes it holds (their
    ledger confirmed and locked); the others are shown as 未审核, not counted."""
    today = min(today or timezone.localdate(), timezone.localdate())
    parts = (region.code, plan.pk if plan else "", today)
    if approved is not None:   # the units approved are part of the key
        parts += ("approved", ",".join(sorted(approved)))
    return cached("plan.dashboard", parts, lambda: _build(region, plan, today, approved))


def _build(region, plan, today: date, approved: frozenset | None = None) -> dict:
    child_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    year = plan.year if plan else None
    counts = progress.counts_on(region.prefix, child_length, today, year)
    below = targets.parts_below(plan, region, today)
    own_parts = targets.parts_of(plan, region, today)
    days = _installed_by_day(region, child_length, year, today, [*below.values(), own_parts])
    units, path_mix, node = [], defaultdict(int), defaultdict(int)
    for child in region.children.all().order_by("code"):
        if approved is not None and child.code not in approved:
            units.append(_unapproved(child.code, child.name, below.get(child.code), today))
            continue
        per = counts.get(child.prefix, {})
        units.append(_unit(child.code, child.name, progress.reached(per), below.get(child.code), today,
                           days.get(child.prefix, {})))
        for (path, state), n in per.items():
            path_mix[path] += n
            node[(path, state)] += n
    own = _unit(region.code, region.name, progress.reached(node), own_parts, today, _sum_days(days.values())) \
        if approved is None else _approved_total(region, units, progress.reached(node), own_parts, today)
    return {
        "approved_only": approved is not None,
        "unapproved": [u["name"] for u in units if u.get("unapproved")],
        "region": {"code": region.code, "name": region.name, "level": region.level},
        "units": units,
        "own": own,
        "path_mix": [{"name": str(HeatingPath(p).label), "value": n, "path": p} for p, n in sorted(path_mix.items())],
        "prefix": region.prefix,
        # the planned curve is the whole region's: beside approved units' installations alone it would mislead
        "curve": curve(region, plan, today) if plan and approved is None else None,
        "milestones": milestones(plan, today) if plan else [],
        "behind": sorted([u for u in units if u["behind"]], key=lambda u: -u["behind"]),
        "today": today.isoformat(),
        "target": own["target"],
        "finished": own["outcome"] is not None,
        "finished_units": [u for u in units if u["outcome"]],
    }


def _installed_by_day(region, unit_length: int, year, today: date, parts: list) -> dict:
    """Installations by day per child unit, needed only once some unit's deadline has passed."""
    if not any(p and p["deadline"] < today for p in parts):
        return {}
    return progress.installed_by_day(region.prefix, unit_length, year, today)


def _sum_days(per_unit) -> dict:
    out = defaultdict(int)
    for days in per_unit:
        for day, n in days.items():
            out[day] += n
    return dict(out)


def _unit(code: str, name: str, reached: list[int], parts: dict | None, today: date, days: dict) -> dict:
    """One unit's row: its target and the installations its schedule expects by today (None
    without a target), what the ledger says, how far behind it is; once its deadline has passed,
    when it finished and how late (see lateness.py)."""
    target = targets.total(parts, "targets") if parts else None
    expected = targets.total(parts, "expected") if parts else None
    outcome = lateness.outcome(parts["deadline"], target, days, today) if parts else None
    return {
        "code": code, "name": name, "target": target, "households": reached[0],
        "installed": reached[INSTALLED], "accepted": reached[ACCEPTED],
        "rate": round(100 * reached[INSTALLED] / target, 1) if target else None,
        "expected": expected, "behind": max(0, expected - reached[INSTALLED]) if expected is not None else 0,
        "days_left": (parts["deadline"] - today).days if parts else None,
        "deadline": parts["deadline"].isoformat() if parts else None,
        "outcome": shown(outcome),
    }


def _unapproved(code: str, name: str, parts: dict | None, today: date) -> dict:
    """A unit whose ledger is not confirmed, when approved figures only are asked: its target (the
    plan's) but no ledger figure."""
    return {"code": code, "name": name, "unapproved": True, "target": targets.total(parts, "targets") if parts else None,
            "households": None, "installed": None, "accepted": None, "rate": None, "expected": None, "behind": 0,
            "days_left": (parts["deadline"] - today).days if parts else None,
            "deadline": parts["deadline"].isoformat() if parts else None, "outcome": None}


def _approved_total(region, units: list[dict], reached: list[int], parts: dict | None, today: date) -> dict:
    """The region's own row from its approved units alone: their targets, expected and ledger figures."""
    counted = [u for u in units if not u.get("unapproved")]
    target = sum(u["target"] or 0 for u in counted) if parts else None
    expected = sum(u["expected"] or 0 for u in counted) if parts else None
    return {
        "code": region.code, "name": region.name, "target": target, "households": reached[0],
        "installed": reached[INSTALLED], "accepted": reached[ACCEPTED],
        "rate": round(100 * reached[INSTALLED] / target, 1) if target else None,
        "expected": expected, "behind": max(0, expected - reached[INSTALLED]) if expected is not None else 0,
        "days_left": (parts["deadline"] - today).days if parts else None,
        "deadline": parts["deadline"].isoformat() if parts else None, "outcome": None,
        "units_counted": len(counted),
    }


def shown(outcome: dict | None) -> dict | None:
    """The outcome with its date as text (the figures go to the page as JSON)."""
    if outcome is None:
        return None
    day = outcome["finished_on"]
    return {"finished_on": day.isoformat() if day else None, "late_days": outcome["late_days"]}


def years_summary(city, plans, on: date) -> list[dict]:
    """One row per plan of the city, latest first: target, households converted (已完工 or further
    on) as of `on`, and converted by each county's deadline (on time). Cached until the next write."""
    return cached("plan.years", (city.code, "-".join(str(p.pk) for p in plans), on),
                  lambda: [_year_row(city, plan, on) for plan in plans])


def _year_row(city, plan, on: date) -> dict:
    counties = list(plan.counties.prefetch_related("targets"))
    counts = progress.counts_on(city.prefix, 6, on, plan.year)
    totals = defaultdict(int)
    for per in counts.values():
        for key, n in per.items():
            totals[key] += n
    reached = progress.reached(totals)
    days = progress.installed_by_day(city.prefix, 6, plan.year, on)
    on_time = sum(lateness.on_time(days.get(cp.county_code, {}), cp.deadline) for cp in counties)
    return {"year": plan.year, "name": plan.name, "deadline": plan.works_deadline.isoformat(),
            "target": sum(t.households for cp in counties for t in cp.targets.all()),
            "households": reached[0], "installed": reached[INSTALLED], "on_time": on_time,
            "finished": on > plan.works_deadline}


def progress_rows(region, plan, on: date, path: str | None):
    """One row per child unit (or the node itself at village level) for the households of the
    plan's year, with its target (at every level: see targets.py), how far behind its schedule it
    is, and once its deadline has passed, when it finished and how late."""
    level = min(region.level + 1, codes.VILLAGE)
    unit_length = codes.PREFIX_LENGTH[level]
    year = plan.year if plan else None
    counts = progress.counts_on(region.prefix, unit_length, on, year)
    if region.level < codes.VILLAGE:
        children, below = list(region.children.all()), targets.parts_below(plan, region, on)
    else:
        children, below = [region], {region.code: targets.parts_of(plan, region, on)}
    days = progress.installed_by_day(region.prefix, unit_length, year, on) \
        if any(p and p["deadline"] < on for p in below.values()) and path is None else {}
    rows = []
    for child in children:
        reached = progress.reached(counts.get(child.prefix, {}), path)
        row = {"region": child, "reached": reached, "target": None, "behind": 0}
        if parts := below.get(child.code):
            target, expected = targets.total(parts, "targets", path), targets.total(parts, "expected", path)
            installed = reached[INSTALLED]
            row.update(target=target, expected=expected, deadline=parts["deadline"],
                       days_left=(parts["deadline"] - on).days,
                       rate=round(100 * installed / target, 1) if target else None,
                       behind=max(0, expected - installed),
                       outcome=shown(lateness.outcome(parts["deadline"], target,
                                                                days.get(child.prefix, {}), on))
                       if path is None else None)
        rows.append(row)
    return rows


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
    # (of the plan's year, up to the date shown)
    events = LifecycleEvent.objects.filter(code_q("household__village_id", region.prefix), to_state="installed",
                                           is_backstep=False, occurred_on__lte=today, household__archived=False,
                                           household__plan_year=plan.year)
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
        [{"name": f"{'今天' if today >= timezone.localdate() else '截至'} {today:%Y-%m-%d}", "today": True,
          "left": min(100.0, max(0.0, round(100 * (today - first).days / span, 1)))}]
