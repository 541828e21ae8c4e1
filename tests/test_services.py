import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from cleanheat.ledger import services
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent

from .factories import household_data, new_id_number

pytestmark = pytest.mark.django_db


def messages(exc_info):
    return exc_info.value.message_dict


def test_create_assigns_a_number_encrypts_identifiers_and_logs(city_admin):
    data = household_data()
    h = services.create_household(data, user=city_admin, channel=Channel.API)
    assert h.household_no.startswith("140902") and len(h.household_no) == 13
    assert h.state == "confirmed"
    assert h.id_number_masked == data["id_number"][:6] + "********" + data["id_number"][-4:]
    with connection.cursor() as cur:  # a database dump alone does not reveal the number
        cur.execute("SELECT id_number_cipher, id_number_hash, phone_cipher FROM ledger_household WHERE id = %s", [h.pk])
        raw = " ".join(cur.fetchone())
    assert data["id_number"] not in raw and "13912345678" not in raw
    change = HouseholdChange.objects.get(household=h)
    assert (change.field, change.channel, change.user) == ("created", "api", city_admin)
    assert LifecycleEvent.objects.get(household=h).to_state == "confirmed"


def test_household_numbers_never_repeat_within_a_county(city_admin):
    a = services.create_household(household_data(), user=city_admin)
    b = services.create_household(household_data(), user=city_admin)
    assert int(b.household_no[6:]) == int(a.household_no[6:]) + 1


def test_one_person_cannot_be_householder_twice_anywhere_in_the_city(city_admin):
    number = new_id_number("140902")
    first = services.create_household(household_data(id_number=number), user=city_admin)
    with pytest.raises(ValidationError) as exc:
        services.create_household(household_data(id_number=number.lower(), county="140981"), user=city_admin)
    assert first.household_no in messages(exc)["id_number"][0]
    assert Household.objects.filter(id_number_hash=first.id_number_hash).count() == 1


def test_fifteen_digit_number_matches_its_eighteen_digit_form(city_admin):
    services.create_household(household_data(id_number="110105491231002"), user=city_admin)
    with pytest.raises(ValidationError, match="同一人不能同时为两户户主"):
        services.create_household(household_data(id_number="11010519491231002X"), user=city_admin)


def test_every_invalid_field_is_reported_in_chinese_and_nothing_is_written(city_admin):
    before = Household.objects.count()
    bad = household_data(id_number="140902197001011231", phone="12345", heated_area="abc",
                         heating_path="烧煤", village="140902999999")
    with pytest.raises(ValidationError) as exc:
        services.create_household(bad, user=city_admin)
    errors = messages(exc)
    assert set(errors) >= {"id_number", "phone", "heated_area", "heating_path", "village"}
    assert "校验位" in errors["id_number"][0] and "采暖面积" in errors["heated_area"][0]
    assert Household.objects.count() == before


def test_labels_are_accepted_for_choices(city_admin):
    h = services.create_household(household_data(heating_path="煤改气", structure="土坯"), user=city_admin)
    assert (h.heating_path, h.structure) == ("gas", "adobe")


def test_update_writes_one_history_line_per_changed_field(city_admin):
    h = services.create_household(household_data(), user=city_admin)
    changes = services.update_household(h, {"heated_area": "120", "address": "1号", "phone": "13600001111"},
                                        user=city_admin, channel=Channel.UI)
    assert {c[0] for c in changes} == {"heated_area", "phone"}  # address unchanged
    phone_line = HouseholdChange.objects.get(household=h, field="phone")
    assert (phone_line.old_value, phone_line.new_value) == ("139****5678", "136****1111")
    assert services.update_household(h, {"heated_area": "120.0"}, user=city_admin) == []


def test_moving_a_household_keeps_its_number(city_admin):
    h = services.create_household(household_data(), user=city_admin)
    target = household_data(county="140981")["village"]
    services.update_household(h, {"village": target}, user=city_admin)
    h.refresh_from_db()
    assert h.village_id == target and h.household_no.startswith("140902")


def test_transitions_go_one_step_forward(city_admin):
    h = services.create_household(household_data(), user=city_admin)
    with pytest.raises(ValidationError, match="不能跳过状态"):
        services.transition(h, "installing", user=city_admin)
    for state in ("selected", "installing", "installed"):
        services.transition(h, state, user=city_admin)
    h.refresh_from_db()
    assert h.state == "installed"
    assert list(h.lifecycle_events.values_list("to_state", flat=True)) == \
        ["confirmed", "selected", "installing", "installed"]


def test_stepping_back_needs_a_reason_and_is_recorded(city_admin):
    h = services.create_household(household_data(), user=city_admin)
    services.transition(h, "selected", user=city_admin)
    with pytest.raises(ValidationError) as exc:
        services.transition(h, "confirmed", user=city_admin)
    assert "原因" in messages(exc)["reason"][0]
    event = services.transition(h, "confirmed", user=city_admin, reason="用户改选其他路径")
    assert event.is_backstep and event.reason == "用户改选其他路径" and event.user == city_admin


def test_electric_households_need_a_device_type_before_selection(city_admin):
    h = services.create_household(household_data(heating_path="electric"), user=city_admin)
    with pytest.raises(ValidationError, match="设备类型"):
        services.transition(h, "selected", user=city_admin)
    services.update_household(h, {"electric_device": "空气源热泵（热风型）"}, user=city_admin)
    services.transition(h, "selected", user=city_admin)
    with pytest.raises(ValidationError, match="设备类型"):
        services.update_household(h, {"electric_device": ""}, user=city_admin)


def test_archive_and_restore_keep_everything(city_admin):
    data = household_data()
    h = services.create_household(data, user=city_admin)
    with pytest.raises(ValidationError, match="原因"):
        services.archive_household(h, reason=" ", user=city_admin)
    services.archive_household(h, reason="重复登记", user=city_admin)
    h.refresh_from_db()
    assert h.archived and Household.objects.filter(pk=h.pk).exists()
    with pytest.raises(ValidationError, match="已归档"):
        services.update_household(h, {"address": "2号"}, user=city_admin)
    services.restore_household(h, user=city_admin)
    h.refresh_from_db()
    assert not h.archived
    assert list(h.changes.filter(field="archived").values_list("new_value", flat=True)) == ["否", "是"]


def test_a_county_clerk_cannot_write_into_another_county(county_clerk):
    with pytest.raises(ValidationError) as exc:
        services.create_household(household_data(county="140981"), user=county_clerk)
    assert "管辖范围" in messages(exc)["village"][0]
    h = services.create_household(household_data(), user=county_clerk)
    with pytest.raises(ValidationError):
        services.update_household(h, {"village": household_data(county="140981")["village"]}, user=county_clerk)


@pytest.mark.parametrize("typed, stored", [("117.2", "117.2"), ("88㎡", "88.0"), ("92平方米", "92.0"), ("１２２", "122.0")])
def test_heated_area_accepts_units_and_keeps_every_digit(city_admin, typed, stored):
    h = services.create_household(household_data(heated_area=typed), user=city_admin)
    assert str(h.heated_area) == stored
