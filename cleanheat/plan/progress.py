"""Progress computed from the ledger, never typed in: today from each household's state, and for
any past date from the lifecycle history (the last state each household had reached by then)."""
from collections import defaultdict
from datetime import date

from cleanheat.figures.cache import cached
from cleanheat.ledger import asof
from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.rollup import counts_by_unit

from .models import CountyPlan, ScheduleEntry

INSTALLED = STATE_ORDER.index("installed")


def counts_on(prefix: str, unit_length: int, on: date | None = None, year: int | None = None) -> dict:
    """{unit: {(path, state): households}} for active households under `prefix` (of plan year
    `year`, or all with None) as of `on` (cached until the next write, like today's)."""
    return counts_by_unit(prefix, unit_length, year=year, on=on)


def reached(counts: dict, path: str | None = None) -> list[int]:
    """Households that have reached at least each state (cumulative), for one path or all."""
    by_state = [0] * len(STATE_ORDER)
    for (p, state), n in counts.items():
        if path in (None, p):
            by_state[STATE_ORDER.index(state)] += n
    cumulative, total = [], 0
    for n in reversed(by_state):
        total += n
        cumulative.append(total)
    return list(reversed(cumulative))


def county_targets(plan, prefix: str, path: str | None = None) -> dict:
    """{county code: (target, deadline, expected installed today, expected accepted today)}."""
    out = {}
    counties = CountyPlan.objects.filter(plan=plan, county_code__startswith=prefix[:6]).prefetch_related("targets")
    entries = defaultdict(list)
    for e in ScheduleEntry.objects.filter(county_plan__in=counties).order_by("checkpoint"):
        if path in (None, e.heating_path):
            entries[(e.county_plan_id, e.heating_path)].append(e)
    for cp in counties:
        if not cp.county_code.startswith(prefix[:6]) and len(prefix) >= 6:
            continue
        out[cp.county_code] = {
            "target": sum(t.households for t in cp.targets.all() if path in (None, t.heating_path)),
            "deadline": cp.deadline,
            "entries": {k[1]: v for k, v in entries.items() if k[0] == cp.pk},
        }
    return out


def installed_by_day(prefix: str, unit_length: int, year: int | None, on: date) -> dict:
    """{unit: {day: households}}: by how many the households of plan year `year` under `prefix`
    that are installed (已完工) or further on changed each day up to `on` — their running sum is
    the number installed as of that day (from the maintained as-of table; cached until the next
    write)."""
    return cached("plan.installed_by_day", (prefix, unit_length, year or "all", on),
                  lambda: asof.entered_by_day(prefix, unit_length, on, STATE_ORDER[INSTALLED:], year))
