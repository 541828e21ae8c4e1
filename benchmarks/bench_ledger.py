"""Full-city ledger benchmark: load the 212,549-household demo, then time the city rollup page,
filtered household lists, the city dashboard, progress for a past date and the city-wide
compliance scan (medians of repeated
requests through Django's test client).

Baseline, measured in the same run: the naive rollup (one COUNT query per county × path × state).

    .venv/bin/python benchmarks/bench_ledger.py [--db PATH] [--reuse] [--repeat N]
"""
import argparse
import statistics
import time

import full_demo  # noqa: E402  (sits beside this script; puts the project on sys.path)


def median_ms(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    full_demo.add_arguments(parser)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    full_demo.open_full_demo(args)
    from django.test import Client
    from django.test.utils import setup_test_environment

    from cleanheat.accounts.models import User
    from cleanheat.ledger.choices import HeatingPath, LifecycleState
    from cleanheat.ledger.models import Household
    from cleanheat.regions.models import Region
    from cleanheat.plan.progress import counts_on
    from cleanheat.rules.compliance import scan
    from datetime import date

    setup_test_environment()
    user, _ = User.objects.get_or_create(username="bench", defaults={"role": "city_admin", "region_scope": "1409",
                                                                   "must_change_password": False})
    client = Client()
    client.force_login(user)

    def get(url):
        def run():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return run

    def naive_rollup():
        for county in Region.objects.filter(level=2):
            for path in HeatingPath.values:
                for state in LifecycleState.values:
                    Household.objects.filter(village__code__startswith=county.code[:6], heating_path=path,
                                             state=state, archived=False).count()

    cases = [
        ("city rollup page /regions/140900000000/", get("/regions/140900000000/")),
        ("county rollup page /regions/140902000000/", get("/regions/140902000000/")),
        ("list: path=electric&state=accepted", get("/households/?path=electric&state=accepted")),
        ("list: region=140981 flag=is_dibao page 3", get("/households/?region=140981&flag=is_dibao&page=3")),
        ("list: search name 王", get("/households/?q=%E7%8E%8B")),
        ("list: unfiltered, page 2000", get("/households/?page=2000")),
        ("city dashboard /dashboard/", get("/dashboard/")),
        ("progress page for a past date (2022-08-31)", get("/progress/140900000000/?date=2022-08-31")),
        ("progress recompute for a past date (counts only)", lambda: counts_on("1409", 6, date(2022, 8, 31))),
        ("city-wide compliance scan (all rules)", lambda: scan("1409")),
        ("compliance page /compliance/", get("/compliance/")),
    ]
    results = {}
    for name, fn in cases:
        results[name] = median_ms(fn, args.repeat)
        print(f"{name:<48} median {results[name]:8.1f} ms  (n={args.repeat})")
    baseline = median_ms(naive_rollup, max(3, args.repeat // 5))
    city = results[cases[0][0]]
    print(f"{'baseline: naive per-cell COUNT rollup':<48} median {baseline:8.1f} ms")
    print(f"city rollup page vs naive baseline: {baseline / city:.1f}x faster")


if __name__ == "__main__":
    main()
