"""Reports (issue #19): emissions avoided (worked example to the kilogram, totals against hand counts),
calibration, coal-ban zones, report templates filled from the ledger for a past date."""
import io
from collections import defaultdict
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Avg

from cleanheat.ledger.models import EnergyDemand, Household, LifecycleEvent
from cleanheat.plan.models import Plan, Target
from cleanheat.regions.models import Region
from cleanheat.reports import emissions, loader, services
from cleanheat.reports.models import CoalBanVillage, EmissionFactor, GeneratedReport

from .conftest import make_user

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[1] / "docs" / "emissions-method.md"
CITY, XINFU, YUANPING = "140900000000", "140902", "140981"


def states_on(on: date, prefix: str = "1409", max_year: int | None = None, year: int | None = None) -> dict:
    """Hand count: each active household's last lifecycle state reached by `on` → {household: (state, path, village)}."""
    last = {}
    events = (LifecycleEvent.objects.filter(household__archived=False, occurred_on__lte=on,
                                            household__village__code__startswith=prefix)
              .values_list("id", "household_id", "to_state", "household__heating_path", "household__village_id",
                           "household__plan_year").order_by("id"))
    for _id, hh, state, path, village, plan_year in events:
        if (max_year is None or plan_year <= max_year) and (year is None or plan_year == year):
            last[hh] = (state, path, village)
    return last


# ---- emissions ----------------------------------------------------------------------------------

def test_worked_example_to_the_kilogram():
    """docs/emissions-method.md's worked example, with the figures as loaded from the data file."""
    params = services.parameters(XINFU, 2022)
    one = emissions.for_households(1, params.coal, params.carriers["electric"], basis="survey",
                                   surveyed_t=params.surveyed_t(XINFU))
    assert params.surveyed_t(XINFU) == 3.4
    assert round(one["heat_kwh"]) == 13823
    assert round(one["energy"]) == 5529
    assert round(one["before"]["co2"]) == 7004 and round(one["after"]["co2"]) == 3517
    kg = {p: round(v) for p, v in one["avoided"].items()}
    assert kg == {"co2": 3487, "so2": 51, "nox": 5, "pm25": 24, "pm10": 34}
    doc = DOC.read_text(encoding="utf-8")
    for text in ("**3,487 kg**", "**51 kg**", "**13,823 kWh**", "**5,529 kWh**", "ratio 0.65", "suggestion is 0.92"):
        assert text in doc
    cal = emissions.calibration(9000, 3.4, params.coal, 0.6)
    assert round(cal["ratio"], 2) == 0.65 and cal["suggested_usage_factor"] == 0.92


def test_demand_basis_converts_heat_at_stove_efficiency_and_heating_value():
    coal = emissions.Coal(20.908, 0.7, {"co2": 2060})
    gas = emissions.Carrier(0.9, 36.0, {"co2": 2.0})
    r = emissions.for_households(2, coal, gas, basis="demand", surveyed_t=3.4, demand_kwh=9000, with_demand=1)
    # one household from its demand, the other (no demand computed) from the survey
    assert r["coal_t"] == pytest.approx(9000 * 3.6 / (0.7 * 20.908) / 1000 + 3.4)
    assert r["energy"] == pytest.approx((9000 + 3.4 * 1000 * 20.908 * 0.7 / 3.6) * 3.6 / (0.9 * 36))


def test_factor_without_source_is_refused():
    factor = EmissionFactor(carrier="coal", pollutant="co2", kg_per_unit=2000, year=2030, source="  ")
    with pytest.raises(ValidationError) as e:
        factor.full_clean()
    assert "须注明数据来源" in str(e.value.message_dict["source"])
    spec = loader.read_emissions()
    spec["factors"].append({"carrier": "gas", "pollutant": "co2", "kg_per_unit": 2.1, "year": 2031, "source": ""})
    spec["coal_use"][0]["t_per_household"] = 9.9
    with pytest.raises(ValueError, match="gas/co2 未注明来源"):
        loader.load_emissions(_models(), spec)
    assert services.parameters(CITY, 2022).surveyed_t(XINFU) == 3.4  # nothing written


def _models():
    from cleanheat.reports import models
    return {n: getattr(models, n) for n in ("EmissionSettings", "CoalUse", "PathEnergy", "EmissionFactor")}


def test_season_totals_count_proven_households_once_and_show_unproven_beside():
    plan = Plan.objects.get(year=2022)
    city = Region.objects.get(code=CITY)
    data = services.season_totals(city, plan)
    on = data["on"]
    hand = states_on(on, max_year=2022)
    proven = sum(1 for s, _p, _v in hand.values() if s in ("proven", "removed"))
    unproven = sum(1 for s, _p, _v in hand.values() if s in ("installed", "accepted"))
    assert proven > 0
    assert data["households"] == {"proven": proven, "unproven": unproven}
    # the CO₂ total is the per-household figure of each county and path times its proven households
    params = services.parameters(CITY, 2022)
    expected = 0.0
    per = defaultdict(int)
    for s, path, village in hand.values():
        if s in ("proven", "removed"):
            per[(village[:6], path)] += 1
    for (county, path), n in per.items():
        one = emissions.for_households(1, params.coal, params.carriers[path], basis="survey",
                                       surveyed_t=params.surveyed_t(county))
        expected += n * one["avoided"]["co2"]
    assert data["total"]["avoided"]["co2"] == pytest.approx(expected)
    assert sum(r["proven_households"] for r in data["rows"]) == proven


def test_emissions_page_and_dashboard_panel(client, city_admin):
    client.force_login(city_admin)
    page = client.get(f"/reports/emissions/{CITY}/?year=2022")
    assert page.status_code == 200
    body = page.content.decode()
    assert "稳定运行（计入）" in body and "已完工未满一季（不计入）" in body and "忻府区" in body
    panel = client.get(f"/reports/panel/{CITY}/?year=2022")
    assert panel.status_code == 200 and "替代散煤" in panel.content.decode()
    dashboard = client.get("/dashboard/")
    assert f"/reports/panel/{CITY}/" in dashboard.content.decode()


# ---- calibration --------------------------------------------------------------------------------

def test_calibration_ratio_per_county(client, city_admin):
    plan = Plan.objects.get(year=2022)
    data = services.calibration(Region.objects.get(code=CITY), plan)
    row = next(r for r in data["rows"] if r["county"] == XINFU)
    mean = float(EnergyDemand.objects.filter(household__village__code__startswith=XINFU, household__archived=False)
                 .aggregate(m=Avg("seasonal_heat_kwh"))["m"])
    surveyed_heat = 3.4 * 1000 * 20.908 * 0.70 / 3.6
    assert row["ratio"] == pytest.approx(mean / surveyed_heat)
    assert row["suggested_usage_factor"] == round(min(1.0, data["usage_factor"] / row["ratio"]), 2)
    client.force_login(city_admin)
    page = client.get(f"/reports/calibration/{CITY}/").content.decode()
    assert f'data-county="{XINFU}"' in page and f"{row['ratio']:.2f}" in page


# ---- coal-ban zones -----------------------------------------------------------------------------

def test_coal_ban_lists_households_still_on_coal_and_refuses_other_counties(client):
    admin = make_user("t_rep_admin", XINFU, role="county_admin")
    village = (Household.objects.filter(village__code__startswith=XINFU, archived=False)
               .values_list("village_id", flat=True).order_by("village_id").first())
    client.force_login(admin)
    response = client.post(f"/reports/coal-ban/{XINFU}000000/", {
        "village_code": village, "zone": "城区禁煤区", "since": "2022-06-01", "document_no": "忻政发〔2022〕1号"})
    assert response.status_code == 302
    today = date.today()
    season_end = dict(Plan.objects.values_list("year", "heating_season_end"))
    expected = set()
    for no, state, year in Household.objects.filter(village_id=village, archived=False).values_list(
            "household_no", "state", "plan_year"):
        if state in ("confirmed", "selected", "installing") or state != "removed" and season_end[year] < today:
            expected.add(no)
    zones = services.zones(XINFU, today)
    assert [z["zone"] for z in zones] == ["城区禁煤区"]
    listed = {h["household_no"] for v in zones[0]["villages"] for h in v["households"]}
    assert listed == expected
    assert zones[0]["cleared"] == (not expected)
    page = client.get(f"/reports/coal-ban/{XINFU}000000/").content.decode()
    assert "城区禁煤区" in page and ("散煤已清零" in page or "仍在用煤" in page)
    # a village of another county: refused with a clear message, nothing written
    other = Region.objects.filter(level=4, code__startswith=YUANPING).first()
    refused = client.post(f"/reports/coal-ban/{XINFU}000000/", {"village_code": other.code, "zone": "越界",
                                                               "since": "2022-06-01"})
    assert refused.status_code == 400
    assert "不在您的管辖范围内，不能划入禁煤区" in refused.content.decode()
    assert not CoalBanVillage.objects.filter(village_code=other.code).exists()
    # a second marking of the same village while it is inside a zone
    with pytest.raises(ValidationError, match="已在禁煤区内"):
        services.mark_coal_ban(admin, village_code=village, zone="又一个", since=date(2022, 7, 1))


def test_coal_ban_follows_a_village_recoded_by_a_region_change():
    from cleanheat.ledger import services as ledger_services  # noqa: PLC0415 -- only this test applies a change
    from cleanheat.regions import services as regions  # noqa: PLC0415 -- only this test records a change
    admin = make_user("t_rep_rc", "1409", role="city_admin")
    townships = [t for t in Region.objects.filter(level=3, code__startswith=XINFU).order_by("code")
                 if Region.objects.filter(level=4, parent=t).exists()][:2]
    a, b = townships
    village = Region.objects.filter(level=4, parent=b).order_by("code").first()
    CoalBanVillage.objects.create(village_code=village.code, zone="甲", since=date(2022, 1, 1))
    change = regions.record_change(kind="merge", effective_on=date.today(), from_codes=[a.code, b.code],
                                   to_code=a.code, to_name="新合并镇", note="测试", user=admin)
    ledger_services.apply_region_change(change, user=admin)
    marking = CoalBanVillage.objects.get(zone="甲")
    assert marking.village_code != village.code and marking.village_code.startswith(a.prefix)
    assert Region.objects.filter(code=marking.village_code, level=4).exists()


# ---- report templates ---------------------------------------------------------------------------

def _sheet(response):
    body = b"".join(response.streaming_content)
    return openpyxl.load_workbook(io.BytesIO(body)).active


def _row_of(ws, name):
    for row in ws.iter_rows(values_only=True):
        if row and row[0] == name:
            return row
    raise AssertionError(f"no row {name}")


def test_monthly_province_table_for_a_past_date_matches_hand_counts(client, city_admin):
    client.force_login(city_admin)
    on = date(2022, 9, 30)
    response = client.post("/reports/generate/", {"template": "monthly-province", "region": CITY,
                                                   "asof": on.isoformat(), "year": "2022"})
    assert response.status_code == 302
    report = GeneratedReport.objects.get()
    assert (report.region_code, report.on, report.plan_year, report.created_by) == (CITY, on, 2022, city_admin)
    download = client.get(response.url)
    ws = _sheet(download)
    hand = states_on(on, year=2022)
    later = ("installed", "accepted", "proven", "removed")
    counties = Region.objects.filter(level=2, code__startswith="1409").order_by("code")
    total_installed = 0
    for county in counties:
        row = _row_of(ws, county.name)
        installed = sum(1 for s, _p, v in hand.values() if v.startswith(county.code[:6]) and s in later)
        electric = sum(1 for s, p, v in hand.values() if v.startswith(county.code[:6]) and s in later and p == "electric")
        target = sum(Target.objects.filter(county_plan__plan__year=2022, county_plan__county_code=county.code[:6])
                     .values_list("households", flat=True))
        assert (row[1], row[2]) == (target, installed), (county.name, row, target, installed)
        assert row[7] == electric, county.name  # 煤改电完工
        total_installed += installed
    assert _row_of(ws, "合计")[2] == total_installed
    assert "2022-09-30" in ws["A2"].value
    import hashlib
    assert hashlib.sha256(b"".join(client.get(response.url).streaming_content)).hexdigest() == report.sha256


def test_annual_summary_carries_the_season_emissions(client, city_admin):
    client.force_login(city_admin)
    plan = Plan.objects.get(year=2022)
    response = client.post("/reports/generate/", {"template": "annual-summary", "region": CITY,
                                                   "asof": plan.annual_report_due.isoformat(), "year": "2022"})
    ws = _sheet(client.get(response.url))
    totals = services.season_totals(Region.objects.get(code=CITY), plan, plan.annual_report_due)
    assert totals["households"]["proven"] > 0
    row = _row_of(ws, "合计")
    assert row[4] == totals["households"]["proven"]
    assert row[7] == pytest.approx(round(totals["total"]["avoided"]["co2"] / 1000, 2))


def test_a_report_for_a_date_before_the_plan_is_refused(client, city_admin):
    client.force_login(city_admin)
    response = client.post("/reports/generate/", {"template": "weekly-dispatch", "region": CITY,
                                                   "asof": "2019-05-01", "year": "2022"}, follow=True)
    assert "早于2022年度计划" in response.content.decode()
    assert not GeneratedReport.objects.exists()


def _template(cells: dict) -> bytes:
    wb = openpyxl.Workbook()
    for ref, value in cells.items():
        wb.active[ref] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_new_template_uploaded_and_filled_and_unknown_figure_refused(client, city_admin):
    client.force_login(city_admin)
    bad = _template({"A1": "{{region.name}}", "B2": "{{county.electric.instaled}}"})
    response = client.post("/reports/templates/upload/", {
        "code": "gas-only", "name": "煤改气专表", "file": SimpleUploadedFile("t.xlsx", bad)})
    assert response.status_code == 400
    assert "单元格 Sheet!B2：未知数据项“county.electric.instaled”" in response.content.decode()
    good = _template({"A1": "{{region.name}} 截至 {{on}}", "A3": "{{county.name}}", "B3": "{{county.gas.installed}}",
                      "A4": "合计", "B4": "{{total.gas.installed}}"})
    response = client.post("/reports/templates/upload/", {
        "code": "gas-only", "name": "煤改气专表", "file": SimpleUploadedFile("t.xlsx", good)})
    assert response.status_code == 302
    on = date(2022, 10, 15)
    response = client.post("/reports/generate/", {"template": "gas-only", "region": f"{XINFU}000000",
                                                   "asof": on.isoformat(), "year": "2022"})
    ws = _sheet(client.get(response.url))
    assert ws["A1"].value == "忻府区 截至 2022-10-15"
    hand = states_on(on, prefix=XINFU, year=2022)
    townships = list(Region.objects.filter(parent_id=f"{XINFU}000000").order_by("code"))
    later = ("installed", "accepted", "proven", "removed")
    for i, township in enumerate(townships):
        assert ws.cell(row=3 + i, column=1).value == township.name
        assert ws.cell(row=3 + i, column=2).value == sum(
            1 for s, p, v in hand.values() if v.startswith(township.code[:9]) and p == "gas" and s in later)
    assert ws.cell(row=3 + len(townships), column=1).value == "合计"
    assert ws.cell(row=3 + len(townships), column=2).value == sum(
        1 for s, p, _v in hand.values() if p == "gas" and s in later)


def test_generated_reports_stay_in_scope(client, city_admin):
    client.force_login(city_admin)
    response = client.post("/reports/generate/", {"template": "weekly-dispatch", "region": f"{YUANPING}000000",
                                                   "asof": "2022-08-01", "year": "2022"})
    report_url = response.url
    clerk = make_user("t_rep_clerk", XINFU, role="county_clerk")
    client.force_login(clerk)
    assert client.get(report_url).status_code == 404
    assert client.post("/reports/generate/", {"template": "weekly-dispatch", "region": f"{YUANPING}000000",
                                              "asof": "2022-08-01"}).status_code == 404
    assert "weekly-dispatch" not in client.get("/reports/").content.decode().split('id="generated"')[1]


def test_county_submits_its_report_and_the_city_returns_it(client, city_admin):
    county = make_user("t_rep_county", XINFU, role="county_admin")
    client.force_login(county)
    response = client.post("/reports/generate/", {"template": "weekly-dispatch", "region": f"{XINFU}000000",
                                                   "asof": "2022-08-01", "year": "2022"})
    report = GeneratedReport.objects.get()
    assert client.post(f"/reports/files/{report.pk}/submit/").status_code == 302
    report.refresh_from_db()
    assert report.status == "submitted" and report.submitted_at
    again = client.post(f"/reports/files/{report.pk}/submit/", follow=True)
    assert "该报表已报送或已退回" in again.content.decode()
    client.force_login(city_admin)
    page = client.get("/reports/").content.decode()
    assert f"/reports/files/{report.pk}/return/" in page
    refused = client.post(f"/reports/files/{report.pk}/return/", {"reason": " "}, follow=True)
    assert "退回须说明原因" in refused.content.decode()
    client.post(f"/reports/files/{report.pk}/return/", {"reason": "完工数与调度表不符"})
    report.refresh_from_db()
    assert (report.status, report.return_reason) == ("returned", "完工数与调度表不符")
    assert response.status_code == 302


# ---- building energy retrofit -------------------------------------------------------------------

def test_retrofit_projects_count_against_the_plan_targets_with_the_30_percent_rule(client):
    county = make_user("t_rep_retro", XINFU, role="county_admin")
    client.force_login(county)
    url = f"/reports/retrofit/{XINFU}000000/?year=2022"
    town = {"kind": "town", "region_code": f"{XINFU}000000", "name": "县城小区1号楼", "area_m2": "5200",
            "before_kwh_m2": "100", "after_kwh_m2": "80", "plan_year": "2022", "completed_on": "2022-09-10"}
    refused = client.post(url, town)
    assert refused.status_code == 400
    assert "节能改造能效提升20%，低于要求的30%" in refused.content.decode()
    assert client.post(url, {**town, "after_kwh_m2": "60"}).status_code == 302
    hh = Household.objects.filter(village__code__startswith=XINFU, archived=False).order_by("household_no").first()
    rural = {"kind": "rural", "region_code": hh.village_id, "household_no": hh.household_no, "area_m2": "96",
             "gain_pct": "35", "measures": ["外墙保温", "门窗更换"], "plan_year": "2022", "completed_on": "2022-10-01"}
    assert client.post(url, rural).status_code == 302
    later = {**rural, "area_m2": "80", "completed_on": "2022-11-20"}  # after the report date below
    assert client.post(url, later).status_code == 302
    outside = client.post(url, {**town, "after_kwh_m2": "60", "region_code": f"{YUANPING}000000"})
    assert outside.status_code == 400 and "不在您的管辖范围内" in outside.content.decode()
    row = next(r for r in services.retrofit_progress(Region.objects.get(code=f"{XINFU}000000"),
                                                      Plan.objects.get(year=2022), date(2022, 10, 31)))
    assert (row["town_done"], row["rural_done"]) == (5200.0, 96.0)
    page = client.get(url + "&asof=2022-10-31").content.decode()
    assert "县城小区1号楼" in page and "外墙保温、门窗更换" in page
    client.force_login(make_user("t_rep_city2", "1409", role="city_admin"))
    response = client.post("/reports/generate/", {"template": "building-retrofit", "region": CITY,
                                                   "asof": "2022-10-31", "year": "2022"})
    ws = _sheet(client.get(response.url))
    xinfu = _row_of(ws, "忻府区")
    target = Plan.objects.get(year=2022).counties.get(county_code=XINFU)
    assert xinfu[1:] == (target.building_town_m2, 5200, target.building_rural_m2, 96)
    assert _row_of(ws, "合计")[2] == 5200
