"""Batch sizing and advice for every household of the full demo (212,549): design load, seasonal
heat, the recommended model of the household's own path, the cheapest path, undersized units —
computed with NumPy and stored (EnergyDemand + Advice). Target: median ≤ 10 s on SQLite, ≤ 1 GB.

Baseline, measured in the same run: the per-household advisor (a Python loop over ORM objects,
as the issue says not to do) on a sample, extrapolated to the city.

    .venv/bin/python benchmarks/bench_sizing.py [--db PATH] [--reuse] [--repeat N] [--sample N]
"""
import argparse
import resource
import statistics
import time

import full_demo  # noqa: E402  (sits beside this script; puts the project on sys.path)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    full_demo.add_arguments(parser)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args()
    full_demo.open_full_demo(args)

    from cleanheat.ledger.models import Household
    from cleanheat.procurement import advisor, batch
    from cleanheat.procurement.sizing import load_params, load_supply

    rss_before = peak_rss_mb()
    times, stats = [], None
    for _ in range(args.repeat):
        started = time.perf_counter()
        stats = batch.size_region("")
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"batch sizing + advice, whole city ({stats['households']} households, stored): "
          f"median {median:.2f} s  (n={args.repeat}; runs {', '.join(f'{t:.2f}' for t in times)})")
    print(f"  design load {stats['design_load_mw']:.0f} MW, seasonal heat {stats['seasonal_heat_gwh']:.0f} GWh, "
          f"undersized allocated units {stats['undersized']}, own path without a fitting model {stats['no_fit']}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (process before the batch: {rss_before:.0f} MB)")

    params, supply = load_params(), load_supply("")
    sample = list(Household.objects.filter(archived=False).order_by("?")[:args.sample])
    started = time.perf_counter()
    for household in sample:
        advisor.advise(household, params=params, supply=supply)
    per = (time.perf_counter() - started) / len(sample)
    baseline = per * stats["households"]
    print(f"baseline: per-household advisor loop, {len(sample)} sampled, {per * 1000:.2f} ms each "
          f"→ {baseline:.0f} s for the city (extrapolated)")
    print(f"batch vs per-household loop: {baseline / median:.0f}x faster")


if __name__ == "__main__":
    main()
