"""The ledger's public building blocks: the lifecycle's one rule, the field cleaners, the builders
and the bulk paths an import writes through."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from cleanheat import pii
from cleanheat.ledger import bulk, cleaning, history, labels, lifecycle, records, services
from cleanheat.ledger.choices import STATE_ORDER, Channel, LifecycleState
from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent
from cleanheat.rules.models import HeatSource

from .factories import household_data, new_id_number, village


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def label(step):
    return str(LifecycleState(step).label)


# ---- lifecycle (no database)

def test_the_steps_are_the_states_in_order():
    assert list(lifecycle.STEPS) == [s.value for s in LifecycleState] == STATE_ORDER


def test_one_step_forward_is_allowed_and_a_skip_names_the_next_step():
    assert lifecycle.check_move("confirmed", "selected", label=label) is None
    refusal = lifecycle.check_move("confirmed", "installing", label=label)
    assert refusal.field == "to_state" and "下一步只能是“已选型”" in refusal.message


def test_moving_back_needs_a_reason_and_is_never_done_by_an_import():
    assert lifecycle.check_move("installed", "selected", label=label).field == "reason"
    assert lifecycle.check_move("installed", "selected", label=label, reason="设备退换") is None
    refusal = lifecycle.check_move("installed", "selected", label=label, reason="设备退换", backward=False)
    assert "导入不能回退" in refusal.message


def test_staying_put_is_not_a_move():
    assert "已处于“已完工”" in lifecycle.check_move("installed", "installed", label=label).message


def test_a_new_household_cannot_start_after_a_season_of_stable_running():
    assert [s for s in lifecycle.STEPS if lifecycle.check_start(s, label=label)] == ["proven", "removed"]
    assert "先立后破" in lifecycle.check_start("removed", label=label).message


# ---- planning several steps at once (an import naming a later step), no database

TODAY = date(2024, 1, 10)
D = {step: date(2022, 3 + k, 1) for k, step in enumerate(lifecycle.STEPS)}  # one day per step, in order


def plan(current, target, dates, **kw):
    return lifecycle.plan_steps(current, target, dates, label=label, today=TODAY, **kw)


def test_a_new_household_at_a_later_step_goes_through_every_step_before_it():
    planned = plan(None, "installed", {"confirmed": D["confirmed"], "installed": D["installed"]})
    assert planned.steps == (("confirmed", D["confirmed"]), ("selected", D["installed"]),
                             ("installing", D["installed"]), ("installed", D["installed"]))
    assert planned.borrowed == (("selected", "installed"), ("installing", "installed"))


def test_without_a_state_the_furthest_date_names_the_step_and_without_any_date_steps_are_dated_on_writing():
    assert plan(None, None, {"selected": D["selected"]}).steps == (("confirmed", D["selected"]),
                                                                     ("selected", D["selected"]))
    assert plan(None, None, {}).steps == (("confirmed", None),)
    undated = plan(None, "installing", {})
    assert undated.steps == (("confirmed", None), ("selected", None), ("installing", None))
    assert undated.borrowed == (("confirmed", None), ("selected", None), ("installing", None))


def test_an_existing_household_moves_on_from_where_it_is_and_earlier_dates_change_nothing():
    planned = plan("selected", None, {"confirmed": D["confirmed"], "accepted": D["accepted"]})
    assert [s for s, _ in planned.steps] == ["installing", "installed", "accepted"]
    assert {d for _, d in planned.steps} == {D["accepted"]}
    assert plan("installed", None, {"confirmed": D["confirmed"], "installed": D["installed"]}).steps == ()
    assert plan("installed", "installed", {}).steps == ()


def test_the_state_date_dates_the_target_unless_the_target_has_its_own_date():
    assert plan(None, "selected", {}, target_date=D["selected"]).steps[-1] == ("selected", D["selected"])
    own = plan(None, "selected", {"selected": D["selected"]}, target_date=D["installed"])
    assert own.steps[-1] == ("selected", D["selected"])


@pytest.mark.parametrize("dates, kw, field, words", [
    ({"installed": date(2024, 2, 1)}, {}, "installed", "晚于今天"),
    ({}, {"target_date": date(2024, 2, 1)}, "state_date", "晚于今天"),
    ({"confirmed": D["installed"], "installed": D["confirmed"]}, {}, "installed", "各步日期应按改造顺序先后排列"),
    ({"accepted": D["accepted"]}, {"target": "installed"}, "accepted", "改造状态为“已完工”"),
    ({"removed": D["removed"]}, {}, "to_state", "先立后破"),
])
def test_dates_in_the_future_out_of_order_or_beyond_the_state_are_refused_naming_the_date(dates, kw, field, words):
    refusal = plan(None, kw.pop("target", None), dates, **kw)
    assert isinstance(refusal, lifecycle.Refusal) and refusal.field == field and words in refusal.message


def test_a_move_dated_before_the_households_last_move_or_backwards_is_refused():
    refusal = plan("selected", None, {"installed": D["selected"]}, since=D["installing"])
    assert refusal.field == "installed" and "早于该户上一次改造状态变更" in refusal.message
    assert "导入不能回退" in plan("installed", "selected", {}).message
    assert plan("accepted", "proven", {}, since=D["accepted"]).steps == (("proven", None),)  # the rules decide


# ---- cleaners

def test_every_editable_field_has_its_cleaner():
    assert set(cleaning.CLEANERS) == set(services.EDITABLE_FIELDS)


@pytest.mark.parametrize("name, typed, kept", [
    ("heated_area", "85 ㎡", Decimal("85.0")),
    ("heating_path", "空气源热泵", "electric"),
    ("original_facility", "土炕", "kang"),
    ("is_dibao", "是", True),
    ("envelope_gain_pct", "35%", 35),
    ("electric_device", " ", ""),
])
def test_a_cleaner_keeps_what_a_clerk_means(name, typed, kept):
    assert cleaning.clean_field(name, typed) == kept


@pytest.mark.parametrize("name, typed, says", [
    ("heated_area", "5000", "采暖面积5000.0㎡不合理"),
    ("is_dibao", "也许", "应填“是”或“否”"),
    ("structure", "帐篷", "不是有效的房屋结构"),
    ("household_size", "0", "家庭人口应在1到30人之间"),
    ("nickname", "x", "未知字段"),
])
def test_a_cleaner_says_in_chinese_what_it_refuses(name, typed, says):
    with pytest.raises(ValueError, match=says):
        cleaning.clean_field(name, typed)


@pytest.mark.django_db
def test_the_village_cleaner_keeps_to_the_writers_area(county_clerk):
    inside, outside = village("140902"), village("140921")
    assert cleaning.clean_field("village", inside.code, user=county_clerk) == inside
    with pytest.raises(ValueError, match="不在您的管辖范围内"):
        cleaning.clean_field("village", outside.code, user=county_clerk)


# ---- builders

@pytest.mark.django_db
def test_numbers_are_consecutive_per_county_and_never_reused():
    first = records.next_household_numbers("140902", 3)
    assert [int(n[6:]) for n in first] == [int(first[0][6:]) + i for i in range(3)]
    again = records.household_numbers(["140902001201", "140921100201", "140902001202"])
    assert again[0][:6] == again[2][:6] == "140902" and again[1].startswith("140921")
    assert int(again[0][6:]) == int(first[-1][6:]) + 1 and int(again[2][6:]) == int(again[0][6:]) + 1


@pytest.mark.django_db
def test_set_values_stores_identifiers_encrypted_and_reports_only_real_changes():
    number = new_id_number()
    household = records.new_household({"householder_name": "张三", "id_number": number}, state="confirmed",
                                      now=timezone.now())
    assert household.id_number_hash == pii.blind_index(number, "id") and number not in household.id_number_cipher
    assert records.set_values(household, {"householder_name": "张三", "id_number": number}) == []
    assert records.set_values(household, {"householder_name": "李四"}) == [("householder_name", "张三", "李四")]


# ---- bulk paths

def _cleaned(**overrides):
    data = household_data(**overrides)
    return services.clean_household_data(data)


@pytest.mark.django_db
def test_import_households_numbers_in_order_and_writes_first_events_and_history(city_admin):
    started = date.today() - timedelta(days=30)
    objects = bulk.NewObjects([records.new_household(_cleaned(), state="selected", now=None) for _ in range(2)],
                              [(("confirmed", started - timedelta(days=9)), ("selected", started)),
                               (("confirmed", None), ("selected", None))], [3, 5])
    writer = bulk.Writer(user=city_admin, channel=Channel.IMPORT, source="乡镇台账.xlsx")
    bulk.import_households(bulk.NewColumns(values={}, secrets={}, steps=[], order=[]), objects,
                           writer=writer, reason="导入建档：乡镇台账.xlsx")
    earlier, later = objects.households
    assert int(later.household_no[6:]) == int(earlier.household_no[6:]) + 1  # numbered in file order
    events = list(LifecycleEvent.objects.filter(household=earlier).order_by("id")
                  .values_list("from_state", "to_state", "occurred_on", "channel"))
    assert events == [("", "confirmed", started - timedelta(days=9), "import"),
                      ("confirmed", "selected", started, "import")]
    assert {e.occurred_on for e in LifecycleEvent.objects.filter(household=later)} == {timezone.localdate()}
    created = HouseholdChange.objects.get(household=later)
    assert (created.field, created.new_value, created.source) == ("created", later.household_no, "乡镇台账.xlsx")


@pytest.mark.django_db
def test_apply_updates_writes_history_and_moves_and_refuses_a_stale_copy(city_admin):
    household = services.create_household(household_data(), user=city_admin)
    version = household.version
    changes = records.set_values(household, {"address": "2号"})
    writer = bulk.Writer(user=city_admin, channel=Channel.IMPORT, source="更新.xlsx")
    bulk.apply_updates([bulk.Update(household, changes, (("selected", None), ("installing", None)))],
                       writer=writer, reason="导入：更新.xlsx")
    household.refresh_from_db()
    assert (household.address, household.state, household.version) == ("2号", "installing", version + 1)
    assert {(c.field, c.old_value, c.new_value, c.version) for c in household.changes.exclude(field="created")} == {
        ("address", "1号", "2号", version + 1), ("state", "confirmed", "selected", version + 1),
        ("state", "selected", "installing", version + 1)}
    assert list(household.lifecycle_events.order_by("id").values_list("from_state", "to_state")) == [
        ("", "confirmed"), ("confirmed", "selected"), ("selected", "installing")]

    stale = Household.objects.get(pk=household.pk)
    services.update_household(household, {"address": "3号"}, user=city_admin)  # someone saves meanwhile
    with pytest.raises(bulk.ChangedMeanwhile) as refused:
        bulk.apply_updates([bulk.Update(stale, records.set_values(stale, {"address": "4号"}))], writer=writer,
                           reason="")
    assert refused.value.numbers == [household.household_no]


# ---- history and labels

@pytest.mark.django_db
def test_history_lines_read_as_a_person_reads_them(city_admin):
    household = services.create_household(household_data(), user=city_admin)
    source = HeatSource.objects.get(pk=household.heat_source_id)
    history.fields_changed(household=household, changes=[("heat_source", "", str(source.pk)),
                                                         ("is_dibao", "False", "True")],
                           user=city_admin, channel=Channel.UI)
    lines = {line.field_label: line for line in labels.history_lines(household.changes.all())}
    assert lines["热源"].new_display == source.name and lines["热源"].channel_label == "网页"
    assert (lines["低保"].old_display, lines["低保"].new_display) == ("否", "是")
    assert lines["建档"].new_display == household.household_no
