"""Reports (issue #19): the weekly dispatch table and the annual summary, filled for a past date, against
counts made by hand from a small ledger built here: a plan year of its own (2021, which the demo does
not use, so only these households count), two counties' targets and schedules, and seven households
whose lifecycle events are dated (one stepped back, one archived). Every expected cell is computed in
this file from the ledger written below, never read from the code under test."""
import io
from collections import defaultdict
from datetime import date

import openpyxl
import pytest

from cleanheat.ledger import asof
from cleanheat.ledger import services as ledger
from cleanheat.ledger.models import Household, LifecycleEvent
from cleanheat.plan.models import CountyPlan, Plan, ScheduleEntry, Target
from cleanheat.regions.models import Region
from cleanheat.reports import loader

from .factories import household_data

pytestmark = pytest.mark.django_db
CITY, XINFU, YUANPING = "140900000000", "140902", "140981"
YEAR = 2021
STEPS = ("confirmed", "selected", "installing", "installed", "accepted", "proven", "removed")
TARGETS = {XINFU: {"electric": 8, "gas": 4}, YUANPING: {"electric": 5}}
SCHEDULE = {XINFU: {"electric": 3, "gas": 1}, YUANPING: {"electric": 2}}   # cumulative installed by the checkpoint
WEEKLY_ON = date(2021, 9, 30)                                                 # = the checkpoint
# (county, path, [(state, day), …], archived); a step back is a state listed after a later one
LEDGER = [
    (XINFU, "electric", [("confirmed", "2021-05-01"), ("selected", "2021-05-20"), ("installing", "2021-06-10"),
                         ("installed", "2021-07-15"), ("accepted", "2021-08-20"), ("proven", "2022-03-20")], False),
    (XINFU, "electric", [("confirmed", "2021-05-01"), ("selected", "2021-06-01"), ("installing", "2021-07-01"),
                         ("installed", "2021-09-10")], False),
    (XINFU, "gas", [("confirmed", "2021-05-01"), ("selected", "2021-05-15"), ("installing", "2021-06-15"),
                    ("installed", "2021-08-01"), ("accepted", "2021-09-01"), ("proven", "2022-03-20"),
                    ("removed", "2022-04-10")], False),
    (XINFU, "gas", [("confirmed", "2021-05-01")], False),
    (YUANPING, "electric", [("confirmed", "2021-05-01"), ("selected", "2021-06-01"), ("installing", "2021-08-01"),
                            ("installed", "2021-10-15")], False),
    (XINFU, "electric", [("confirmed", "2021-05-01"), ("selected", "2021-05-20"), ("installing", "2021-06-10"),
                         ("installed", "2021-07-20"), ("installing", "2021-08-15")], False),   # stepped back
    (XINFU, "electric", [("confirmed", "2021-05-01"), ("selected", "2021-05-20"), ("installing", "2021-06-10"),
                         ("installed", "2021-07-20")], True),                                 # archived
]
COUNTY_NAMES = {XINFU: "忻府区", YUANPING: "原平市"}


@pytest.fixture
def small_ledger(city_admin):
    """The 2021 plan with its two counties, and the households of LEDGER with their dated events."""
    plan = Plan.objects.create(
        city_code=CITY, year=YEAR, name="2021年度测试计划", county_plans_due=date(2021, 4, 30),
        works_start=date(2021, 5, 1), works_deadline=date(2021, 10, 31), self_check_start=date(2021, 11, 1),
        self_check_end=date(2021, 11, 15), assessment_start=date(2021, 11, 16), assessment_end=date(2021, 11, 30),
        heating_season_end=date(2022, 3, 15), annual_report_due=date(2022, 4, 27))
    for county, per in TARGETS.items():
        cp = CountyPlan.objects.create(plan=plan, county_code=county)
        for path, n in per.items():
            Target.objects.create(county_plan=cp, heating_path=path, households=n)
            ScheduleEntry.objects.create(county_plan=cp, heating_path=path, checkpoint=WEEKLY_ON,
                                         installed=SCHEDULE[county][path], accepted=0)
    villages = {c: Region.objects.filter(level=4, code__startswith=c).order_by("code").first().code for c in TARGETS}
    for county, path, steps, archived in LEDGER:
        extra = {"electric_device": "ashp_air"} if path == "electric" else {}
        h = ledger.create_household(household_data(county=county, village=villages[county], heating_path=path,
                                                   plan_year=str(YEAR), **extra), user=city_admin)
        h.lifecycle_events.all().delete()   # registered back then: the dated history replaces today's entry
        previous = ""
        for state, day in steps:
            LifecycleEvent.objects.create(household=h, from_state=previous, to_state=state,
                                          occurred_on=date.fromisoformat(day), reason="测试台账",
                                          is_backstep=bool(previous) and STEPS.index(state) < STEPS.index(previous))
            previous = state
        Household.objects.filter(pk=h.pk).update(state=previous, archived=archived)
    asof.rebuild()  # the dated history above was written past the ledger's door, which keeps the as-of table
    return plan


def state_on(steps, on: date):
    """The household's state on `on`: its last event up to that day (None before its first)."""
    last = None
    for state, day in steps:
        if date.fromisoformat(day) <= on:
            last = state
    return last


def hand_count(on: date) -> dict:
    """{county: {step: households that had reached `step` on `on`}} of the active households."""
    out = defaultdict(lambda: dict.fromkeys(STEPS, 0))
    for county, path, steps, archived in LEDGER:
        state = state_on(steps, on)
        if archived or state is None:
            continue
        for step in STEPS[:STEPS.index(state) + 1]:
            out[county][step] += 1
    return out


def generate_sheet(client, layout, on: date):
    response = client.post("/reports/generate/", {"template": layout, "region": CITY, "asof": on.isoformat(),
                                                   "year": str(YEAR)})
    assert response.status_code == 302
    body = b"".join(client.get(response.url).streaming_content)
    return openpyxl.load_workbook(io.BytesIO(body)).active


def rows_by_unit(ws) -> dict:
    out = {}
    for row in ws.iter_rows(min_row=5, values_only=True):
        if row[0]:
            out[row[0]] = [None if v == "" else v for v in row[1:]]
    return out


def test_weekly_dispatch_for_a_past_date_matches_hand_counts(client, city_admin, small_ledger):
    client.force_login(city_admin)
    rows = rows_by_unit(generate_sheet(client, "weekly-dispatch", WEEKLY_ON))
    counts = hand_count(WEEKLY_ON)
    totals = defaultdict(int)
    for county, name in COUNTY_NAMES.items():
        c = counts[county]
        target, expected = sum(TARGETS[county].values()), sum(SCHEDULE[county].values())
        # 目标户数, 计划应完工, 确村确户, 施工中+, 已完工, 完工率%, 落后户数
        assert rows[name] == [target, expected, c["confirmed"], c["installing"], c["installed"],
                              round(100 * c["installed"] / target, 1), max(0, expected - c["installed"])], name
        for key, n in (("target", target), ("expected", expected), *((s, c[s]) for s in STEPS)):
            totals[key] += n
    # by hand: 忻府区 has 5 confirmed (the archived one left out), 4 at 施工中 or beyond (one stepped
    # back), 3 installed against 4 expected; 原平市's one installs after the date
    assert (counts[XINFU]["confirmed"], counts[XINFU]["installing"], counts[XINFU]["installed"]) == (5, 4, 3)
    assert counts[YUANPING]["installed"] == 0
    others = [row for name, row in rows.items() if name not in (*COUNTY_NAMES.values(), "合计")]
    assert len(others) == Region.objects.filter(parent_id=CITY).count() - 2 and all(row[:2] == [None, None] and row[2:5] == [0, 0, 0] for row in others)
    assert rows["合计"] == [totals["target"], totals["expected"], totals["confirmed"], totals["installing"],
                          totals["installed"], round(100 * totals["installed"] / totals["target"], 1),
                          max(0, totals["expected"] - totals["installed"])]


def test_annual_summary_after_the_season_matches_hand_counts_and_emissions(client, city_admin, small_ledger):
    client.force_login(city_admin)
    on = small_ledger.annual_report_due
    rows = rows_by_unit(generate_sheet(client, "annual-summary", on))
    counts = hand_count(on)
    data = loader.read_emissions()   # the figures the database was loaded with (the survey basis)
    s = data["settings"]
    surveyed = {r["county_code"]: r["t_per_household"] for r in data["coal_use"]}
    path_energy = {p["heating_path"]: p for p in data["paths"]}
    co2 = {f["carrier"]: f["kg_per_unit"] for f in data["factors"] if f["pollutant"] == "co2"}
    for county, name in COUNTY_NAMES.items():
        proven = {path: 0 for path in ("electric", "gas")}
        unproven = 0
        for c, path, steps, archived in LEDGER:
            state = state_on(steps, on)
            if c != county or archived:
                continue
            if state in ("proven", "removed"):
                proven[path] += 1
            elif state in ("installed", "accepted"):
                unproven += 1
        t = surveyed.get(county, surveyed[""])
        coal_t = sum(proven.values()) * t
        avoided = 0.0
        for path, n in proven.items():   # kg: the coal's CO₂ less the new energy's (docs/emissions-method.md)
            heat_kwh = n * t * 1000 * s["coal_mj_per_kg"] * s["stove_efficiency"] / 3.6
            pe = path_energy[path]
            units = heat_kwh * 3.6 / (pe["efficiency"] * pe["mj_per_unit"])
            avoided += n * t * co2["coal"] - units * co2[pe["carrier"]]
        row = rows[name]
        c = counts[county]
        # 目标户数, 已完工, 已验收, 稳定运行户数, 已完工未满一季户数, 替代散煤（t）, CO₂减排（t）
        assert row[:5] == [sum(TARGETS[county].values()), c["installed"], c["accepted"], sum(proven.values()),
                           unproven], name
        assert row[5] == pytest.approx(round(coal_t, 2)) and row[6] == pytest.approx(round(avoided / 1000, 2)), name
    # by hand: 忻府区's electric and gas households proven (the gas one's stove removed since),
    # one installed in September still unproven; 原平市's October one unproven
    assert rows["忻府区"][3:6] == [2, 1, pytest.approx(6.8)] and rows["原平市"][3:6] == [0, 1, 0]
    assert rows["合计"][3:5] == [2, 2]
