"""Issue 12, findings 1 and 2: refusals never reveal what lies outside the caller's area.

A clerk of 忻府区 (A) tries an ID number that heads a household of 原平市 (B): the refusal names
neither that household nor B, and the attempt is recorded for both counties' administrators and the
city. Ids of another county's contract lines, catalog models and heat sources answer as if they did
not exist."""
import json

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from cleanheat import pii
from cleanheat.audit.models import DuplicateAttempt
from cleanheat.imports import ledger_import
from cleanheat.ledger import services
from cleanheat.ledger.models import Household
from cleanheat.procurement import services as procurement
from cleanheat.procurement.models import CatalogModel, ContractLine, CountyContract, TenderLot
from cleanheat.regions.models import Region
from cleanheat.rules.models import HeatSource

from .conftest import make_user
from .factories import household_data, new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db
A, B, C = "140902", "140981", "140921"
GENERIC = "该身份证号已在其他地区登记为户主，请联系县级管理员核实"


def household_in(county, skip=0):
    return Household.objects.filter(village__code__startswith=county, archived=False).order_by("pk")[skip]


def plain_id(household):
    return pii.decrypt(household.id_number_cipher)


def county_name(county):
    return Region.objects.get(code=county.ljust(12, "0")).name


def assert_names_nothing_of(text, household):
    assert household.household_no not in text
    assert county_name(household.village_id[:6]) not in text
    assert household.village.name not in text


def page_messages(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


# ---- a householder of another county: the same refusal whatever the door --------------------

def test_creating_on_the_page_with_another_countys_id_names_nothing_and_is_recorded(client, county_clerk):
    theirs = household_in(B)
    client.force_login(county_clerk)
    data = household_data(id_number=plain_id(theirs))
    before = Household.objects.count()
    response = client.post("/households/new/", data)
    page = response.content.decode()
    assert response.status_code == 200 and GENERIC in page
    assert_names_nothing_of(page, theirs)
    assert Household.objects.count() == before
    attempt = DuplicateAttempt.objects.get()  # kept although the write was refused and rolled back
    assert (attempt.user, attempt.username, attempt.channel) == (county_clerk, "t_xinfu", "ui")
    assert attempt.id_number_masked == theirs.id_number_masked
    assert (attempt.region_code, attempt.other_region_code) == (data["village"], theirs.village_id)
    assert attempt.other_household_no == theirs.household_no
    assert attempt.id_number_hash == theirs.id_number_hash
    assert plain_id(theirs) not in json.dumps([str(v) for v in vars(attempt).values()])
    # inside the clerk's own county the refusal still says which household, and is no attempt
    ours = household_in(A, skip=1)
    page = client.post("/households/new/", household_data(id_number=plain_id(ours))).content.decode()
    assert f"该身份证号已是户 {ours.household_no}" in page
    assert DuplicateAttempt.objects.count() == 1


def test_changing_the_id_through_the_api_gets_the_same_refusal_and_record(client, county_clerk):
    mine, theirs = household_in(A), household_in(B)
    client.force_login(county_clerk)
    response = client.patch(f"/api/households/{mine.household_no}", json.dumps({"id_number": plain_id(theirs)}),
                            content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"]["id_number"] == [GENERIC]
    assert_names_nothing_of(response.content.decode(), theirs)
    mine.refresh_from_db()
    assert mine.id_number_hash != theirs.id_number_hash
    attempt = DuplicateAttempt.objects.get()
    assert (attempt.channel, attempt.region_code, attempt.other_household_no) == ("api", mine.village_id,
                                                                                  theirs.household_no)


def test_importing_another_countys_id_names_nothing_and_is_recorded_once(client, county_clerk, tmp_path):
    theirs = household_in(B)
    village = Region.objects.filter(level=4, code__startswith=A).order_by("code").first()
    rows = [template_row(village_code=village.code, householder_name="导入测试", id_number=plain_id(theirs),
                         heated_area="90", original_facility="土暖气", heating_path="集中供热"),
            template_row(village_code=village.code, householder_name="导入测试", id_number=new_id_number(A),
                         heated_area="90", original_facility="土暖气", heating_path="集中供热")]
    sheet = write_sheet(tmp_path / "他县户主.xlsx", TEMPLATE_HEADER, rows)
    for by_row in (False, True):  # the column path and the row path say the same
        (problem,) = ledger_import.analyse(sheet, user=county_clerk, filename=sheet.name, by_row=by_row,
                                           record_attempts=False).problems()
        assert problem.startswith("第2行") and GENERIC in problem
        assert_names_nothing_of(problem, theirs)
    assert not DuplicateAttempt.objects.exists()
    client.force_login(county_clerk)  # upload, preview, commit the valid row: one attempt on record
    with open(sheet, "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    assert GENERIC in client.get(job_url).content.decode()
    client.post(job_url + "commit/", {"mode": "valid_only"})
    assert "已写入1户" in client.get(job_url).content.decode()
    attempt = DuplicateAttempt.objects.get()
    assert (attempt.channel, attempt.user, attempt.region_code, attempt.other_household_no) == (
        "import", county_clerk, village.code, theirs.household_no)


@pytest.fixture
def archived_mine_heading_theirs():
    """A household of A, archived; meanwhile its householder heads a household of B."""
    mine, theirs = household_in(A, skip=2), household_in(B, skip=1)
    services.archive_household(mine, reason="迁往原平", user=None)
    services.update_household(theirs, {"id_number": plain_id(mine)}, user=None)
    mine.refresh_from_db()
    return mine, theirs


def test_restoring_when_the_householder_heads_a_household_of_another_county(client, county_clerk, city_admin,
                                                                           archived_mine_heading_theirs):
    mine, theirs = archived_mine_heading_theirs
    client.force_login(county_clerk)
    response = client.post(f"/households/{mine.household_no}/restore/", {"reason": "迁回"})
    said = page_messages(response)
    assert GENERIC in said
    assert_names_nothing_of(said, theirs)
    mine.refresh_from_db()
    assert mine.archived
    attempt = DuplicateAttempt.objects.get()
    assert (attempt.channel, attempt.user, attempt.id_number_masked) == ("ui", county_clerk, mine.id_number_masked)
    assert (attempt.region_code, attempt.other_region_code, attempt.other_household_no) == (
        mine.village_id, theirs.village_id, theirs.household_no)
    # the city sees both households: it is told which one, and that is no attempt
    with pytest.raises(ValidationError, match=f"户主已在户 {theirs.household_no} 登记"):
        services.restore_household(mine, reason="迁回", user=city_admin)
    assert DuplicateAttempt.objects.count() == 1


# ---- the list of attempts --------------------------------------------------------------------

def test_attempts_are_listed_for_both_counties_and_the_city_but_no_one_else(client, county_clerk, city_admin):
    theirs = household_in(B)
    with pytest.raises(ValidationError):
        services.create_household(household_data(id_number=plain_id(theirs)), user=county_clerk)
    mine = DuplicateAttempt.objects.get()
    admins = {county: make_user(f"adm_{county}", county, role="county_admin") for county in (A, B, C)}

    def page(user):
        client.force_login(user)
        response = client.get("/audit/duplicates/")
        assert response.status_code == 200
        return response.content.decode()

    for user in (admins[A], admins[B], city_admin):
        text = page(user)
        assert mine.id_number_masked in text and "t_xinfu" in text and county_name(B) in text
        assert county_name(A) in text
    assert theirs.household_no not in page(admins[A])   # the other county's household: theirs to see
    assert theirs.household_no in page(admins[B]) and theirs.household_no in page(city_admin)
    third = page(admins[C])
    assert "没有记录" in third and mine.id_number_masked not in third and "t_xinfu" not in third
    client.force_login(admins[A])
    assert 'href="/audit/duplicates/"' in client.get("/audit/").content.decode()
    client.force_login(county_clerk)
    assert client.get("/audit/duplicates/").status_code == 403


# ---- ids of another county answer as if they did not exist ------------------------------------

@pytest.fixture
def b_line():
    lot = TenderLot.objects.create(tender_no="B-ZB", code="1", name="乙县自行招标", year=2022, county_code=B,
                                   path="electric")
    model = CatalogModel.objects.create(lot=lot, vendor="乙县企业", equipment_type="ashp_water", model_name="B-1",
                                        rated_capacity_kw=10, seasonal_efficiency="2.8", unit_price=20000,
                                        rating_points=[{"t": -12, "kw": 10, "cop": 2.5}])
    contract = CountyContract.objects.create(county_code=B, contract_no="140981-2022-CG-007", vendor="乙县企业",
                                             title="乙县合同")
    return ContractLine.objects.create(contract=contract, model=model, quantity=5, unit_price=20000)


def electric_household_of_a():
    return services.create_household(household_data(heating_path="electric", electric_device="ashp_water",
                                                     heat_source=""), user=None)


def test_allocating_another_countys_contract_line_answers_not_found(client, county_clerk, b_line):
    household = electric_household_of_a()
    client.force_login(county_clerk)
    page = client.post(f"/households/{household.household_no}/allocate/", {"line": b_line.pk})
    api = client.post(f"/api/procurement/households/{household.household_no}/allocation",
                      json.dumps({"line_id": b_line.pk}), content_type="application/json")
    missing = client.post(f"/api/procurement/households/{household.household_no}/allocation",
                          json.dumps({"line_id": 10 ** 9}), content_type="application/json")
    assert page.status_code == api.status_code == missing.status_code == 404
    assert api.content == missing.content
    for text in (page.content.decode(), api.content.decode(), page_messages(page)):
        assert b_line.contract.contract_no not in text and county_name(B) not in text
    with pytest.raises(ValidationError) as refused:  # the service too, should a caller hand it one
        procurement.allocate(household, b_line, user=county_clerk)
    assert refused.value.messages == ["未找到该合同明细"]
    assert not household.allocations.exists()


def test_catalog_edit_page_of_another_countys_tender_answers_not_found(client, b_line):
    manager = make_user("cat_a", A, role="city_admin")  # a catalog manager given one county only
    client.force_login(manager)
    city_model = CatalogModel.objects.filter(lot__county_code="").first()
    assert client.get(f"/procurement/catalog/{city_model.pk}/edit/").status_code == 200
    assert client.get(f"/procurement/catalog/{b_line.model_id}/edit/").status_code == 404


def test_another_countys_heat_source_is_not_one_to_choose(county_clerk):
    theirs = HeatSource.objects.filter(county_code=B).first()
    for value in (theirs.name, str(theirs.pk)):
        with pytest.raises(ValidationError) as refused:
            services.create_household(household_data(heat_source=value), user=county_clerk)
        assert refused.value.message_dict["heat_source"] == [f"“{value}”不是已登记的热源，请先在热源登记中登记"]


def test_a_village_of_another_county_is_refused_without_its_name(county_clerk):
    village = Region.objects.filter(level=4, code__startswith=B).order_by("code").first()
    with pytest.raises(ValidationError) as refused:
        services.create_household(household_data(village=village.code), user=county_clerk)
    (message,) = refused.value.message_dict["village"]
    assert "管辖范围" in message and village.name not in message


@pytest.mark.parametrize("line", ["abc", "", "1e3", "１２"])
def test_a_malformed_contract_line_on_the_allocation_form_is_told_not_a_crash(client, county_clerk, line):
    household = electric_household_of_a()
    client.force_login(county_clerk)
    page = client.post(f"/households/{household.household_no}/allocate/", {"line": line}, follow=True)
    assert page.status_code == 200 and "请选择要分配的合同明细" in page_messages(page)
    assert not household.allocations.exists()
