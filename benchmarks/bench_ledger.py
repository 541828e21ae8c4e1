"""Full-city ledger benchmark: load the 212,549-household demo, then time the city rollup page,
filtered household lists, the city dashboard, progress for a past date and the city-wide
compliance scan (medians of repeated requests through Django's test client).

Then the pages users land on, each as its own logged-in user (city administrator, county
administrator, village clerk), whole page through the test client: uncached (the figures computed in
the request, as before cleanheat/figures: the generation is bumped before each request, as after a
write, and pages are not split) beside cached (repeated visits), with the ratio; and what the first
visit after a write answers with page splitting on (the page at once, its figures by htmx).

Baseline, measured in the same run: the naive rollup (one COUNT query per county × path × state).

    .venv/bin/python benchmarks/bench_ledger.py [--db PATH] [--reuse] [--repeat N] [--uncached-repeat N]
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
    parser.add_argument("--uncached-repeat", type=int, default=3, help="repeats of the slow uncached requests")
    args = parser.parse_args()
    full_demo.open_full_demo(args)
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    from cleanheat.accounts.models import User
    from cleanheat.figures.services import bump
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
        ("progress recompute for a past date (counts only)", lambda: (bump(), counts_on("1409", 6, date(2022, 8, 31)))),
        ("city-wide compliance scan (all rules)", lambda: scan("1409")),
        ("compliance page /compliance/", get("/compliance/")),
    ]
    results = {}
    print("repeated requests (pages: figures computed in the first, cached for the rest)")
    with override_settings(CLEANHEAT_DEFER_FIGURES_FROM=10 ** 12):
        for name, fn in cases:
            results[name] = median_ms(fn, args.repeat)
            print(f"{name:<48} median {results[name]:8.1f} ms  (n={args.repeat})")
    uncached = landing_pages(user, args)
    baseline = median_ms(naive_rollup, max(3, args.repeat // 5))
    city = uncached["city landing /regions/140900000000/"]
    print(f"{'baseline: naive per-cell COUNT rollup':<48} median {baseline:8.1f} ms")
    print(f"city rollup page, uncached, vs naive baseline: {baseline / city:.1f}x faster")


def landing_pages(city_user, args):
    """Whole pages as each role's user: uncached (computed in the request) vs cached, and the first
    answer after a write when the page loads its figures separately."""
    from django.test import Client
    from django.test.utils import override_settings

    from cleanheat.accounts.models import User
    from cleanheat.figures.services import bump
    from cleanheat.regions.models import Region

    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code")[5]
    users = {"city": city_user}
    for key, role, scope in (("county", "county_admin", "140902"), ("village", "village_clerk", village.code)):
        users[key], _ = User.objects.get_or_create(username=f"bench_{key}", defaults={
            "role": role, "region_scope": scope, "must_change_password": False})
    clients = {}
    for key, user in users.items():
        clients[key] = Client()
        clients[key].force_login(user)
    pages = [
        ("city landing /regions/140900000000/", "city", "/regions/140900000000/", 300),
        ("county landing /regions/140902000000/", "county", "/regions/140902000000/", 300),
        (f"village clerk /regions/{village.code}/", "village", f"/regions/{village.code}/", 300),
        ("合规检查 city /compliance/", "city", "/compliance/", 1000),
        ("合规检查 drill-down ?rule=gas&severity=breach", "city", "/compliance/?rule=gas&severity=breach", 300),
        ("合规检查 drill-down county /compliance/140902…/", "city", "/compliance/140902000000/", 300),
        ("city dashboard /dashboard/", "city", "/dashboard/", 300),
        ("county dashboard /dashboard/ (county admin)", "county", "/dashboard/", 300),
    ]

    def get(client, url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    def after_write(client, url):
        def run():
            bump()  # as after any write: nothing cached for this generation
            get(client, url)
        return run

    print(f"\nlanding pages, whole page as a logged-in user (uncached n={args.uncached_repeat}, cached n={args.repeat})")
    print(f"{'page':<48} {'uncached':>10} {'cached':>9} {'ratio':>7}  target")
    with override_settings(CLEANHEAT_DEFER_FIGURES_FROM=10 ** 12):  # computed in the request, as before
        uncached = {name: median_ms(after_write(clients[who], url), args.uncached_repeat)
                    for name, who, url, _ in pages}
    for name, who, url, target in pages:
        get(clients[who], "/compliance/" if "drill-down" in name else url)  # the city first, as a user would
        cached = median_ms(lambda: get(clients[who], url), args.repeat)
        verdict = "ok" if cached <= target else "OVER"
        print(f"{name:<48} {uncached[name]:8.1f} ms {cached:6.1f} ms {uncached[name] / cached:6.1f}x  "
              f"≤{target} ms {verdict}")
    print("first visit after a write, page splitting on (answer at once, figures by htmx with an indicator):")
    for name, who, url, fragment in (("city landing", "city", "/regions/140900000000/", "/regions/140900000000/figures/"),
                                     ("合规检查 city", "city", "/compliance/", "/compliance/140900000000/results/")):
        client = clients[who]
        shell = median_ms(after_write(client, url), args.uncached_repeat)
        bump()
        assert "data-loading" in get(client, url).content.decode(), url  # answered before computing
        rest = median_ms(after_write(client, fragment), args.uncached_repeat)
        print(f"  {name:<46} page {shell:7.1f} ms, then its figures {rest:8.1f} ms")
    return uncached


if __name__ == "__main__":
    main()
