"""Hotline benchmarks (issue #17): the winter dashboard over 100,000 tickets (target: median ≤ 300 ms,
the page as the city administrator opens it) and the SLA sweep, statuses and escalations of every open
ticket (target: ≤ 2 s).

The tickets are the demo's generator (service/demo.py: realistic mix, ~4 % open now, some breached,
repeated faults) run for --tickets tickets over the households of a demo loaded at --scale (the
dashboard reads tickets, not households; the full ledger only makes the load slower). Each figure is the
median of --repeat runs; the sweep is run on a fresh copy of the open tickets' statuses each time.

    .venv/bin/python benchmarks/bench_service.py [--db PATH] [--reuse] [--scale 0.05] [--tickets 100000] [--repeat 5]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(ROOT / "data" / "bench_service.sqlite3"))
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(args.db + suffix).unlink(missing_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanheat.settings")
    import django
    django.setup()
    import random

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment
    from django.utils import timezone

    from cleanheat.accounts.models import User
    from cleanheat.demo.loader import load_demo, read_config
    from cleanheat.ledger.models import Household, MaintenanceRecord
    from cleanheat.service import demo, services
    from cleanheat.service.models import OPEN_STATUSES, Ticket, TicketEvent

    Path(args.db).parent.mkdir(exist_ok=True)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    sum(range(10**7))
    print(f"database: {connection.vendor}; this machine: sum(range(10**7)) takes {time.perf_counter() - started:.2f} s "
          f"(an idle laptop: ~0.15 s)")
    if not Household.objects.exists():
        started = time.perf_counter()
        print(f"demo at scale {args.scale}: {load_demo(read_config(), scale=args.scale)} households "
              f"in {time.perf_counter() - started:.1f} s")
    now = timezone.now()
    if Ticket.objects.count() != args.tickets:
        with transaction.atomic():
            TicketEvent.objects.all().delete()
            outages = list(Ticket.objects.filter(outage__isnull=False).values_list("outage_id", flat=True))
            Ticket.objects.all().delete()
            MaintenanceRecord.objects.filter(pk__in=outages).delete()
            started = time.perf_counter()
            made = demo.generate_tickets(args.tickets, random.Random(17), now, events=False)
        print(f"tickets: {made} in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    open_count = Ticket.objects.filter(status__in=OPEN_STATUSES).count()
    print(f"{Ticket.objects.count()} tickets, {open_count} open")

    setup_test_environment()
    client = Client()
    client.force_login(User.objects.get(username="city_admin"))
    season = demo.SEASON[0].year
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        response = client.get("/service/dashboard/", {"season": season})
        assert response.status_code == 200, response.status_code
        ms, runs = median_ms(lambda: client.get("/service/dashboard/", {"season": season}), args.repeat)
    in_season = response.context["d"]["total"]
    from cleanheat.service import dashboard, queries
    user = User.objects.get(username="city_admin")
    tickets = queries.visible_tickets(user)
    raw_ms, raw_runs = median_ms(lambda: dashboard.figures(tickets, dashboard.Season(season)), args.repeat)
    gen_ms, _ = median_ms(dashboard.generation, args.repeat)
    print(f"  figures computed afresh (first view after a change): median {raw_ms:.0f} ms "
          f"(runs {', '.join(f'{t:.0f}' for t in raw_runs)}); the cache's generation check {gen_ms:.0f} ms")
    verdict = "ok" if ms <= 300 else "OVER"
    print(f"winter dashboard page ({in_season} tickets in the {season} season): median {ms:.0f} ms "
          f"(runs {', '.join(f'{t:.0f}' for t in runs)}) — target 300 ms: {verdict}")

    fields = ["sla_status", "breached_at", "escalation"]
    initial = list(Ticket.objects.filter(status__in=OPEN_STATUSES).values_list("pk", *fields))

    def sweep_fresh():
        with transaction.atomic():
            Ticket.objects.filter(status__in=OPEN_STATUSES).update(sla_status="on_track", breached_at=None, escalation=0)
            TicketEvent.objects.filter(kind="escalated").delete()
        started = time.perf_counter()
        result = services.sweep(now)
        sweep_fresh.last = (result, time.perf_counter() - started)

    times = []
    for _ in range(args.repeat):
        sweep_fresh()
        times.append(sweep_fresh.last[1] * 1000)
    result = sweep_fresh.last[0]
    ms = statistics.median(times)
    print(f"SLA sweep of {open_count} open tickets: median {ms:.0f} ms (runs {', '.join(f'{t:.0f}' for t in times)}); "
          f"{result} — target 2000 ms: {'ok' if ms <= 2000 else 'OVER'}")
    Ticket.objects.bulk_update([Ticket(pk=pk, sla_status=s, breached_at=b, escalation=e) for pk, s, b, e in initial],
                               fields, batch_size=2000)


if __name__ == "__main__":
    main()
