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

--bank N (default 0: not run): the bank payment file (一卡通) for N approved lines of the county with
the most lines. Target: ≤ 10 s for 50,000. Measured as the median of --repeat runs: making the batch
(payments.create_batch, its checks and N line rows) and exporting its file (payments.export_bank_file:
one query, every ID and card decrypted with one cipher, the .xlsx, its SHA-256, the audit record).
Baseline in the same run: the naive export — a query per line for its household, decrypting each
value with pii.decrypt — writing the same workbook; both files must be identical.
"""
import argparse
import hashlib
import resource
import statistics
import time
from datetime import timedelta

import full_demo  # noqa: E402  (sits beside this script; puts the project on sys.path)

YEAR = 2022


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    parser.add_argument("--bank", type=int, default=0, help="time the bank file for N lines (50000)")
    parser.add_argument("--bank-only", action="store_true", help="only the bank file")
    args = parser.parse_args()
    full_demo.open_full_demo(args)
    if args.bank:
        bank_bench(args.bank, args.repeat)
        if args.bank_only:
            return

    from cleanheat.subsidies import calc, calc_batch, facts, services
    from cleanheat.subsidies.models import Entitlement, calc_labels

    started = time.perf_counter()
    sum(range(10**7))
    print(f"this machine: sum(range(10**7)) takes {time.perf_counter() - started:.2f} s (an idle laptop: ~0.15 s)")
    labels, versions = calc_labels(), facts.policies_for_year(YEAR)
    rss_before = peak_rss_mb()
    load_s, load_runs, (h, r) = full_demo.median_of(args.repeat, lambda: facts.load(""))
    h, r = first(calc_batch, h, r, args.limit)
    print(f"facts read from the database: {len(h)} households, {len(r)} readings — median {load_s:.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in load_runs)})")

    batch_s, batch_runs, (lines, stats) = full_demo.median_of(args.repeat, lambda: calc_batch.batch_lines(h, r, versions, labels))
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
        again_s, again_runs, again = full_demo.median_of(args.repeat, lambda: services.compute_entitlements(YEAR))
        print(f"whole compute again, nothing changed (read + compute + compare, {again['written']} written): "
              f"median {again_s:.2f} s (runs {', '.join(f'{t:.2f}' for t in again_runs)})")
        print(f"  {services.summary(again)}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (process before reading the facts: {rss_before:.0f} MB)")


def bank_bench(n: int, repeat: int):
    """The bank file for n approved lines (the setup — bank cards, funds, approval — is not timed)."""
    # local imports: Django is set up only by open_full_demo
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import Count
    from django.db.models.functions import Substr

    from cleanheat import pii
    from cleanheat.ledger.models import Household
    from cleanheat.regions.models import Region
    from cleanheat.subsidies import bank_file, funds, notice, payments, services
    from cleanheat.subsidies.models import Entitlement, LineStatus, PaymentBatch, PaymentLine

    counts = (Entitlement.objects.filter(year=YEAR).annotate(code=Substr("village_code", 1, 6)).values("code")
              .annotate(n=Count("pk")).order_by("-n"))
    county = counts[0]["code"]
    ids = list(Entitlement.objects.filter(village_code__startswith=county, year=YEAR).order_by("pk")
               .values_list("pk", flat=True)[:n])
    started = time.perf_counter()
    sum(range(10**7))
    print(f"this machine: sum(range(10**7)) takes {time.perf_counter() - started:.2f} s (an idle laptop: ~0.15 s)")
    print(f"bank file: county {county}, {len(ids)} lines (asked {n})")
    households = sorted({pk for start in range(0, len(ids), 10000) for pk in Entitlement.objects.filter(
        pk__in=ids[start:start + 10000]).values_list("household_id", flat=True)})
    plain = [f"621799{pk:013d}" for pk in households]
    cards, hashes = pii.encrypt_many(plain), pii.blind_index_many(plain, "bank")
    with transaction.atomic():                      # bank cards for the demo households (setup)
        for pk, cipher, digest in zip(households, cards, hashes):
            Household.objects.filter(pk=pk).update(bank_account_cipher=cipher, bank_account_hash=digest,
                                                   bank_account_masked=f"6217********{pk % 10000:04d}")
    funds.record_fund({"county": county, "year": YEAR, "level": "central", "source": "基准测试", "document_no": "BENCH",
                       "received_on": full_demo_date(), "amount_fen": 10**14}, user=None)
    for start in range(0, len(ids), 10000):
        services.approve_entitlements(Entitlement.objects.filter(pk__in=ids[start:start + 10000]))
    posted = full_demo_date() - timedelta(days=30)   # notices whose period is over (setup)
    for village in Region.objects.filter(code__in=Entitlement.objects.filter(pk__in=ids).values("village_code")):
        notice.write_notice(village, YEAR, posted, 7)
    payer, _ = get_user_model().objects.get_or_create(username="bench_payer", defaults={
        "region_scope": county, "role": "county_finance", "full_name": "基准测试"})

    def release(batch):
        PaymentLine.objects.filter(batch=batch).update(status=LineStatus.CANCELLED, in_open_batch=False)
        PaymentBatch.objects.filter(pk=batch.pk).update(status="cancelled")

    made, exported, totals, last = [], [], [], None
    for _ in range(repeat):
        if last:
            release(last[0])
        started = time.perf_counter()
        batch, _ = payments.create_batch(payer, county, YEAR)      # the county's whole queue, as the page does
        middle = time.perf_counter()
        content, _ = payments.export_bank_file(payer, batch.pk)
        done = time.perf_counter()
        made.append(middle - started)
        exported.append(done - middle)
        totals.append(done - started)
        last = (batch, content)
    batch, content = last
    print(f"  make the batch: median {statistics.median(made):.2f} s; export the file: median "
          f"{statistics.median(exported):.2f} s; together: median {statistics.median(totals):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in totals)}; {len(content) / 1e6:.1f} MB)")

    fast = payments.payees(batch)                   # the region names, as the export gives them (not timed)
    regions = {p.row_no: p.region for p in fast}
    started = time.perf_counter()
    naive_rows = []
    for line_id in batch.lines.order_by("row_no").values_list("pk", flat=True):
        line = PaymentLine.objects.select_related("household").get(pk=line_id)     # a query per line
        naive_rows.append(bank_file.Payee(line.row_no, line.name, pii.decrypt(line.id_cipher),
                                          pii.decrypt(line.card_cipher), line.amount_fen, line.item,
                                          regions[line.row_no]))
    naive = bank_file.workbook(batch.number, "", naive_rows)
    naive_s = time.perf_counter() - started
    fast_again = bank_file.workbook(batch.number, "", fast)
    same = hashlib.sha256(naive).digest() == hashlib.sha256(fast_again).digest()
    print(f"  baseline: a query per line and pii.decrypt per value: {naive_s:.2f} s (same file: {same}); "
          f"export vs baseline: {naive_s / statistics.median(exported):.1f}x faster")
    release(batch)
    if not same:
        raise SystemExit("the export and the naive baseline disagree")


def full_demo_date():
    from datetime import date
    return date(YEAR, 10, 15)


if __name__ == "__main__":
    main()
