"""Fewer mistakes (issue 15, part 8): required fields marked and named when empty, an error summary
at the top, only the allowed next state offered (and a separate 回退 with a reason), and batch
actions on selected households, each through the service and the rules."""
import re

import pytest

from cleanheat.ledger import services
from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent

from .conftest import make_user
from .factories import household_data

pytestmark = pytest.mark.django_db
REQUIRED_LABELS = ["户主姓名", "身份证号", "采暖面积（㎡）", "原取暖设施", "取暖路径"]


def text(response):
    return response.content.decode()


def marked(page: str) -> list[str]:
    """The labels carrying the required-field marker."""
    return [label.strip() for label in re.findall(r'<label[^>]*>([^<]*)<span class="req"', page)]


def test_the_create_form_marks_what_is_required(admin_client):
    page = text(admin_client.get("/households/new/"))
    assert sorted(marked(page)) == sorted(REQUIRED_LABELS + ["县（市、区）", "村（社区）"])
    assert page.count('aria-required="true"') == len(REQUIRED_LABELS)


def test_the_edit_form_does_not_mark_identifiers_kept_when_left_blank(admin_client, city_admin):
    household = services.create_household(household_data(), user=city_admin)
    page = text(admin_client.get(f"/households/{household.household_no}/edit/"))
    assert sorted(marked(page)) == sorted(set(REQUIRED_LABELS) - {"身份证号"})


def test_an_empty_form_says_what_to_fill_in_and_sums_it_up_at_the_top(admin_client):
    before = Household.objects.count()
    page = text(admin_client.post("/households/new/", {"structure": "brick_concrete", "household_size": "1"}))
    assert Household.objects.count() == before
    for message in ("请选择所属村（社区）", "请填写户主姓名", "请填写身份证号", "请填写采暖面积（㎡）",
                    "请选择原取暖设施", "请选择取暖路径"):
        assert message in page, message
    assert "不是有效的" not in page and "“”" not in page
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    assert page.index('id="error-summary"') < page.index("<fieldset")  # at the top of the form
    links = re.findall(r'<a href="#([^"]+)">', summary)
    assert {"id_village", "id_householder_name", "id_original_facility", "id_heating_path"} <= set(links)
    for anchor in links:
        assert f'id="{anchor}"' in page or anchor == "id_village"  # the picker draws id_village by htmx


def test_the_service_names_an_empty_choice_for_every_door(city_admin):
    with pytest.raises(services.ValidationError) as refused:
        services.create_household(household_data(original_facility="", heating_path=" "), user=city_admin)
    errors = refused.value.message_dict
    assert errors["original_facility"] == ["请选择原取暖设施"] and errors["heating_path"] == ["请选择取暖路径"]
    data = household_data()
    del data["heated_area"]
    with pytest.raises(services.ValidationError) as missing:
        services.create_household(data, user=city_admin)
    assert missing.value.message_dict["heated_area"] == ["请填写采暖面积（㎡）"]


def test_the_household_page_offers_only_the_next_state_and_a_separate_step_back(admin_client, city_admin):
    household = services.create_household(household_data(), user=city_admin)
    page = text(admin_client.get(f"/households/{household.household_no}/"))
    assert 'id="next-step"' in page and 'name="to_state" value="selected"' in page
    assert "下一步：已选型" in page and 'id="step-back"' not in page  # nothing to go back to yet
    assert "<option value=\"installing\"" not in page

    services.transition(household, "selected", user=city_admin)
    services.transition(household, "installing", user=city_admin)
    page = text(admin_client.get(f"/households/{household.household_no}/"))
    forward = page.split('id="next-step"')[1].split("</details>")[0]
    back = page.split('id="step-back"')[1].split("</details>")[0]
    assert 'name="to_state" value="installed"' in forward and "<select" not in forward
    assert re.findall(r'<option value="(\w+)"', back) == ["selected", "confirmed"]
    assert 'name="reason"' in back and "required" in back

    url = f"/households/{household.household_no}/transition/"
    refused = text(admin_client.post(url, {"to_state": "selected"}, follow=True))
    assert "回退改造状态必须填写原因" in refused
    admin_client.post(url, {"to_state": "selected", "reason": "设备型号选错"})
    household.refresh_from_db()
    assert household.state == "selected"
    assert LifecycleEvent.objects.filter(household=household, is_backstep=True, reason="设备型号选错").exists()


def _confirm_then_run(client, data):
    confirm = client.post("/households/batch/", data)
    assert confirm.status_code == 200 and 'id="batch-confirm"' in text(confirm)
    return confirm, client.post("/households/batch/", {**data, "step": "run"})


def test_batch_state_change_confirms_first_then_reports_each_household(client, city_admin):
    clerk = make_user("batch_clerk", "140902", role="county_clerk")
    client.force_login(clerk)
    fresh = [services.create_household(household_data(), user=clerk) for _ in range(2)]
    ahead = services.create_household(household_data(), user=clerk)
    services.transition(ahead, "selected", user=clerk)
    elsewhere = services.create_household(household_data(county="140981", householder_name="外县户主"),
                                          user=city_admin)
    numbers = [h.household_no for h in fresh + [ahead, elsewhere]]
    data = {"action": "transition", "to_state": "selected", "household_no": numbers, "back": "state=confirmed"}

    confirm = client.post("/households/batch/", data)
    assert all(h.household_no in text(confirm) for h in fresh + [ahead])
    assert elsewhere.householder_name not in text(confirm) and "不在您的管辖范围内" in text(confirm)
    assert Household.objects.get(pk=fresh[0].pk).state == "confirmed"  # nothing happens before confirming
    assert 'name="step" value="run"' in text(confirm)
    result = client.post("/households/batch/", {**data, "step": "run"})

    page = text(result)
    assert "已完成 2 户，未执行 2 户" in page
    rows = {no: outcome for outcome, no in re.findall(r'<tr class="(done|refused)"><td[^>]*>(?:<a[^>]*>)?(\d+)', page)}
    assert rows == {fresh[0].household_no: "done", fresh[1].household_no: "done",
                    ahead.household_no: "refused", elsewhere.household_no: "refused"}
    assert "该户已处于“已选型”状态" in page
    assert [h.state for h in Household.objects.filter(pk__in=[h.pk for h in fresh])] == ["selected", "selected"]
    assert HouseholdChange.objects.filter(household__in=fresh, field="state", channel="ui").count() == 2
    assert Household.objects.get(pk=elsewhere.pk).state == "confirmed"
    assert 'href="/households/?state=confirmed"' in page


def test_batch_step_back_needs_a_reason_per_household_and_batch_archive_a_reason(client):
    clerk = make_user("batch_clerk2", "140902", role="county_clerk")
    client.force_login(clerk)
    household = services.create_household(household_data(), user=clerk)
    services.transition(household, "selected", user=clerk)
    _, result = _confirm_then_run(client, {"action": "transition", "to_state": "confirmed",
                                           "household_no": [household.household_no]})
    assert "回退改造状态必须填写原因" in text(result) and "已完成 0 户，未执行 1 户" in text(result)

    refused = client.post("/households/batch/", {"action": "archive", "household_no": [household.household_no]},
                          follow=True)
    assert "请填写归档原因" in text(refused) and not Household.objects.get(pk=household.pk).archived
    _, result = _confirm_then_run(client, {"action": "archive", "reason": "已搬迁",
                                           "household_no": [household.household_no]})
    assert "已完成 1 户" in text(result) and Household.objects.get(pk=household.pk).archived
    assert "请先勾选" in text(client.post("/households/batch/", {"action": "archive", "reason": "x"}, follow=True))


def test_batch_archive_needs_the_archive_permission(client):
    household = Household.objects.filter(village__code__startswith="140902", archived=False).first()
    client.force_login(make_user("batch_village", household.village_id, role="village_clerk"))
    page = text(client.get("/households/"))
    assert 'id="batch-form"' in page and '<option value="archive">' not in page
    response = client.post("/households/batch/", {"action": "archive", "reason": "x",
                                                   "household_no": [household.household_no], "step": "run"})
    assert response.status_code == 403 and not Household.objects.get(pk=household.pk).archived


def test_readers_get_no_selection_boxes(client):
    client.force_login(make_user("batch_reader", "1409", role="inspector"))
    page = text(client.get("/households/"))
    assert "共 " in page and 'id="batch-form"' not in page and 'name="household_no"' not in page


def test_the_batch_list_offers_every_state_as_target(admin_client):
    page = text(admin_client.get("/households/"))
    form = page.split('id="batch-form"')[1].split("</form>")[0]
    assert re.findall(r'<option value="(\w+)"', form.split('name="to_state"')[1]) == STATE_ORDER


def test_other_long_forms_mark_required_fields_and_sum_up_their_errors(admin_client):
    page = admin_client.get("/accounts/users/new/").content.decode()
    marked_labels = re.findall(r'<label for="id_(\w+)" class="required"', page)
    assert {"username", "full_name", "role", "region_scope"} <= set(marked_labels)
    assert "organisation" not in marked_labels
    refused = admin_client.post("/accounts/users/new/", {"username": "", "full_name": "", "role": "",
                                                         "region_scope": ""}).content.decode()
    summary = refused.split('id="error-summary"')[1].split("</div>")[0]
    for message in ("请填写用户名", "请填写姓名", "请选择角色"):
        assert message in summary, message
    assert "这个字段是必填项" not in refused

    contract = admin_client.get("/procurement/contracts/new/").content.decode()
    assert re.findall(r'<label for="id_contract_no" class="required"', contract)
