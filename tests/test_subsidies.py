"""Subsidy policies, readings and entitlements through the database: versions, refusals, the
.xlsx round trips, the pages, the job, the API and the command."""
import io
import itertools
import json
from datetime import date
from decimal import Decimal as D

import pytest
import xlsxwriter
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from cleanheat.accounts.roles import ROLES, can_assign
from cleanheat.jobs.models import Job
from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household
from cleanheat.procurement import services as procurement
from cleanheat.procurement.models import CatalogModel
from cleanheat.sheets.reader import read_sheets
from cleanheat.subsidies import calc, calc_batch, facts, funds, policy_sheet, services
from cleanheat.subsidies.models import Entitlement, EnergyReading, Status, SubsidyItem, SubsidyPolicy, calc_labels

from .conftest import make_user
from .factories import accept, household_data

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
YEAR = TODAY.year          # households made in a test enter and are accepted today: a policy of this year
SHARES = {"central_pct": D("30"), "provincial_pct": D("30"), "city_pct": D("20"), "county_pct": D("20")}
ITEMS = [
    {"kind": "equipment", "label": "热风型", "path": "electric", "device": "ashp_air", "method": "share",
     "share_pct": D("70"), "cap_yuan": D("8000"), **SHARES},
    {"kind": "equipment", "path": "central", "method": "fixed", "fixed_yuan": D("2000"), "central_pct": D("0"),
     "provincial_pct": D("0"), "city_pct": D("50"), "county_pct": D("50")},
    {"kind": "envelope", "rate_yuan": D("50"), "cap_yuan": D("6000"), "central_pct": D("0"), "provincial_pct": D("50"),
     "city_pct": D("25"), "county_pct": D("25")},
    {"kind": "operating", "path": "electric", "unit": "kwh", "rate_yuan": D("0.2"), "cap_yuan": D("2400"), "seasons": 3,
     "central_pct": D("0"), "provincial_pct": D("40"), "city_pct": D("30"), "county_pct": D("30")},
]
TILTS = [{"flag": "is_dibao", "kind": "equipment", "share_pct": D("80")},
         {"flag": "is_canji", "kind": "equipment", "extra_yuan": D("500")}]
_serial = itertools.count(1)


def header(**values):
    return {"region": "140900000000", "year": YEAR, "title": "测试补贴政策", "effective_from": date(YEAR, 1, 1),
            **values}


@pytest.fixture
def finance(db):
    return make_user("t_finance", "1409", role="finance_staff")


@pytest.fixture
def policy(finance):
    for county in ("140902", "140921"):   # funds received: approving stays within them (subsidies.funds)
        funds.record_fund({"county": county, "year": YEAR, "level": "central", "source": "中央大气污染防治资金",
                           "document_no": "财资环〔2026〕1号", "received_on": TODAY, "amount_fen": 10**10}, user=finance)
    return services.save_policy(header(), ITEMS, TILTS, user=finance)[0]


def contract_line(price="12800", county="140902"):
    model = CatalogModel.objects.get(model_name="YZ-RF10")
    contract = procurement.create_contract(
        {"county_code": county, "contract_no": f"T-{next(_serial)}", "vendor": model.vendor, "status": "signed"},
        [{"model": model, "quantity": 5, "unit_price": D(price)}])
    return contract.lines.get()


def accepted_household(county="140902", price="12800", **extra):
    """An electric household with a 热风型 heat pump on a contract of `price`, accepted today."""
    data = household_data(county=county, heating_path="electric", electric_device="ashp_air", heat_source="",
                          heated_area="96.5", **extra)
    household = ledger.create_household(data, channel=Channel.UI)
    procurement.allocate(household, contract_line(price, county))
    for state in ("installing", "installed"):
        ledger.transition(household, state, channel=Channel.UI)
    accept(household)  # 已验收 through an acceptance record (issue #18)
    return Household.objects.get(pk=household.pk)


def lines(household):
    return {e.kind: e for e in Entitlement.objects.filter(household=household, year=YEAR)}


# ---- computing and storing

def test_compute_stores_each_line_with_its_arithmetic_and_shares(policy):
    household = accepted_household(envelope_retrofitted=True)
    season = YEAR if TODAY.month >= 7 else YEAR - 1   # the first season after acceptance today (beyond the data)
    services.record_reading(household, {"season": season, "unit": "kwh", "opening": D("1200"), "closing": D("4400")})
    stats = services.compute_entitlements(YEAR, household.village_id)
    found = lines(household)
    assert set(found) == {"equipment", "envelope", "operating"}
    assert found["equipment"].arithmetic == "设备补贴 = min(合同价 12,800 × 70 %, 8,000) = 8,000 元"
    assert (found["equipment"].amount_fen, found["equipment"].central_fen, found["equipment"].county_fen) == \
        (800_000, 240_000, 160_000)
    assert found["envelope"].arithmetic == "建筑节能改造补贴 = min(面积 96.5 m² × 50 元/m², 6,000) = 4,825 元"
    assert found["operating"].arithmetic.endswith("= min(电量 3,200 kWh × 0.2 元/kWh, 2,400) = 640 元")
    assert found["operating"].season == season
    assert all(e.status == Status.COMPUTED and e.policy_id == policy.pk for e in found.values())
    assert stats["by_kind"] == {"equipment": 1, "envelope": 1, "operating": 1}
    assert stats["totals_fen"]["amount"] == 800_000 + 482_500 + 64_000


def test_every_stored_line_of_the_demo_adds_up_to_the_fen():
    stored = Entitlement.objects.filter(year=2022)
    assert stored.count() > 500
    assert not stored.exclude(amount_fen=F("central_fen") + F("provincial_fen") + F("city_fen") + F("county_fen")).exists()
    policy = SubsidyPolicy.objects.get(year=2022, region_id="140900000000")
    assert policy.illustrative and "示意数据" in str(policy)
    assert set(stored.values_list("kind", flat=True)) == {"equipment", "envelope", "operating"}


def test_recomputing_keeps_approved_lines_and_a_used_version_gets_a_new_one(policy, finance):
    household = accepted_household()
    services.compute_entitlements(YEAR, household.village_id)
    county = make_user("t_county_fin", "140902", role="county_finance")
    assert services.approve_entitlements(Entitlement.objects.filter(household=household), user=county) == 1
    assert policy.is_used

    # a change to the used version: refused unless it starts later, then stored as version 2
    lower = [{**ITEMS[0], "share_pct": D("60")}, *ITEMS[1:]]
    with pytest.raises(services.PolicyRefused, match="应晚于第1版的施行日期"):
        services.save_policy(header(), lower, TILTS, user=finance, base=policy)
    v2, outcome = services.save_policy(header(effective_from=TODAY), lower, TILTS, user=finance, base=policy)
    assert outcome == "new_version" and (v2.version, v2.replaces_id) == (2, policy.pk)
    policy.refresh_from_db()
    assert policy.items.get(position=1).share_pct == D("70") and policy.effective_from == date(YEAR, 1, 1)

    stats = services.compute_entitlements(YEAR, household.village_id)
    kept = lines(household)["equipment"]
    assert (kept.status, kept.amount_fen, kept.policy_id) == (Status.APPROVED, 800_000, policy.pk)
    assert stats["approved_kept"] == 1 and stats["approved_differs"] == 1   # v2 would give 12,800 × 60 % = 7,680
    other = accepted_household()
    services.compute_entitlements(YEAR, other.village_id)
    assert lines(other)["equipment"].policy_id == v2.pk and lines(other)["equipment"].amount_fen == 768_000


def test_an_unused_version_is_rewritten_and_its_computed_lines_must_be_computed_again(policy, finance):
    household = accepted_household()
    services.compute_entitlements(YEAR, household.village_id)
    assert lines(household)
    same, outcome = services.save_policy(header(), ITEMS, TILTS, user=finance, base=policy)
    assert outcome == "unchanged"
    changed, outcome = services.save_policy(header(title="改名"), ITEMS[:3], TILTS, user=finance, base=policy)
    assert outcome == "updated" and changed.pk == policy.pk and changed.version == 1
    assert changed.items.count() == 3 and not Entitlement.objects.filter(policy=policy).exists()


# ---- refusals

@pytest.mark.parametrize("change, message", [
    ({"county_pct": D("15")}, "分级负担比例合计为95 %，应为100 %"),
    ({"cap_yuan": D("-1")}, "上限不能小于0"),
    ({"share_pct": D("120")}, "补贴比例应在0（不含）到100之间"),
    ({"method": "fixed"}, "不填“补贴比例（%）”"),
    ({"device": "gas_boiler"}, "设备类型与取暖路径不符"),
])
def test_a_bad_item_is_refused_and_nothing_is_written(finance, change, message):
    before = (SubsidyPolicy.objects.count(), SubsidyItem.objects.count())
    with pytest.raises(services.PolicyRefused) as refused:
        services.save_policy(header(), [{**ITEMS[0], **change}, *ITEMS[1:]], TILTS, user=finance)
    assert any(message in p.message and p.index == 0 and p.section == "item" for p in refused.value.problems), \
        refused.value.problems
    assert (SubsidyPolicy.objects.count(), SubsidyItem.objects.count()) == before


def test_overlapping_versions_and_duplicate_items_are_refused(policy, finance):
    with pytest.raises(services.PolicyRefused, match="已有补贴政策"):
        services.save_policy(header(), ITEMS, TILTS, user=finance)
    with pytest.raises(services.PolicyRefused, match="与第1行的适用范围相同"):
        services.save_policy(header(), [*ITEMS, ITEMS[0]], TILTS, user=finance, base=policy)
    services.save_policy(header(effective_until=date(YEAR, 12, 31)), ITEMS, TILTS, user=finance, base=policy)
    household = accepted_household()
    services.compute_entitlements(YEAR, household.village_id)
    Entitlement.objects.filter(policy=policy).update(status=Status.APPROVED)
    with pytest.raises(services.PolicyRefused, match="落在第1版的施行期内"):
        services.save_policy(header(effective_from=date(YEAR, 6, 1)), ITEMS[:2], TILTS, user=finance,
                             base=SubsidyPolicy.objects.get(pk=policy.pk))


def test_only_a_city_or_county_in_scope_may_have_a_policy(finance):
    county_admin = make_user("t_ca", "140902", role="county_admin")
    with pytest.raises(services.PolicyRefused, match="本人管辖范围"):
        services.save_policy(header(region="140921000000"), ITEMS, TILTS, user=county_admin)
    with pytest.raises(services.PolicyRefused, match="市或县"):
        services.save_policy(header(region="140902101000"), ITEMS, TILTS, user=finance)


# ---- energy readings

def test_a_reading_lower_than_the_previous_is_refused(policy):
    household = accepted_household()
    services.record_reading(household, {"season": 2024, "unit": "kwh", "opening": D("100"), "closing": D("900")})
    continued, _ = services.record_reading(household, {"season": 2025, "unit": "kwh", "closing": D("1500")})
    assert continued.opening == D("900")          # a blank opening continues the season before
    with pytest.raises(ValidationError, match="季初读数800低于上一采暖季（2025–2026采暖季）的季末读数1500"):
        services.record_reading(household, {"season": 2026, "unit": "kwh", "opening": D("800"), "closing": D("2000")})
    with pytest.raises(ValidationError, match="季末读数1000低于季初读数1500"):
        services.record_reading(household, {"season": 2026, "unit": "kwh", "closing": D("1000")})
    with pytest.raises(ValidationError, match="本表第一次录入读数，须填写季初读数"):
        services.record_reading(household, {"season": 2024, "unit": "m3", "closing": D("10")})
    assert EnergyReading.objects.filter(household=household).count() == 2
    assert household.changes.filter(field="energy_reading").count() == 2


def readings_sheet(path, rows, title_rows=("2023年度清洁取暖能耗读数",), header=None):
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("抄表")
    for r, title in enumerate(title_rows):
        sheet.write(r, 0, title)
    start = len(title_rows)
    sheet.write_row(start, 0, header or ["户号", "户主", "供暖季", "能源种类", "期初读数", "本期读数", "抄表时间"])
    for r, row in enumerate(rows, start=start + 1):
        sheet.write_row(r, 0, row)
    book.close()
    return path


def test_the_readings_import_forgives_like_the_ledger_import(policy, county_clerk, tmp_path):
    a, b = accepted_household(), accepted_household()
    path = readings_sheet(tmp_path / "r.xlsx", [
        [a.household_no, "甲", "2022-2023", "千瓦时", "１,２００", "4400", "2023年3月28日"],
        [a.household_no, "甲", "2023–2024采暖季", "", "", "6400.5", ""],      # unit from the path, opening continued
        [b.household_no, "乙", "2022", "kWh", 0, 1000, "2023/3/28"],
        ["合计", "", "", "", "", "11800.5", ""],
    ])
    assert services.import_readings(path, user=county_clerk, filename="r.xlsx") == \
        {"created": 3, "updated": 0, "unchanged": 0}
    second = EnergyReading.objects.get(household=a, season=2023)
    assert (second.opening, second.closing, second.unit) == (D("4400"), D("6400.5"), "kwh")
    assert services.import_readings(path, user=county_clerk, filename="r.xlsx")["unchanged"] == 3


def test_the_readings_import_refuses_naming_row_and_cell_and_writes_nothing(policy, county_clerk, tmp_path):
    a = accepted_household()
    other_county = Household.objects.filter(village__code__startswith="140921").first()
    services.record_reading(a, {"season": 2022, "unit": "kwh", "opening": D("0"), "closing": D("5000")})
    path = readings_sheet(tmp_path / "r.xlsx", [
        [a.household_no, "", "2023", "kWh", "4000", "6000", ""],
        ["1409029999999", "", "2023", "kWh", "0", "10", ""],
        [other_county.household_no, "", "2023", "kWh", "0", "10", ""],
        [a.household_no, "", "2024", "kWh", "", "abc", ""],
    ])
    with pytest.raises(ValidationError) as refused:
        services.import_readings(path, user=county_clerk, filename="r.xlsx")
    assert refused.value.messages == [
        "第6行F列（季末读数）：“abc”应为数字",
        "第4行A列（户编号）：户编号“1409029999999”不存在或不在您的管辖范围内",
        f"第5行A列（户编号）：户编号“{other_county.household_no}”不存在或不在您的管辖范围内",  # outside: as unknown
        "第3行E列（季初读数）：季初读数4000低于上一采暖季（2022–2023采暖季）的季末读数5000，读数不能比上一次低"]
    assert EnergyReading.objects.filter(household=a).count() == 1


# ---- the policy workbook

def rewrite(content: bytes, path, change) -> str:
    """The workbook with change(sheets) applied to its cells (a clerk editing the export)."""
    source = path.with_suffix(".in.xlsx")
    source.write_bytes(content)
    sheets = read_sheets(source)
    change(sheets)
    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, (date,)):
                    sheet.write_string(r, c, value.strftime("%Y/%m/%d"))
                elif value not in ("", None):
                    sheet.write(r, c, value)
    book.close()
    return str(path)


def test_the_policy_workbook_round_trip(policy, finance, tmp_path):
    exported = policy_sheet.workbook_bytes(policy)
    (tmp_path / "p.xlsx").write_bytes(exported)
    assert services.import_policy(tmp_path / "p.xlsx", user=finance, filename="p.xlsx") == (policy, "unchanged")

    def raise_share(sheets):
        items = sheets["补贴项目"]
        items[1][items[0].index("补贴比例（%）")] = "75%"
        sheets["补贴项目"] = [["2026年补贴项目（标题行）"], *items]     # a title row above the header
    changed, outcome = services.import_policy(rewrite(exported, tmp_path / "q.xlsx", raise_share), user=finance,
                                              filename="q.xlsx")
    assert (changed.pk, outcome) == (policy.pk, "updated")
    assert changed.items.get(position=1).share_pct == D("75")
    assert [i.values() for i in changed.items.all()][1:] == [i.values() for i in policy.items.all()][1:]


def test_the_demo_policy_exports_and_imports_unchanged(finance, tmp_path):
    demo = SubsidyPolicy.objects.get(year=2022, region_id="140900000000")
    (tmp_path / "d.xlsx").write_bytes(policy_sheet.workbook_bytes(demo))
    assert services.import_policy(tmp_path / "d.xlsx", user=finance)[1] == "unchanged"


def test_policy_import_refusals_name_sheet_row_and_cell(policy, finance, tmp_path):
    before = list(SubsidyItem.objects.filter(policy=policy).values_list("share_pct", flat=True))

    def spoil(sheets):
        items = sheets["补贴项目"]
        col = items[0].index
        items[1][col("县级负担（%）")] = 15
        items[2][col("类别")] = "奖励"
        items[3][col("单价（元/m² 或 元/计量单位）")] = "五十"
    path = rewrite(policy_sheet.workbook_bytes(policy), tmp_path / "bad.xlsx", spoil)
    with pytest.raises(ValidationError) as refused:
        services.import_policy(path, user=finance)
    said = refused.value.messages
    assert "“补贴项目”表第3行A列（类别）：“奖励”无法识别，可填：设备补贴、建筑节能改造补贴、运行补贴" in said
    assert "“补贴项目”表第4行I列（单价（元/m² 或 元/计量单位））：“五十”应为数字" in said

    def shares_only(sheets):
        sheets["补贴项目"][1][sheets["补贴项目"][0].index("县级负担（%）")] = 15
    with pytest.raises(ValidationError) as refused:
        services.import_policy(rewrite(policy_sheet.workbook_bytes(policy), tmp_path / "s.xlsx", shares_only),
                               user=finance)
    assert refused.value.messages == ["“补贴项目”表第2行O列（县级负担（%））：分级负担比例合计为95 %，应为100 %"
                                      "（中央、省级、市级、县级之和）"]
    assert list(SubsidyItem.objects.filter(policy=policy).values_list("share_pct", flat=True)) == before


def put(rows, r, c, value):
    rows[r].extend([""] * (c + 1 - len(rows[r])))
    rows[r][c] = value


def test_a_new_county_policy_from_the_template(finance, tmp_path):
    def fill(sheets):
        for r, value in ((0, "忻府区"), (2, "2023年"), (3, "忻府区2023年补贴政策"), (5, "2023.1.1")):
            put(sheets["政策信息"], r, 1, value)
        sheets["补贴项目"].append(["设备", "", "集中供热", "", "定额", "", "", "3000元", "", "", "", 0, 0, 0, "100%"])
        sheets["倾斜规则"].append(["低保户", "设备补贴", "", "", "", 300])
    created, outcome = services.import_policy(rewrite(policy_sheet.workbook_bytes(), tmp_path / "t.xlsx", fill),
                                              user=finance)
    assert outcome == "created" and created.region_id == "140902000000" and created.year == 2023
    assert created.items.get().describe() == "第1项 设备补贴（集中供热（工业余热））：定额3,000元；分级负担 中央0 %、省级0 %、市级0 %、县级100 %"
    assert created.tilts.get().describe() == "低保户 · 设备补贴（各取暖路径）：加发300元"


# ---- pages, job, API, command

def item_post(prefix, rows, extra=2):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows) + extra), f"{prefix}-INITIAL_FORMS": "0"}
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{k}": str(v) for k, v in row.items()})
    return data


def test_finance_enters_a_policy_on_the_page_and_sees_each_problem_on_its_field(client, finance):
    client.force_login(finance)
    assert "录入补贴政策" in client.get("/subsidies/").content.decode()
    post = {"region": "140900000000", "year": str(YEAR), "title": "页面录入的政策", "effective_from": f"{YEAR}-01-01",
            **item_post("items", [{**ITEMS[0], "county_pct": "10"}]), **item_post("tilts", TILTS)}
    page = client.post("/subsidies/policies/new/", post).content.decode()
    assert "分级负担比例合计为90 %，应为100 %" in page and not SubsidyPolicy.objects.filter(year=YEAR).exists()
    post["items-0-county_pct"] = "20"
    response = client.post("/subsidies/policies/new/", post)
    created = SubsidyPolicy.objects.get(year=YEAR)
    assert response.url == f"/subsidies/policies/{created.pk}/"
    shown = client.get(response.url).content.decode()
    assert "合同价的70 %，最高8,000元" in shown and "低保户 · 设备补贴（各取暖路径）：比例提高至80 %" in shown
    edit = client.get(f"/subsidies/policies/{created.pk}/edit/").content.decode()
    assert 'value="页面录入的政策"' in edit


def test_the_household_page_shows_the_arithmetic_and_takes_a_reading(client, policy, county_clerk):
    household = accepted_household()
    services.compute_entitlements(YEAR, household.village_id)
    client.force_login(county_clerk)
    page = client.get(f"/households/{household.household_no}/").content.decode()
    assert "设备补贴 = min(合同价 12,800 × 70 %, 8,000) = 8,000 元" in page and "录入读数" in page
    assert "市级 1,600" in page
    url = f"/subsidies/households/{household.household_no}/readings/"
    client.post(url, {"season": "2024", "unit": "kwh", "opening": "100", "closing": "900"})
    response = client.post(url, {"season": "2025", "unit": "kwh", "opening": "800", "closing": "950"}, follow=True)
    assert "季初读数800低于上一采暖季（2024–2025采暖季）的季末读数900" in response.content.decode()
    assert list(household.energy_readings.values_list("season", flat=True)) == [2024]
    repair = make_user("t_repair", "140902", role="vendor_repair")
    client.force_login(repair)
    page = client.get(f"/households/{household.household_no}/").content.decode()
    assert "8,000" not in page and "录入读数" not in page
    assert client.post(url, {"season": "2026", "unit": "kwh", "closing": "1000"}).status_code == 403


def test_compute_from_the_page_and_the_api_runs_the_job(client, policy, finance):
    household = accepted_household()
    client.force_login(finance)
    response = client.post("/subsidies/compute/", {"year": str(YEAR), "region": "140902"})
    job = Job.objects.get(kind="entitlements")
    assert response.url == f"/jobs/{job.pk}/" and job.status == "done" and "补贴核算" in job.message
    assert "设备补贴1条" in client.get(response.url).content.decode()
    assert lines(household)["equipment"].amount_fen == 800_000
    api = client.post("/api/subsidies/compute", json.dumps({"year": YEAR, "region": household.village_id}),
                      content_type="application/json")
    assert api.status_code == 202 and api.json()["status"] == "done" and api.json()["counts"]["lines"] >= 1
    bad = client.post("/api/subsidies/compute", json.dumps({"year": 1999}), content_type="application/json")
    assert bad.status_code == 422 and "年度" in json.dumps(bad.json(), ensure_ascii=False)
    none = client.post("/api/subsidies/compute", json.dumps({"year": YEAR + 1}), content_type="application/json")
    assert none.status_code == 422 and "还没有补贴政策" in json.dumps(none.json(), ensure_ascii=False)


def test_county_finance_computes_its_county_and_cannot_touch_policy_or_other_counties(client, policy):
    county = make_user("t_cf", "140902", role="county_finance")
    client.force_login(county)
    assert client.get("/subsidies/").status_code == 200
    assert client.get("/subsidies/policies/new/").status_code == 403
    assert client.get(f"/subsidies/policies/{policy.pk}/").status_code == 200      # the city's applies to it
    out = client.post("/api/subsidies/compute", json.dumps({"year": YEAR, "region": "140921"}),
                      content_type="application/json")
    assert out.status_code == 404
    assert client.post("/api/subsidies/compute", json.dumps({"year": YEAR}), content_type="application/json") \
        .status_code == 202


def test_roles_for_city_and_county_finance():
    city, county = ROLES["finance_staff"].permissions, ROLES["county_finance"].permissions
    assert {"subsidies.policy", "subsidies.compute"} <= city and "subsidies.approve" not in city
    assert {"subsidies.compute", "subsidies.approve"} <= county and "subsidies.policy" not in county
    assert ROLES["finance_staff"].city_only and ROLES["county_finance"].scope_level == 6
    assert can_assign("county_admin", "county_finance") and not can_assign("county_admin", "finance_staff")
    assert "subsidies.policy" not in ROLES["county_admin"].permissions


def test_the_command_computes_with_a_progress_bar(policy, capsys):
    household = accepted_household()
    out = io.StringIO()
    call_command("compute_entitlements", "--year", str(YEAR), "--region", household.village_id[:6], stdout=out)
    assert "补贴核算" in out.getvalue() and "设备补贴1条" in out.getvalue()
    assert "计算" in capsys.readouterr().err      # tqdm's bars
    assert lines(household)["equipment"].amount_fen == 800_000
    with pytest.raises(Exception, match="还没有补贴政策"):
        call_command("compute_entitlements", "--year", str(YEAR + 1))


def test_approve_needs_the_permission_and_stays_in_scope(policy):
    a, b = accepted_household(), accepted_household(county="140921")
    services.compute_entitlements(YEAR, "")
    county = make_user("t_cf2", "140902", role="county_finance")
    assert services.approve_entitlements(Entitlement.objects.filter(household__in=[a, b]), user=county) == 1
    assert lines(b)["equipment"].status == Status.COMPUTED
    with pytest.raises(Exception):
        services.approve_entitlements(Entitlement.objects.all(), user=make_user("t_clerk2", "140902"))


def test_the_admin_keeps_a_used_version_read_only(client, policy):
    household = accepted_household()
    services.compute_entitlements(YEAR, household.village_id)
    admin = make_user("t_root", "", role="city_admin", is_superuser=True, is_staff=True)
    client.force_login(admin)
    url = f"/admin/subsidies/subsidypolicy/{policy.pk}/change/"
    assert 'name="title"' in client.get(url).content.decode()       # unused: editable
    Entitlement.objects.filter(policy=policy).update(status=Status.APPROVED)
    page = client.get(url).content.decode()
    assert 'name="title"' not in page and "测试补贴政策" in page     # used: shown, not editable
    assert client.post(url, {"title": "改掉"}).status_code == 403
    assert SubsidyPolicy.objects.get(pk=policy.pk).title == "测试补贴政策"


def test_the_subsidy_pages_speak_english_too(client, policy, finance):
    client.force_login(finance)
    client.post("/i18n/setlang/", {"language": "en"})
    home = client.get("/subsidies/").content.decode()
    assert "Policies and entitlements" in home and "Enter a subsidy policy" in home
    page = client.get(f"/subsidies/policies/{policy.pk}/").content.decode()
    assert "Tilt rules" in page and "合同价的70 %" in page      # the rule itself is a record, kept in Chinese


def test_the_batch_and_the_per_household_way_agree_on_the_demo():
    households, readings = facts.load("")
    versions = facts.policies_for_year(2022)
    lines, _ = calc_batch.batch_lines(households, readings, versions, calc_labels())
    reference = [x for f in calc_batch.facts_of(households, readings)
                 for x in calc.household_lines(f, versions, calc_labels())]
    assert len(reference) > 500 and {x.kind for x in reference} == {"equipment", "envelope", "operating"}
    ids = households.ids
    assert sorted(zip((int(ids[i]) for i in lines.row.tolist()), lines.kind, lines.season.tolist(), lines.unit,
                      lines.amount.tolist(), map(tuple, lines.shares.tolist()), lines.arithmetic, lines.inputs)) == \
        sorted((x.household_id, x.kind, x.season, x.unit, x.amount, x.shares, x.arithmetic, x.inputs) for x in reference)
    stored = Entitlement.objects.filter(year=2022)
    assert stored.count() == len(reference)


def test_a_recompute_writes_only_the_lines_that_changed(policy):
    household = accepted_household(envelope_retrofitted=True)
    season = YEAR if TODAY.month >= 7 else YEAR - 1
    services.record_reading(household, {"season": season, "unit": "kwh", "opening": D("0"), "closing": D("1000")})
    first = services.compute_entitlements(YEAR, household.village_id)
    assert first["written"] == first["lines"] == 3
    before = {e.kind: (e.pk, e.computed_at) for e in Entitlement.objects.filter(household=household)}
    again = services.compute_entitlements(YEAR, household.village_id)
    assert (again["written"], again["unchanged"], again["removed"]) == (0, 3, 0)
    services.record_reading(household, {"season": season, "unit": "kwh", "opening": D("0"), "closing": D("2000")})
    changed = services.compute_entitlements(YEAR, household.village_id)
    assert (changed["written"], changed["unchanged"], changed["removed"]) == (1, 2, 1)
    after = {e.kind: (e.pk, e.computed_at) for e in Entitlement.objects.filter(household=household)}
    assert after["equipment"] == before["equipment"] and after["envelope"] == before["envelope"]
    assert lines(household)["operating"].amount_fen == 40_000          # 2,000 kWh × 0.2
    ledger.update_household(household, {"envelope_retrofitted": False}, channel=Channel.UI)
    gone = services.compute_entitlements(YEAR, household.village_id)
    assert gone["removed"] == 1 and "envelope" not in lines(household)
