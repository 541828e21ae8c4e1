"""Issue #18 (f): the ledger confirmed bottom-up (village → township → county → city), a level only
after all its children, approved data locked on every door until the approving level reopens it."""
import json

import pytest
from django.core.exceptions import ValidationError

from cleanheat.imports import ledger_import
from cleanheat.inspections import approvals
from cleanheat.ledger import services
from cleanheat.ledger.models import Household

from .conftest import make_user
from .factories import household_data
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db
YEAR = 2022


@pytest.fixture
def township():
    """A township of 忻府区 with households of 2022, and its villages holding them."""
    code = Household.objects.filter(village__code__startswith="140902", plan_year=YEAR).order_by("village_id") \
        .values_list("village_id", flat=True).first()[:9]
    return code.ljust(12, "0"), approvals.children(code, YEAR)


def test_a_township_is_approved_only_after_all_its_villages(township):
    code, villages = township
    town = make_user("ap_town", code[:9], role="township_clerk")
    county = make_user("ap_county", code[:6], role="county_admin")
    for village in villages[:-1]:
        approvals.approve(YEAR, village, user=town)
    with pytest.raises(ValidationError, match=r"还有1个村未确认"):
        approvals.approve(YEAR, code, user=county)
    with pytest.raises(ValidationError, match="须由上一级确认"):
        approvals.approve(YEAR, code, user=town)   # a township does not confirm itself
    approvals.approve(YEAR, villages[-1], user=town)
    approval = approvals.approve(YEAR, code, user=county)
    assert approval.approved and sum(approval.figures.values()) == Household.objects.filter(
        village__code__startswith=code[:9], plan_year=YEAR, archived=False).count()
    with pytest.raises(ValidationError, match="个乡镇未确认"):
        approvals.approve(YEAR, code[:6].ljust(12, "0"), user=make_user("ap_city", "1409", role="city_admin"))


def test_approved_data_is_locked_on_every_door_until_reopened(township, client, tmp_path):
    code, villages = township
    town = make_user("ap_town2", code[:9], role="township_clerk")
    clerk = make_user("ap_clerk", code[:6], role="county_clerk")
    household = Household.objects.filter(village_id=villages[0], plan_year=YEAR, archived=False,
                                         state="confirmed").first() or \
        services.create_household(household_data(village=villages[0], plan_year=str(YEAR)), user=clerk)
    approvals.approve(YEAR, villages[0], user=town)
    with pytest.raises(ValidationError, match="数据已锁定"):
        services.update_household(household, {"household_size": "7"}, user=clerk)
    with pytest.raises(ValidationError, match="数据已锁定"):
        services.create_household(household_data(village=villages[0], plan_year=str(YEAR)), user=clerk)
    client.force_login(clerk)
    api = client.patch(f"/api/households/{household.household_no}", json.dumps({"household_size": 7}),
                       content_type="application/json")
    assert api.status_code == 422 and "数据已锁定" in json.dumps(api.json(), ensure_ascii=False)
    sheet = write_sheet(tmp_path / "lock.xlsx", TEMPLATE_HEADER,
                        [template_row(household_no=household.household_no, household_size="8")])
    assert any("数据已锁定" in p for p in ledger_import.analyse(sheet, user=clerk, filename="lock.xlsx").problems())
    with pytest.raises(ValidationError, match="须填写原因"):
        approvals.reopen(YEAR, villages[0], reason="", user=town)
    with pytest.raises(ValidationError, match="上一级单位可以重新打开"):
        approvals.reopen(YEAR, villages[0], reason="户数有误", user=make_user("ap_vil", villages[0],
                                                                            role="village_clerk"))
    approvals.reopen(YEAR, villages[0], reason="户数有误，需更正", user=town)
    services.update_household(household, {"household_size": "7"}, user=clerk)
    household.refresh_from_db()
    assert household.household_size == 7


def test_the_approval_page_lists_the_level_below_and_refuses_out_of_order(township, client):
    code = township[0]
    county = make_user("ap_county3", code[:6], role="county_admin")
    client.force_login(county)
    page = client.get(f"/inspections/approvals/?year={YEAR}").content.decode()
    assert code in page and "未确认" in page
    refused = client.post("/inspections/approvals/act/", {"year": YEAR, "region_code": code}, follow=True)
    assert "未确认" in refused.content.decode() and "下级全部确认后才能确认本级" in refused.content.decode()
