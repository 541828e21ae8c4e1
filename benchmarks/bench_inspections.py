"""Inspections at city scale (issue #18): a 5 % sample of the whole city stratified by county and
heating path (target ≤ 2 s), and the findings dashboard with the city's findings (target ≤ 300 ms).

Measured, each as the median of --repeat runs, on the full demo (212,549 households):
  draw        the pure draw alone (sampling.draw) over every finished household of the city
  round       a city assessment round as the service creates it: read the households, draw, store the
              sample and the draw record (rounds.create_round)
  dashboard   GET /inspections/findings/ as the city administrator, with --findings findings spread
              over the sampled households (a share of them overdue)

    .venv/bin/python benchmarks/bench_inspections.py [--db PATH] [--reuse] [--repeat 3] [--findings 5000]
"""
import argparse
import time
from datetime import timedelta

import full_demo  # sits beside this script; puts the project on sys.path

YEAR = 2022
CITY = "140900000000"


def runs(times):
    return ", ".join(f"{t:.3f}" for t in times)


def main():
    parser = argparse.ArgumentParser()
    full_demo.add_arguments(parser)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--findings", type=int, default=5000)
    args = parser.parse_args()
    full_demo.open_full_demo(args)

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from cleanheat.inspections import rounds, sampling
    from cleanheat.inspections.models import Finding, InspectionRound

    started = time.perf_counter()
    sum(range(10**7))
    print(f"this machine: sum(range(10**7)) takes {time.perf_counter() - started:.2f} s (an idle laptop: ~0.15 s)")
    spec = rounds.read_rules()["city"]
    rule = sampling.Rule(spec["level"], spec["share"], spec["minimum"])
    households = rounds.eligible(CITY, YEAR)
    draw_s, draw_runs, sample = full_demo.median_of(args.repeat, lambda: sampling.draw(households, rule, 20221101))
    print(f"draw (pure): {len(sample)} of {len(households)} finished households, per county × path — "
          f"median {draw_s:.3f} s (runs {runs(draw_runs)})")

    made = []
    round_s, round_runs, round_ = full_demo.median_of(args.repeat, lambda: made.append(rounds.create_round(
        kind="city", region_code=CITY, year=YEAR, name="市级考核（基准测试）")) or made[-1])
    print(f"round (read + draw + store): {round_.samples.count()} households — median {round_s:.3f} s "
          f"(runs {runs(round_runs)}; target ≤ 2 s)")

    today = timezone.localdate()
    samples = list(round_.samples.values_list("household_id", "region_code")[:args.findings])
    Finding.objects.filter(round__name="市级考核（基准测试）").delete()
    Finding.objects.bulk_create([Finding(
        round=round_, household_id=pk, region_code=village, item_code="indoor_temp", description="当日室内温度不足18℃",
        severity="serious" if i % 5 == 0 else "normal", responsible_unit=village[:6],
        deadline=today + timedelta(days=(i % 40) - 20), status=("open", "open", "rectified", "closed")[i % 4])
        for i, (pk, village) in enumerate(samples)], batch_size=2000)
    user = get_user_model().objects.filter(role="city_admin").first()
    client = Client()
    client.force_login(user)
    client.get("/inspections/findings/")  # warm
    dash_s, dash_runs, response = full_demo.median_of(max(args.repeat, 5), lambda: client.get("/inspections/findings/"))
    assert response.status_code == 200, response.status_code
    print(f"findings dashboard: {Finding.objects.count()} findings — median {dash_s * 1000:.0f} ms "
          f"(runs {', '.join(f'{t * 1000:.0f}' for t in dash_runs)}; target ≤ 300 ms)")
    Finding.objects.filter(round__in=made).delete()
    InspectionRound.objects.filter(pk__in=[r.pk for r in made]).delete()


if __name__ == "__main__":
    main()
