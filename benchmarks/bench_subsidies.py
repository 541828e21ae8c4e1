"""Subsidy entitlements for every household of the full demo (212,549): the year's policy versions
turned into lines with their arithmetic written out, amounts and level shares in fen, computed with
NumPy (calc_batch.batch_lines). Target: ≤ 5 s and ≤ 1 GB.

Measured, each as the median of --repeat runs: reading the facts from the database (facts.load), the
batch itself, and the whole compute as the job runs it, with nothing changed since the last (read,
compute, compare with the stored lines); once, the whole compute writing every line anew.
Baseline in the same run: the per-household Python loop (calc.household_lines over the same facts,
one household at a time); both must give identical lines, and the ratio is printed.

    .venv/bin/python benchmarks/bench_subsidies.py [--db PATH] [--reuse] [--repeat 3] [--limit N]

--limit N takes the first N households only (a shared, noisy machine); the demo is loaded whole.
"""
import argparse
import resource
import statistics
import time

import full_demo  # noqa: E402  (sits beside this script; puts the project on sys.path)

YEAR = 2022


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_of(repeat, fn):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


def first(calc_batch, h, r, n):
    """The first n households and their readings."""
    if n is None or n >= len(h):
        return h, r
    keep = r.row < n
    return (calc_batch.Households(h.ids[:n], h.villages[:n], h.paths[:n], h.states[:n], h.flags[:n], h.area[:n],
                            h.retrofitted[:n], h.devices[:n], h.price[:n], h.equipment[:n], h.accepted_on[:n],
                            h.entered_on[:n], h.first_season[:n]),
            calc_batch.Readings(r.row[keep], r.season[keep], r.unit[keep], r.opening[keep], r.closing[keep],
                          r.read_on[keep]))


def rows_of(lines, ids):
    return sorted(zip((int(ids[i]) for i in lines.row.tolist()), lines.kind, lines.season.tolist(), lines.unit,
                      lines.amount.tolist(), map(tuple, lines.shares.tolist()), lines.arithmetic, lines.inputs))


def main():
    parser = argparse.ArgumentParser()
    full_demo.add_arguments(parser)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="only the first N households")
    args = parser.parse_args()
    full_demo.open_full_demo(args)

    from cleanheat.subsidies import calc, calc_batch, facts, services
    from cleanheat.subsidies.models import Entitlement, calc_labels

    started = time.perf_counter()
    sum(range(10**7))
    print(f"this machine: sum(range(10**7)) takes {time.perf_counter() - started:.2f} s (an idle laptop: ~0.15 s)")
    labels, versions = calc_labels(), facts.policies_for_year(YEAR)
    rss_before = peak_rss_mb()
    load_s, load_runs, (h, r) = median_of(args.repeat, lambda: facts.load(""))
    h, r = first(calc_batch, h, r, args.limit)
    print(f"facts read from the database: {len(h)} households, {len(r)} readings — median {load_s:.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in load_runs)})")

    batch_s, batch_runs, (lines, stats) = median_of(args.repeat, lambda: calc_batch.batch_lines(h, r, versions, labels))
    print(f"batch (NumPy): {len(lines)} lines for {len(h)} households — median {batch_s:.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in batch_runs)}); no policy {stats['no_policy']}, "
          f"awaiting a contract price {stats['awaiting_price']}")

    started = time.perf_counter()
    reference = [x for f in calc_batch.facts_of(h, r) for x in calc.household_lines(f, versions, labels)]
    loop_s = time.perf_counter() - started
    same = rows_of(lines, h.ids) == sorted((x.household_id, x.kind, x.season, x.unit, x.amount, x.shares,
                                            x.arithmetic, x.inputs) for x in reference)
    print(f"baseline: per-household Python loop, same facts: {loop_s:.2f} s ({len(reference)} lines, identical: {same})")
    print(f"batch vs per-household loop: {loop_s / batch_s:.1f}x faster")
    if not same:
        raise SystemExit("the batch and the per-household loop disagree")

    if args.limit is None:
        Entitlement.objects.filter(year=YEAR, status="computed").update(digest="")   # every line to be rewritten
        started = time.perf_counter()
        full = services.compute_entitlements(YEAR)
        print(f"whole compute as the job runs it, every line rewritten (read + compute + write {full['written']} "
              f"lines): {time.perf_counter() - started:.2f} s")
        again_s, again_runs, again = median_of(args.repeat, lambda: services.compute_entitlements(YEAR))
        print(f"whole compute again, nothing changed (read + compute + compare, {again['written']} written): "
              f"median {again_s:.2f} s (runs {', '.join(f'{t:.2f}' for t in again_runs)})")
        print(f"  {services.summary(again)}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (process before reading the facts: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
