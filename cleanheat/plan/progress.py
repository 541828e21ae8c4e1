"""Progress computed from the ledger, never typed in: today from each household's state, and for
any past date from the lifecycle history (the last state each household had reached by then)."""
from collections import defaultdict
from datetime import date

from django.db.models import Count, Max
from django.db.models.functions import Substr
from django.utils import timezone

from cleanheat.figures.cache import cached
from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import LifecycleEvent
from cleanheat.ledger.rollup import add_counts, counts_by_unit
from cleanheat.regions.scope import code_q

from .models import CountyPlan, ScheduleEntry


def counts_on(prefix: str, unit_length: int, on: date | None = None) -> dict:
    """{unit: {(path, state): households}} for active households under `prefix` as of `on`
    (cached until the next write, like today's)."""
    if on is None or on >= timezone.localdate():
        return counts_by_unit(prefix, unit_length)
    return cached("plan.counts_on", (prefix, unit_length, on), lambda: _counts_on(prefix, unit_length, on))


def _counts_on(prefix: str, unit_length: int, on: date) -> dict:
    events = LifecycleEvent.objects.filter(code_q("household__village_id", prefix), household__archived=False,
                                           occurred_on__lte=on)
    latest = events.values("household_id").annotate(last=Max("id")).values("last")
    rows = (LifecycleEvent.objects.filter(id__in=latest)
            .annotate(unit=Substr("household__village_id", 1, unit_length))
            .values_list("unit", "household__heating_path", "to_state").annotate(n=Count("id")).order_by())
    return {unit: dict(counts) for unit, counts in add_counts(rows).items()}


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
