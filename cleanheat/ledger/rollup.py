"""Five-level rollups: households by heating path × lifecycle state, computed from the ledger."""
from collections import defaultdict

from datetime import date

from django.conf import settings
from django.db.models import Count, Max
from django.db.models.functions import Substr
from django.utils import timezone

from cleanheat.figures.cache import cached
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import code_q

from . import asof
from . import counts as maintained
from .choices import HeatingPath, LifecycleState
from .models import Household, LifecycleEvent


def add_counts(rows):
    """rows: (unit, path, state, n) → {unit: {(path, state): n}} — pure, for reuse and tests."""
    result = defaultdict(lambda: defaultdict(int))
    for unit, path, state, n in rows:
        result[unit][(path, state)] += n
    return result


def counts_by_unit(prefix: str, unit_length: int, *, year: int | None = None, on: date | None = None,
                   only_if_cached: bool = False) -> dict | None:
    """Counts of active households under `prefix` (of one plan year, or all with None), grouped by
    the first `unit_length` code digits: {unit: {(path, state): n}}, today or as of a past day `on`
    (the last state each household had reached by then, from the maintained table `ledger.asof`);
    cached until the next write (see cleanheat/figures)."""
    if on is not None and on < timezone.localdate():
        return cached("ledger.counts_on", (prefix, unit_length, on, year or "all"),
                      lambda: asof.counts_on(prefix, unit_length, on, year), only_if_cached=only_if_cached)
    return cached("ledger.counts", (prefix, unit_length, year or "all"),
                  lambda: _counts_by_unit(prefix, unit_length, year), only_if_cached=only_if_cached)


def counts_on_from_ledger(prefix: str, unit_length: int, on: date, year: int | None = None) -> dict:
    """The reference for `asof.counts_on`, read from the lifecycle history itself (every event up to
    `on`, the latest per household): exact but slow on a large ledger — kept for the checks
    (tests/test_asof.py, `manage.py rebuild_progress --verify`) and the benchmarks' baseline."""
    events = LifecycleEvent.objects.filter(code_q("household__village_id", prefix), household__archived=False,
                                           occurred_on__lte=on)
    if year is not None:
        events = events.filter(household__plan_year=year)
    latest = events.values("household_id").annotate(last=Max("id")).values("last")
    rows = (LifecycleEvent.objects.filter(id__in=latest)
            .annotate(unit=Substr("household__village_id", 1, unit_length))
            .values_list("unit", "household__heating_path", "to_state").annotate(n=Count("id")).order_by())
    return {unit: dict(counts) for unit, counts in add_counts(rows).items()}


def _counts_by_unit(prefix: str, unit_length: int, year: int | None = None) -> dict:
    """From the maintained counts down to townships (ledger.counts), from the ledger below."""
    if maintained.covers(prefix, unit_length):
        return {unit: dict(c) for unit, c in add_counts(maintained.rows(prefix, unit_length, year)).items()}
    return counts_from_ledger(prefix, unit_length, year)


def counts_from_ledger(prefix: str, unit_length: int, year: int | None = None) -> dict:
    """The same counts grouped from the household table itself (villages; the checks of the
    maintained counts; the benchmark's baseline)."""
    qs = Household.objects.filter(code_q("village_id", prefix), archived=False)
    if year is not None:
        qs = qs.filter(plan_year=year)
    qs = qs.annotate(unit=Substr("village_id", 1, unit_length))
    rows = qs.values_list("unit", "heating_path", "state").annotate(n=Count("id")).order_by()
    return {unit: dict(counts) for unit, counts in add_counts(rows).items()}


def slow_to_count(region: Region, year: int | None = None) -> bool:
    """Whether the figures of `region` may take a while to compute when not cached: it holds at
    least CLEANHEAT_DEFER_FIGURES_FROM active households (its page then loads them separately,
    showing that it is working)."""
    unit_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    counts = counts_by_unit(region.prefix, unit_length, year=year, only_if_cached=True)
    if counts is not None:
        households = sum(n for unit in counts.values() for n in unit.values())
    elif maintained.covers(region.prefix, unit_length):
        households = maintained.total(region.prefix, year)
    else:
        households = Household.objects.filter(code_q("village_id", region.prefix), archived=False,
                                              **({"plan_year": year} if year else {})).count()
    return households >= settings.CLEANHEAT_DEFER_FIGURES_FROM


def total(counts: dict) -> int:
    return sum(counts.values())


def summarise(counts: dict, paths, states) -> dict:
    return {
        "total": sum(counts.values()),
        "paths": [sum(n for (p, _), n in counts.items() if p == path) for path in paths],
        "states": [sum(n for (_, s), n in counts.items() if s == state) for state in states],
    }


def region_rollup(region: Region, *, year: int | None = None, on: date | None = None,
                  only_if_cached: bool = False) -> dict | None:
    """The node's own totals and one row per child, by heating path and lifecycle state, for the
    households of one plan year (None: all years), today or as of `on` (only_if_cached: None unless
    the counts are cached)."""
    paths, states = list(HeatingPath.values), list(LifecycleState.values)
    unit_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    counts = counts_by_unit(region.prefix, unit_length, year=year, on=on, only_if_cached=only_if_cached)
    if counts is None:
        return None
    node = {}
    for unit_counts in counts.values():
        for key, n in unit_counts.items():
            node[key] = node.get(key, 0) + n
    node_summary = summarise(node, paths, states)
    shown = [i for i, n in enumerate(node_summary["paths"]) if n] or [0]

    def keep(summary):  # only the paths present at this node get a column
        return {**summary, "paths": [summary["paths"][i] for i in shown]}

    children = []
    if region.level < codes.VILLAGE:
        for child in region.children.all():
            children.append({"region": child, **keep(summarise(counts.get(child.prefix, {}), paths, states))})
    return {
        "paths": [HeatingPath(paths[i]) for i in shown],
        "states": [LifecycleState(s) for s in states],
        "node": keep(node_summary),
        "children": children,
    }
