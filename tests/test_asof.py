"""The as-of-a-day counts kept in `ProgressDelta` (ledger.asof) stay exactly what the lifecycle history
says (rollup.counts_on_from_ledger, the reference query) after random edits through every write path:
forward and back steps, back-dated ones, an event recorded out of date order, path / plan-year /
village changes, archiving and restoring, new households one by one and in bulk, bulk updates with
dated steps, and a township merge."""
import random
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from cleanheat.imports import ledger_import
from cleanheat.ledger import asof, bulk, lifecycle, rollup, services
from cleanheat.ledger.choices import STATE_ORDER, Channel
from cleanheat.ledger.models import Household, LifecycleEvent, ProgressDelta
from cleanheat.ledger.records import new_household
from cleanheat.ledger.steps import state_steps
from cleanheat.regions import codes
from cleanheat.regions import services as regions
from cleanheat.regions.models import Region

from .conftest import make_user
from .factories import household_data, new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db
COUNTY = "140902"
VIEWS = [("", 6), ("1409", 4), ("1409", 6), (COUNTY, 9), (COUNTY, 12), ("140981", 12)]
INSTALLED_OR_FURTHER = STATE_ORDER[STATE_ORDER.index("installed"):]
WRITER = bulk.Writer(user=None, channel=Channel.IMPORT, source="测试")


def days():
    today = timezone.localdate()
    return [date(2022, 3, 20), date(2022, 6, 1), date(2022, 9, 30), date(2023, 4, 10), date(2024, 1, 1),
            today - timedelta(days=40), today - timedelta(days=1), today]


def assert_exact():
    for on in days():
        for prefix, length in VIEWS:
            for year in (None, 2022):
                fast = asof.counts_on(prefix, length, on, year)
                slow = rollup.counts_on_from_ledger(prefix, length, on, year)
                assert fast == slow, (on, prefix, length, year)
                # the dashboard's curve: each day's change of the installed-or-further count adds up to it
                changes = asof.entered_by_day(prefix, length, on, INSTALLED_OR_FURTHER, year)
                installed = {unit: sum(n for (_, state), n in c.items() if state in INSTALLED_OR_FURTHER)
                             for unit, c in slow.items()}
                assert {u: sum(c.values()) for u, c in changes.items() if sum(c.values())} == \
                    {u: n for u, n in installed.items() if n}, (on, prefix, length, year)


def last_day(household) -> date:
    return household.lifecycle_events.order_by("-id").first().occurred_on


def between(rng, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def step(rng, household):
    """One random lifecycle move through the service: forward (back-dated) or back."""
    here = lifecycle.index(household.state)
    today = timezone.localdate()
    if here + 1 < len(lifecycle.STEPS) and rng.random() < 0.7:
        services.transition(household, lifecycle.STEPS[here + 1], occurred_on=between(rng, last_day(household), today))
    elif here > 0:
        services.transition(household, lifecycle.STEPS[rng.randrange(here)], reason="测试回退",
                            occurred_on=between(rng, last_day(household), today))
    else:
        raise ValidationError("nothing to do")


def change(rng, household, villages):
    field = rng.choice(["heating_path", "plan_year", "village"])
    value = {"heating_path": rng.choice(["electric", "gas", "central", "biomass"]),
             "plan_year": rng.choice([2022, 2023, 2024]), "village": rng.choice(villages)}[field]
    services.update_household(household, {field: value, **({"electric_device": "air_source_heat_pump"}
                                                              if value == "electric" else {})})


def test_random_edits_through_every_write_path_keep_the_counts_exact():
    rng = random.Random(20)
    assert_exact()  # the demo loader's rebuild
    active = list(Household.objects.filter(archived=False, village__code__startswith=COUNTY).order_by("pk"))
    villages = list(Region.objects.filter(level=codes.VILLAGE, code__startswith=COUNTY).values_list("code", flat=True))
    done = {"step": 0, "change": 0, "archive": 0, "restore": 0}
    for household in rng.sample(active, 60):
        kind = rng.choice(["step", "step", "change", "archive"])
        try:
            if kind == "step":
                step(rng, household)
            elif kind == "change":
                change(rng, household, villages)
            else:
                services.archive_household(household, reason="测试归档")
                if rng.random() < 0.5:
                    services.restore_household(household)
                    done["restore"] += 1
            done[kind] += 1
        except ValidationError:
            pass  # refused by a rule: nothing written, the counts must still agree
    assert min(done.values()) >= 3, done
    assert_exact()


def test_an_event_recorded_out_of_date_order_and_new_households_count_as_the_history_says():
    household = Household.objects.filter(archived=False, village__code__startswith=COUNTY,
                                         lifecycle_events__occurred_on__gt=date(2022, 7, 1)).first()
    with asof.kept([household.pk]):  # recorded last, dated before the last event: it wins from its day on
        LifecycleEvent.objects.create(household=household, from_state=household.state, to_state="selected",
                                      occurred_on=date(2022, 6, 15), channel=Channel.IMPORT)
    services.create_household(household_data())
    assert_exact()


def test_bulk_imports_updates_and_a_township_merge_keep_the_counts_exact(monkeypatch):
    monkeypatch.setattr(asof, "SET_BASED_FROM", 2)  # this import's block of ids is added set-based, as a large one
    today = timezone.localdate()
    made = [new_household(services.clean_household_data(household_data()), state="installed", now=timezone.now())
            for _ in range(3)]
    objects = bulk.NewObjects(households=made, order=[0, 1, 2], steps=[
        (("confirmed", date(2022, 4, 1)), ("selected", date(2022, 5, 1)), ("installing", None), ("installed", None))
        for _ in made])
    bulk.import_households(bulk.NewColumns(values={}, secrets={}, steps=[], order=[]), objects,
                           writer=WRITER, reason="导入")
    movers = list(Household.objects.filter(archived=False, village__code__startswith=COUNTY, state="confirmed")[:5])
    bulk.apply_updates([bulk.Update(household=h, changes=[], steps=(("selected", today - timedelta(days=3)),))
                        for h in movers], writer=WRITER, reason="导入")
    townships = [t for t in Region.objects.filter(level=codes.TOWNSHIP, code__startswith=COUNTY).order_by("code")
                 if Household.objects.filter(village__code__startswith=t.prefix).exists()][:2]
    admin = make_user("asof_admin", "1409", role="city_admin")
    change = regions.record_change(kind="merge", effective_on=today, from_codes=[t.code for t in townships],
                                   to_code=townships[0].code, to_name="新合并镇", note="测试", user=admin)
    services.apply_region_change(change, user=admin)
    assert_exact()


def test_a_rebuild_gives_the_maintained_table_back_and_verify_agrees():
    household = Household.objects.filter(archived=False, village__code__startswith=COUNTY, state="confirmed").first()
    services.transition(household, "selected", occurred_on=timezone.localdate() - timedelta(days=2))
    kept = set(ProgressDelta.objects.exclude(n=0).values_list("grain", "unit", "day", "plan_year", "heating_path",
                                                              "state", "n"))
    ProgressDelta.objects.all().delete()
    asof.rebuild()
    assert set(ProgressDelta.objects.values_list("grain", "unit", "day", "plan_year", "heating_path", "state", "n")) \
        == kept
    call_command("rebuild_progress", "--verify")


def test_state_steps_follow_the_latest_recorded_event_by_each_day():
    d = date(2022, 5, 1)
    events = [(1, "confirmed", d), (2, "selected", d + timedelta(days=10)), (3, "confirmed", d + timedelta(days=5)),
              (4, "installing", d + timedelta(days=5)), (5, "selected", d + timedelta(days=20))]
    # by day 5 the latest recorded is #4; on day 10 #2 is older than #4, so nothing changes; day 20: #5
    assert state_steps(events) == [(d, "confirmed", None), (d + timedelta(days=5), "installing", "confirmed"),
                                   (d + timedelta(days=20), "selected", "installing")]


def test_a_ledger_import_of_new_households_with_dated_steps_keeps_the_counts_exact(tmp_path):
    clerk = make_user("asof_clerk", COUNTY, role="county_clerk")
    village = Region.objects.filter(level=codes.VILLAGE, code__startswith=COUNTY).order_by("code")[2]
    rows = [template_row(village_code=village.code, householder_name=f"导入{i}", id_number=new_id_number(COUNTY),
                         phone="13900001111", heated_area="90", structure="砖混", original_facility="土暖气",
                         heating_path="集中供热", household_size="3", confirmed_on="2022-03-02",
                         selected_on=f"2022-0{4 + i % 3}-1{i}", installing_on="" if i % 2 else "2022-09-01",
                         state="已选型" if i % 2 else "施工中") for i in range(6)]
    path = tmp_path / "ledger.xlsx"
    write_sheet(path, TEMPLATE_HEADER, rows)
    result = ledger_import.analyse(path, user=clerk, filename=path.name)
    assert result.fast is not None and len(result.fast) == 6  # the column-by-column path (bulk._insert_columns)
    ledger_import.commit(result, user=clerk)
    assert Household.objects.filter(householder_name__startswith="导入").count() == 6
    assert_exact()
