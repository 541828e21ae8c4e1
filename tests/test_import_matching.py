"""Issue 14 part 7: match before create. A row finds its household by utility account number
(电力户号, then 燃气户号), then ID number, then householder name in the village; the dry run says
which key matched; accounts are stored like phones (encrypted, keyed hash, masked, logged reveal);
an ID number heading a household of another county is flagged for both counties, never duplicated."""
import pytest
from django.core.exceptions import ValidationError

from cleanheat import pii
from cleanheat.audit.models import AuditEvent, DuplicateAttempt
from cleanheat.imports import ledger_import
from cleanheat.imports.exports import export_households
from cleanheat.ledger import services
from cleanheat.ledger.models import Household
from cleanheat.ledger.queries import household_queryset

from .conftest import make_user
from .factories import household_data, new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db
A, B = "140902", "140981"
ELEC, GAS = "0102345678", "RQ-20220017"


@pytest.fixture
def clerk():
    return make_user("match_clerk", A, role="county_clerk")


@pytest.fixture
def household():
    return services.create_household(household_data(householder_name="张铁柱", electricity_account=ELEC,
                                                    gas_account=GAS.lower()), user=None)


def analyse(path, user, by_row=False):
    return ledger_import.analyse(path, user=user, filename=path.name, by_row=by_row, record_attempts=False)


def sheet(tmp_path, *rows, name="对应.xlsx"):
    return write_sheet(tmp_path / name, TEMPLATE_HEADER, [template_row(**r) for r in rows])


def only(result):
    (res,) = result.results
    return res


def test_accounts_are_stored_encrypted_hashed_and_masked(household):
    household.refresh_from_db()
    assert household.electricity_account_masked == "01****5678"
    assert household.gas_account_masked == "RQ****0017"
    assert ELEC not in household.electricity_account_cipher
    assert pii.decrypt(household.gas_account_cipher) == "RQ20220017"  # upper case, no hyphen
    assert household.electricity_account_hash == pii.blind_index(ELEC, "elec")
    line = household.changes.get(field="created")
    assert line is not None
    with pytest.raises(ValidationError, match="电力户号“12”应为4至30位数字或字母"):
        services.update_household(household, {"electricity_account": "12"}, user=None)


def test_an_account_belongs_to_one_active_household(household, clerk):
    with pytest.raises(ValidationError, match=f"该电力户号已登记在户 {household.household_no}"):
        services.create_household(household_data(electricity_account=ELEC), user=clerk)
    other_county = make_user("b_clerk", B, role="county_clerk")
    with pytest.raises(ValidationError) as refused:
        services.create_household(household_data(county=B, electricity_account=ELEC), user=other_county)
    assert "该电力户号已在其他地区登记" in str(refused.value) and household.household_no not in str(refused.value)


@pytest.mark.parametrize("by_row", [False, True])
@pytest.mark.parametrize("key, label", [("electricity_account", "电力户号"), ("gas_account", "燃气户号")])
def test_a_row_matches_by_utility_account(household, clerk, tmp_path, key, label, by_row):
    account = {"electricity_account": ELEC, "gas_account": GAS}[key]
    path = sheet(tmp_path, {key: account, "householder_name": "张铁柱", "village_code": household.village_id,
                            "heated_area": "120"})
    res = only(analyse(path, clerk, by_row))
    assert (res.action, res.matched_by, res.household.pk) == ("updated", key, household.pk)
    assert ("heated_area", "96.5", "120.0") in res.changes
    result = analyse(path, clerk, by_row)
    assert result.matched == {label: 1}
    assert result.matches() == [f"第2行：按{label}对应户 {household.household_no}（张铁柱）"]
    before = Household.objects.count()
    ledger_import.commit(result, user=clerk)
    household.refresh_from_db()
    assert Household.objects.count() == before and str(household.heated_area) == "120.0"


@pytest.mark.parametrize("by_row", [False, True])
def test_account_comes_before_id_number_before_name_and_village(household, clerk, tmp_path, by_row):
    """The householder changed (a son took over): the account still finds the household, and the
    new ID number is a change of it; the ID number finds a household before its name does; a name
    in the village finds one only for a row without an ID number."""
    son = new_id_number(A)
    other = services.create_household(household_data(householder_name="李秀英"), user=None)
    namesake = services.create_household(household_data(householder_name="王二", village=household.village_id),
                                         user=None)
    rows = [
        {"electricity_account": ELEC, "id_number": son, "householder_name": "张小柱"},
        {"gas_account": GAS, "id_number": pii.decrypt(other.id_number_cipher), "householder_name": "张小柱"},
        {"id_number": pii.decrypt(other.id_number_cipher), "householder_name": "李秀英", "heated_area": "88"},
        {"householder_name": "王二", "village_code": namesake.village_id, "household_size": "5"},
        {"householder_name": "王二", "village_code": namesake.village_id, "id_number": new_id_number(A),
         "heated_area": "70", "original_facility": "土暖气", "heating_path": "集中供热"},
    ]
    results = analyse(sheet(tmp_path, *rows), clerk, by_row).results
    assert [(r.action, r.matched_by) for r in results] == [
        ("updated", "electricity_account"), ("refused", "gas_account"), ("updated", "id_number"),
        ("updated", "name_village"), ("new", "")]
    assert results[0].household.pk == household.pk
    assert ("id_number", household.id_number_masked, son[:6] + "********" + son[-4:]) in results[0].changes
    assert "同一人不能同时为两户户主" in results[1].errors[0][1]  # the gas account's household, not other's
    assert results[2].household.pk == other.pk and results[3].household.pk == namesake.pk


def test_a_name_shared_in_the_village_needs_another_key(household, clerk, tmp_path):
    for _ in range(2):
        services.create_household(household_data(householder_name="刘红", village=household.village_id), user=None)
    res = only(analyse(sheet(tmp_path, {"householder_name": "刘红", "village_code": household.village_id,
                                        "household_size": "4"}), clerk))
    assert res.action == "refused"
    assert "本村有2户户主名为“刘红”，请填写户编号、电力户号、燃气户号或身份证号以区分" in res.errors[0][1]


def test_new_rows_with_unknown_accounts_are_created_with_them(clerk, tmp_path, household):
    rows = [{"village_code": household.village_id, "householder_name": f"新户{i}", "id_number": new_id_number(A),
             "electricity_account": f"0199{i:06d}", "gas_account": f"rq{i:04d}", "heated_area": "80",
             "original_facility": "土暖气", "heating_path": "集中供热"} for i in range(3)]
    result = analyse(sheet(tmp_path, *rows), clerk)
    assert result.counts["new"] == 3 and len(result.fast) == 3  # recognised column by column
    ledger_import.commit(result, user=clerk)
    created = Household.objects.get(electricity_account_hash=pii.blind_index("0199000001", "elec"))
    assert created.householder_name == "新户1" and created.gas_account_masked == "******"
    assert created.gas_account_hash == pii.blind_index("RQ0001", "gas")
    # the same rows again: every one matches its household by its account now, nothing new
    again = analyse(sheet(tmp_path, *rows, name="again.xlsx"), clerk)
    assert again.counts["new"] == 0 and again.matched == {"电力户号": 3}


def test_the_preview_page_names_the_key_and_shows_masked_accounts(client, clerk, household, tmp_path):
    path = sheet(tmp_path, {"electricity_account": ELEC, "heated_area": "101"},
                 {"householder_name": "张铁柱", "village_code": household.village_id, "household_size": "6"})
    client.force_login(clerk)
    with open(path, "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    page = client.get(job_url).content.decode()
    assert "按电力户号 1 行" in page and "按姓名+村 1 行" in page
    assert f"第2行：按电力户号对应户 {household.household_no}（张铁柱）" in page
    detail = client.get(f"/households/{household.household_no}/").content.decode()
    at = detail.find(ELEC)
    assert at < 0, detail[at - 200:at + 50]
    assert "01****5678" in detail and "RQ****0017" in detail


def test_reveal_is_logged_and_follows_the_role(client, clerk, household):
    client.force_login(clerk)
    response = client.post(f"/households/{household.household_no}/reveal/",
                           {"field": "electricity_account", "reason": "核对电费"})
    assert ELEC in response.content.decode()
    event = AuditEvent.objects.get(action="pii_reveal")
    assert "电力户号" in event.detail and ELEC not in event.detail
    finance = make_user("fin", A, role="county_finance")  # may reveal bank accounts, not contact data
    client.force_login(finance)
    denied = client.post(f"/households/{household.household_no}/reveal/", {"field": "gas_account", "reason": "核对"})
    assert GAS not in denied.content.decode()


def test_api_and_export_show_the_accounts_masked(client, clerk, household, tmp_path):
    client.force_login(clerk)
    body = client.get(f"/api/households/{household.household_no}").json()
    assert (body["electricity_account"], body["gas_account"]) == ("01****5678", "RQ****0017")
    path = tmp_path / "export.xlsx"
    export_households(str(path), household_queryset(clerk).filter(pk=household.pk), user=clerk)
    result = analyse(path, clerk)  # the export's masks read back as "unchanged"
    assert result.counts == {"new": 0, "updated": 0, "unchanged": 1, "refused": 0}
    from python_calamine import CalamineWorkbook  # test-only reader
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header = rows[0]
    assert rows[1][header.index("电力户号")] == "01****5678" and rows[1][header.index("燃气户号")] == "RQ****0017"


def test_an_id_number_of_another_county_is_flagged_for_both_never_duplicated(client, clerk, tmp_path):
    theirs = Household.objects.filter(village__code__startswith=B, archived=False).order_by("pk").first()
    village = Household.objects.filter(village__code__startswith=A).first().village_id
    row = {"village_code": village, "householder_name": "外县户主", "id_number": pii.decrypt(theirs.id_number_cipher),
           "heated_area": "90", "original_facility": "土暖气", "heating_path": "集中供热"}
    path = sheet(tmp_path, row)
    before = Household.objects.count()
    client.force_login(clerk)
    with open(path, "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    client.post(job_url + "commit/", {"mode": "valid_only"})
    assert Household.objects.count() == before
    attempt = DuplicateAttempt.objects.get()
    assert (attempt.region_code, attempt.other_region_code, attempt.channel) == (village, theirs.village_id, "import")
    # the city imports the same row: it is told which household, and the two counties are flagged again
    city = make_user("match_city", "1409", role="city_admin")
    res = only(ledger_import.analyse(path, user=city, filename=path.name))
    assert res.action == "refused" and theirs.household_no in res.errors[0][1]
    assert DuplicateAttempt.objects.count() == 2
    for county in (A, B):
        client.force_login(make_user(f"adm_{county}", county, role="county_admin"))
        page = client.get("/audit/duplicates/").content.decode()
        assert attempt.id_number_masked in page and page.count(attempt.id_number_masked) >= 2
