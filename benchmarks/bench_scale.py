"""Province-scale benchmark (issue #20 part 7, docs/scale.md): the targets on the ≈5.3 M-household
synthetic province that `manage.py load_scale --cities 25` writes into PostgreSQL.

Every figure is the median of --repeat runs "uncached": the figures cache (cleanheat/figures) is
bumped before each run, as after any write, so the database does the work each time. "first" is
the first such run in this process (cold plans and Django caches; PostgreSQL's buffers and the OS
cache are shared with other work on this machine and were not dropped). Pages go through Django's
test client as the named user.

Named baseline in the same run: the same query on one synthetic city (Xinzhou's size, 212,549
households) inside the same database, and where a fix replaced a path, the old path.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cleanheat_scale \\
        .venv/bin/python benchmarks/bench_scale.py [--repeat 3] [--skip-scan]
"""
import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cleanheat_scale"
PAST = date(2022, 8, 31)
PROVINCE, CITY, COUNTY, LATE_COUNTY = "99", "9901", "990102", "992502"
TARGETS_MS = {"province rollup": 1000, "county list page": 200, "ID search": 50, "progress past date": 2000,
              "compliance scan": 60000, "dashboard": 500}


def SLOW(fn):
    fn.slow = True
    return fn


def timed(fn, repeat, before=None):
    """(first, median of the rest or of all when repeat < 2) in ms; `before` runs untimed each time."""
    times = []
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    rest = times[1:] if len(times) > 2 else times
    return times[0], statistics.median(rest)


def setup():
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanheat.settings")
    os.environ["CLEANHEAT_DEBUG"] = "0"
    import django
    django.setup()
    from django.test.utils import setup_test_environment
    setup_test_environment()


def describe():
    from django.db import connection
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM ledger_household")
        households = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM ledger_lifecycleevent")
        events = cur.fetchone()[0]
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database())), version()")
        size, version = cur.fetchone()
    print(f"database {connection.settings_dict['NAME']}: {households:,} households, {events:,} lifecycle events, "
          f"{size}; {version.split(',')[0]}")
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-scan", action="store_true", help="leave out the (long) compliance scans")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    parser.add_argument("--slow-repeat", type=int, default=1,
                        help="runs of the cases that take minutes (province progress for a past date)")
    args = parser.parse_args()
    setup()
    describe()
    from django.test import Client

    from cleanheat.accounts.models import User
    from cleanheat.figures.services import bump
    from cleanheat.ledger import rollup
    from cleanheat.ledger.models import Household
    from cleanheat.plan.progress import counts_on
    from cleanheat.regions.models import Region
    from cleanheat.regions.scope import code_q
    from cleanheat.rules.compliance import scan

    users = {name: User.objects.get(username=name) for name in ("scale_province", "scale_city", "scale_clerk")}
    users["late_clerk"], _ = User.objects.get_or_create(username="bench_late_clerk", defaults={
        "role": "county_clerk", "region_scope": LATE_COUNTY, "must_change_password": False})
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)

    def page(who, url):
        def run():
            response = clients[who].get(url)
            assert response.status_code == 200, (url, response.status_code)
        return run

    def search_url(who, number):
        response = clients[who].post("/households/", {"q": number})
        assert response.status_code == 302, response.status_code
        return response["Location"]

    province, city = Region.objects.get(code="990000000000"), Region.objects.get(code="990100000000")
    in_county = Household.objects.filter(code_q("village_id", COUNTY), archived=False)
    sample = in_county.order_by("household_no")[in_county.count() // 3]
    from cleanheat import pii
    number = pii.decrypt(sample.id_number_cipher)
    clerk_search, province_search = search_url("scale_clerk", number), search_url("scale_province", number)
    lists_page = max(1, in_county.count() // 50 // 2)

    cases = [
        # (target, name, fn, baseline name, baseline fn)
        ("province rollup", "province rollup (region_rollup, maintained counts)",
         lambda: rollup.region_rollup(province, year=2022),
         "old path: GROUP BY the ledger", lambda: rollup.counts_from_ledger(PROVINCE, 4, 2022)),
        ("province rollup", "city rollup (Xinzhou size, maintained counts)", lambda: rollup.region_rollup(city, year=2022),
         "old path: GROUP BY the ledger", lambda: rollup.counts_from_ledger(CITY, 6, 2022)),
        ("province rollup", "province rollup page /regions/990000000000/", page("scale_province", "/regions/990000000000/"),
         "city page /regions/990100000000/", page("scale_city", "/regions/990100000000/")),
        ("county list page", "county clerk /households/ page 1", page("scale_clerk", "/households/"),
         f"same, page {lists_page}", page("scale_clerk", f"/households/?page={lists_page}")),
        ("county list page", f"county clerk of {LATE_COUNTY} (last city) /households/", page("late_clerk", "/households/"),
         "county clerk of 990102 (above)", None),
        ("county list page", "county clerk /households/?path=electric&state=accepted",
         page("scale_clerk", "/households/?path=electric&state=accepted"),
         "same as the city admin (212 k)", page("scale_city", "/households/?path=electric&state=accepted")),
        ("ID search", "ID search, county clerk (list page)", page("scale_clerk", clerk_search),
         "ID search, province user (5.3 M)", page("scale_province", province_search)),
        ("progress past date", "progress counts 2022-08-31, one city (Xinzhou size)", lambda: counts_on(CITY, 6, PAST, 2022),
         "", None),
        ("progress past date", "progress counts 2022-08-31, province", SLOW(lambda: counts_on(PROVINCE, 4, PAST, 2022)),
         "one city (above)", None),
        ("progress past date", "progress page 2022-08-31, city 9901", page("scale_city", "/progress/990100000000/?date=2022-08-31"),
         "", None),
        ("dashboard", "city dashboard /dashboard/ (city 9901)", page("scale_city", "/dashboard/"),
         "county dashboard /dashboard/990102000000/", page("scale_city", "/dashboard/990102000000/")),
    ]
    if not args.skip_scan:
        cases.append(("compliance scan", "compliance scan, province (all rules)", lambda: scan(PROVINCE),
                      "one city", lambda: scan(CITY)))
    extra = old_paths(number, users)
    print(f"\n{'case':<58} {'first':>9} {'median':>9}  target    | baseline {'':<34} median")
    for target, name, fn, base_name, base_fn in cases + extra:
        if args.only not in name:
            continue
        first, median = timed(fn, args.slow_repeat if getattr(fn, "slow", False) else args.repeat, before=bump)
        base = timed(base_fn, args.repeat, before=bump)[1] if base_fn else None
        limit = TARGETS_MS[target]
        verdict = "ok" if median <= limit else "OVER"
        base_text = f"{base:9.1f} ms (case/baseline {median / base:.2f})" if base else ""
        print(f"{name:<58} {first:7.0f} ms {median:7.0f} ms  ≤{limit:<6} {verdict:<4} | {base_name:<42} {base_text}",
              flush=True)
    cached = timed(page("scale_city", "/dashboard/"), max(3, args.repeat))[1]
    print(f"{'city dashboard, figures cached (repeat visit)':<58} {'':>9} {cached:7.0f} ms")


def old_paths(number, users):
    """The paths the fixes replaced, timed beside the new ones (named baselines)."""
    from cleanheat.ledger.models import Household
    from cleanheat.ledger.queries import household_queryset, scoped_households
    from cleanheat.ledger import identity
    from cleanheat import pii
    from cleanheat.regions.scope import code_q
    from django.db.models import Q

    def old_search(user):
        def run():  # the search before: name LIKE '%…%' OR hash OR number prefix (a scan of the scope)
            text = identity.normalise_text(number)
            q = Q(householder_name__contains=text) | Q(id_number_hash=pii.blind_index(text, "id")) | \
                Q(household_no__startswith=text)
            list(scoped_households(user).filter(q, archived=False).order_by("household_no")[:50])
            assert Household.objects.exists()
        return run
    def old_list(prefix):
        def run():  # the list before: a code range in household-number order (hh_list_idx walked from the start)
            list(Household.objects.filter(code_q("village_id", prefix), archived=False).select_related("village")
                 .order_by("household_no")[:50])
        return run

    def new_search(user):
        def run():  # what the list view runs for the term: household_queryset, first page
            list(household_queryset(user, q=number).order_by("household_no")[:50])
        return run
    return [("county list page", f"old list query, county {LATE_COUNTY} (last city), page 1", old_list(LATE_COUNTY),
             f"old list query, county {COUNTY}", old_list(COUNTY)),
            ("ID search", "ID search query (household_queryset), county clerk", new_search(users["scale_clerk"]),
             "same, province user (5.3 M)", new_search(users["scale_province"])),
            ("ID search", "old ID search query (name OR hash), county clerk", old_search(users["scale_clerk"]),
             "old query, province user", old_search(users["scale_province"]))]


if __name__ == "__main__":
    main()
