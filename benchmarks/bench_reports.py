"""Reports (issue #19) on the full demo (212,549 households). Targets: the province monthly table for
the city for a past date ≤ 3 s; emissions avoided for the city ≤ 2 s.

Measured, each as the median of --repeat runs with the figures cache emptied before every run (cold),
then once more with the cache kept (warm: what a page asks after the first, until the next write):
  * the monthly province table (built-in template monthly-province) filled for the city on --date;
    beside it, in the same run, the existing dispatch table (plan.exports.write_dispatch_table, written
    with xlsxwriter) for the same date, the nearest thing the project had;
  * the season's emissions for the city (reports.services.season_totals); baseline in the same run: a
    per-household Python loop (the last lifecycle state of every household by the date, then
    emissions.for_households one household at a time); both must give the same CO₂ total.
  * the as-of count both use (ledger.asof.counts_on, read from the maintained ProgressDelta table) beside
    the history query it replaced (rollup.counts_on_from_ledger: the latest lifecycle event of every
    household by the date), which must give the same counts; the table and emissions are also timed
    with the history query put back in place of the table ("with the old as-of query"), same run.

    .venv/bin/python benchmarks/bench_reports.py [--db PATH] [--reuse] [--repeat 3] [--date 2022-09-30]
"""
import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import date

import full_demo  # noqa: E402  (sits beside this script; puts the project on sys.path)

YEAR = 2022


def median_cold(repeat, fn):
    from django.core.cache import caches
    times, result = [], None
    for _ in range(repeat):
        caches["figures"].clear()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def runs(times) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


@contextmanager
def old_as_of_query():
    """The baseline: the as-of counts read from the lifecycle history, as before the maintained table."""
    from cleanheat.ledger import asof, rollup
    fast = asof.counts_on
    asof.counts_on = rollup.counts_on_from_ledger
    try:
        yield
    finally:
        asof.counts_on = fast


def main():
    parser = argparse.ArgumentParser()
    full_demo.add_arguments(parser)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--date", default="2022-09-30")
    args = parser.parse_args()
    full_demo.open_full_demo(args)

    from cleanheat.ledger.models import Household, LifecycleEvent
    from cleanheat.plan import exports
    from cleanheat.plan.models import Plan
    from cleanheat.regions.models import Region
    from cleanheat.reports import emissions, figures, services
    from cleanheat.reports.models import ReportTemplate

    started = time.perf_counter()
    sum(range(10**7))
    print(f"this machine: sum(range(10**7)) takes {time.perf_counter() - started:.2f} s (an idle laptop: ~0.15 s)")
    on = date.fromisoformat(args.date)
    city = Region.objects.get(code="140900000000")
    plan = Plan.objects.get(year=YEAR)
    print(f"households: {Household.objects.filter(archived=False).count()}")

    template = bytes(ReportTemplate.objects.get(code="monthly-province").content)
    fill_s, fill_runs, content = median_cold(args.repeat, lambda: figures.fill(template, figures.Source(city, plan, on)))
    print(f"monthly province table, city, {on}: median {fill_s:.2f} s (runs {runs(fill_runs)}; {len(content)} bytes)"
          f" — target ≤ 3 s")
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
        old_s, old_runs, _ = median_cold(args.repeat, lambda: exports.write_dispatch_table(f.name, city, plan, on))
    started = time.perf_counter()
    figures.fill(template, figures.Source(city, plan, on))
    print(f"  again with the figures cached (nothing written since): {time.perf_counter() - started:.2f} s")
    from cleanheat.plan import progress
    count_s, count_runs, _ = median_cold(args.repeat, lambda: progress.counts_on(city.prefix, 6, on, YEAR))
    print(f"  of which the ledger's as-of count (plan.progress.counts_on, shared with the dashboard): "
          f"median {count_s:.2f} s (runs {runs(count_runs)})")
    print(f"  beside it: the existing dispatch table (xlsxwriter), same date: median {old_s:.2f} s (runs {runs(old_runs)})")
    with old_as_of_query():
        base_s, base_runs, _ = median_cold(args.repeat, lambda: figures.fill(template, figures.Source(city, plan, on)))
        ref_s, ref_runs, reference = median_cold(args.repeat, lambda: progress.counts_on(city.prefix, 6, on, YEAR))
    print(f"  baseline: the same table with the old as-of query (the lifecycle history): median {base_s:.2f} s "
          f"(runs {runs(base_runs)}); {base_s / fill_s:.1f}x the time")
    print(f"  baseline: the old as-of query alone (rollup.counts_on_from_ledger): median {ref_s:.2f} s "
          f"(runs {runs(ref_runs)}); {ref_s / count_s:.0f}x the maintained table's; same counts: "
          f"{reference == progress.counts_on(city.prefix, 6, on, YEAR)}")

    season_on = services.season_date(plan)
    em_s, em_runs, totals = median_cold(args.repeat, lambda: services.season_totals(city, plan))
    print(f"emissions avoided, city, season {YEAR} as of {season_on}: median {em_s:.2f} s (runs {runs(em_runs)}); "
          f"{totals['households']['proven']} proven, {totals['households']['unproven']} not yet; "
          f"CO₂ {totals['total']['avoided']['co2'] / 1000:,.0f} t — target ≤ 2 s")
    started = time.perf_counter()
    services.season_totals(city, plan)
    print(f"  again with the figures cached (nothing written since): {time.perf_counter() - started:.3f} s")
    with old_as_of_query():
        em_base_s, em_base_runs, _ = median_cold(args.repeat, lambda: services.season_totals(city, plan))
    print(f"  baseline: the same with the old as-of query: median {em_base_s:.2f} s (runs {runs(em_base_runs)}); "
          f"{em_base_s / em_s:.1f}x the time")

    started = time.perf_counter()
    params = services.parameters(city.code, YEAR)
    last = {}
    events = (LifecycleEvent.objects.filter(household__archived=False, household__plan_year__lte=YEAR,
                                            occurred_on__lte=season_on)
              .values_list("household_id", "to_state", "household__heating_path", "household__village_id")
              .order_by("id").iterator(chunk_size=20000))
    for hh, state, path, village in events:
        last[hh] = (state, path, village[:6])
    co2 = 0.0
    for state, path, county in last.values():
        if state in services.PROVEN:
            co2 += emissions.for_households(1, params.coal, params.carriers[path], basis="survey",
                                            surveyed_t=params.surveyed_t(county))["avoided"]["co2"]
    loop_s = time.perf_counter() - started
    same = abs(co2 - totals["total"]["avoided"]["co2"]) < 1e-6 * max(1.0, co2)
    print(f"baseline: per-household Python loop: {loop_s:.2f} s (CO₂ {co2 / 1000:,.0f} t, same total: {same}); "
          f"{loop_s / em_s:.1f}x slower than the grouped count")
    if not same:
        raise SystemExit("the grouped totals and the per-household loop disagree")


if __name__ == "__main__":
    main()
