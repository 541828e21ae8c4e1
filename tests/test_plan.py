from collections import Counter
from datetime import date

import pytest

from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import Household, LifecycleEvent
from cleanheat.plan import schedule as scheduling
from cleanheat.plan import services
from cleanheat.plan.models import CountyPlan, Plan, PlanChange, ScheduleEntry
from cleanheat.plan.progress import counts_on, reached
from cleanheat.plan.dashboard import progress_rows
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from .conftest import make_user


@pytest.mark.parametrize("target, capacity", [(0, None), (1, None), (9846, None), (44656, None), (5000, 1000), (6000, 1000)])
def test_schedule_sums_to_target_is_front_loaded_and_ends_by_the_deadline(target, capacity):
    entries = scheduling.schedule(target, date(2022, 5, 11), date(2022, 10, 15), capacity)
    assert [d for d, _ in entries] == [date(2022, 5, 31), date(2022, 6, 30), date(2022, 7, 31), date(2022, 8, 31),
                                        date(2022, 9, 30), date(2022, 10, 15)]
    amounts = [b - a for (_, a), (_, b) in zip([(None, 0)] + entries[:-1], entries)]
    assert entries[-1][1] == target and all(a >= 0 for a in amounts)
    if capacity:
        assert max(amounts) <= capacity
    else:
        assert amounts == sorted(amounts, reverse=True)  # front-loaded


def test_capacity_too_small_is_explained():
    with pytest.raises(ValueError, match="施工能力"):
        scheduling.schedule(10000, date(2022, 5, 11), date(2022, 10, 15), capacity=1000)


def test_planned_by_interpolates_within_a_month():
    entries = [(date(2022, 5, 31), 100), (date(2022, 6, 30), 160)]
    start = date(2022, 5, 11)
    assert scheduling.planned_by(entries, start, date(2022, 5, 10)) == 0
    assert scheduling.planned_by(entries, start, date(2022, 5, 31)) == 100
    assert scheduling.planned_by(entries, start, date(2022, 6, 15)) == 130
    assert scheduling.planned_by(entries, start, date(2023, 1, 1)) == 160


@pytest.mark.django_db
def test_loaded_plan_matches_the_document_and_wutai_finishes_by_1_october():
    plan = Plan.objects.get(year=2022)
    assert (plan.works_start, plan.works_deadline, plan.county_plans_due) == \
        (date(2022, 5, 11), date(2022, 10, 15), date(2022, 5, 10))
    totals = Counter()
    for cp in CountyPlan.objects.filter(plan=plan):
        for t in cp.targets.all():
            totals[t.heating_path] += t.households
            last = ScheduleEntry.objects.filter(county_plan=cp, heating_path=t.heating_path,
                                                checkpoint__lte=cp.deadline).order_by("checkpoint").last()
            assert last.installed == t.households and last.checkpoint == cp.deadline
    assert dict(totals) == {"central": 151831, "electric": 40342, "gas": 9846, "biomass": 10530}
    assert CountyPlan.objects.get(plan=plan, county_code="140971").deadline == date(2022, 10, 1)
    assert sum(cp.building_town_m2 for cp in plan.counties.all()) == 2029400
    assert sum(cp.building_rural_m2 for cp in plan.counties.all()) == 1834500


def brute_force(prefix, on):
    """State of each active household on `on`, replayed from its lifecycle events in Python."""
    last = {}
    for e in LifecycleEvent.objects.filter(household__archived=False).order_by("id").values(
            "household_id", "household__village_id", "household__heating_path", "to_state", "occurred_on"):
        if e["occurred_on"] <= on and e["household__village_id"].startswith(prefix):
            last[e["household_id"]] = (e["household__heating_path"], e["to_state"])
    return Counter(last.values())


@pytest.mark.django_db
@pytest.mark.parametrize("on", [date(2022, 6, 30), date(2022, 10, 15), date(2023, 6, 1)])
def test_progress_for_a_past_date_equals_a_brute_force_replay_at_every_level(on):
    sample = [Region.objects.get(level=codes.CITY)] + [
        Region.objects.filter(level=level).order_by("code")[5] for level in (codes.COUNTY, codes.TOWNSHIP, codes.VILLAGE)]
    for region in sample:
        counts = counts_on(region.prefix, len(region.prefix), on)
        assert dict(counts.get(region.prefix, {})) == dict(brute_force(region.prefix, on)), (region, on)


@pytest.mark.django_db
def test_progress_today_uses_current_states_and_counts_reached_cumulatively():
    city = Region.objects.get(level=codes.CITY)
    today = counts_on(city.prefix, 4)["1409"]
    current = Counter(Household.objects.filter(archived=False).values_list("heating_path", "state"))
    assert dict(today) == dict(current)
    cumulative = reached(today)
    assert cumulative[0] == sum(current.values())
    assert cumulative[STATE_ORDER.index("installed")] == sum(
        n for (_, s), n in current.items() if STATE_ORDER.index(s) >= STATE_ORDER.index("installed"))


@pytest.mark.django_db
def test_behind_schedule_units_are_flagged_with_days_left():
    city = Region.objects.get(level=codes.CITY)
    plan = Plan.objects.get(year=2022)
    rows = progress_rows(city, plan, date(2022, 9, 1), None)
    xinfu = next(r for r in rows if r["region"].code == "140902000000")
    installed = xinfu["reached"][STATE_ORDER.index("installed")]
    assert xinfu["target"] == sum(t.households for t in CountyPlan.objects.get(plan=plan, county_code="140902").targets.all())
    assert xinfu["behind"] == max(0, xinfu["expected"] - installed) > 0  # the test ledger is a 0.5 % sample
    assert xinfu["days_left"] == (date(2022, 10, 15) - date(2022, 9, 1)).days
    wutai = next(r for r in rows if r["region"].code == "140971000000")
    assert wutai["days_left"] == (date(2022, 10, 1) - date(2022, 9, 1)).days


@pytest.mark.django_db
def test_target_edits_are_versioned_and_reschedule(client):
    admin = make_user("plan_admin", "1409", role="city_admin")
    cp = CountyPlan.objects.get(plan__year=2022, county_code="140921")
    before = cp.targets.get(heating_path="gas").households
    with pytest.raises(Exception, match="原因"):
        services.set_target(cp, "gas", 2000, user=admin, reason="")
    services.set_target(cp, "gas", 2000, user=admin, reason="气源合同扩容")
    change = PlanChange.objects.get()
    assert (change.user, change.old_value, change.new_value, change.reason) == (admin, str(before), "2000", "气源合同扩容")
    last = ScheduleEntry.objects.filter(county_plan=cp, heating_path="gas", checkpoint=cp.deadline).get()
    assert last.installed == 2000
    clerk = make_user("plan_clerk", "140921", role="county_clerk")
    with pytest.raises(Exception):
        services.set_target(cp, "gas", 1, user=clerk, reason="自己改目标")


@pytest.mark.django_db
def test_progress_page_renders_with_past_dates_and_scope(client):
    client.force_login(make_user("prog_city", "1409", role="city_viewer"))
    page = client.get("/progress/140900000000/", {"date": "2022-09-01"}).content.decode()
    assert "进度滞后" in page and "忻府区" in page and "五台山风景名胜区" in page
    client.force_login(make_user("prog_county", "140902", role="county_clerk"))
    assert client.get("/progress/140900000000/").status_code == 404
    assert client.get("/progress/140902000000/").status_code == 200


@pytest.mark.django_db
def test_county_edits_submits_and_city_approves_or_returns_the_schedule(client):
    cp = CountyPlan.objects.get(plan__year=2022, county_code="140923")
    clerk = make_user("sch_clerk", "140923", role="county_clerk")
    city = make_user("sch_city", "1409", role="city_admin")
    client.force_login(clerk)
    entry = ScheduleEntry.objects.filter(county_plan=cp, heating_path="gas").order_by("checkpoint").first()
    key = f"gas|{entry.checkpoint:%Y-%m-%d}"
    # more than the target is refused with a Chinese message, and nothing is saved
    response = client.post("/plan/schedule/140923/?year=2022", {"action": "save", f"i|{key}": "999999"}, follow=True)
    assert "超过目标" in response.content.decode()
    entry.refresh_from_db()
    before = entry.installed
    client.post("/plan/schedule/140923/?year=2022", {"action": "save", f"i|{key}": str(before - 1), f"a|{key}": "0"})
    entry.refresh_from_db()
    assert entry.installed == before - 1
    client.post("/plan/schedule/140923/?year=2022", {"action": "submit"})
    cp.refresh_from_db()
    assert cp.schedule_status == "submitted" and cp.schedule_submitted_at
    assert "已报送" in client.post("/plan/schedule/140923/?year=2022", {"action": "save"}, follow=True).content.decode()
    client.force_login(city)
    client.post("/plan/schedule/140923/?year=2022", {"action": "return", "note": ""})
    cp.refresh_from_db()
    assert cp.schedule_status == "submitted"  # a return needs a reason
    client.post("/plan/schedule/140923/?year=2022", {"action": "return", "note": "7月安排过于集中"})
    cp.refresh_from_db()
    assert cp.schedule_status == "returned" and cp.schedule_review_note == "7月安排过于集中"
    assert list(PlanChange.objects.filter(plan=cp.plan).order_by("id").values_list("what", flat=True)) == \
        ["140923 月度计划修改", "140923 月度计划报送", "140923 月度计划退回"]


@pytest.mark.django_db
def test_plan_page_lists_counties_and_city_edits_targets_with_a_reason(client):
    client.force_login(make_user("plan_page_city", "1409", role="city_admin"))
    page = client.get("/plan/?year=2022").content.decode()
    assert "五台山风景名胜区" in page and "2022-10-01" in page and "县级方案备案" in page
    client.post("/plan/?year=2022", {"county": "140924", "path": "biomass", "households": "700", "reason": "生物质电厂扩容"})
    change = PlanChange.objects.get(what__startswith="140924")
    assert change.new_value == "700" and "生物质电厂扩容" in client.get("/plan/?year=2022").content.decode()


@pytest.mark.django_db
def test_capacity_regenerates_the_schedule_or_explains_why_it_cannot(client):
    cp = CountyPlan.objects.get(plan__year=2022, county_code="140932")
    client.force_login(make_user("cap_clerk", "140932", role="county_clerk"))
    page = client.post("/plan/schedule/140932/?year=2022", {"action": "capacity", "monthly_capacity": "10"}, follow=True).content.decode()
    assert "施工能力" in page and "不足目标" in page
    biggest = max(t.households for t in cp.targets.all())
    capacity = -(-biggest // 6)  # just enough for six checkpoints
    client.post("/plan/schedule/140932/?year=2022", {"action": "capacity", "monthly_capacity": str(capacity)})
    cp.refresh_from_db()
    assert cp.monthly_capacity == capacity
    for t in cp.targets.all():
        points = list(ScheduleEntry.objects.filter(county_plan=cp, heating_path=t.heating_path,
                                                   checkpoint__lte=cp.deadline).order_by("checkpoint"))
        steps = [b.installed - a.installed for a, b in zip([None] + points[:-1], points) if a] + [points[0].installed]
        assert max(steps) <= capacity and points[-1].installed == t.households
