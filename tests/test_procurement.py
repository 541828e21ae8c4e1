"""Tender catalog, county contracts, heat-demand sizing, the selection advisor and the batch."""
import math
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import EnergyDemand, Household
from cleanheat.procurement import advisor, batch, heatload, selection, services
from cleanheat.procurement.models import Advice, CatalogModel, ContractLine, CountyContract, EnvelopeType
from cleanheat.rules import compliance
from cleanheat.rules.models import GasContract

from .conftest import make_user
from .factories import household_data
from .sheets import write_sheet

pytestmark = pytest.mark.django_db

BRICK = {"wall_u": 1.6, "roof_u": 1.0, "window_u": 3.5, "floor_u": 0.3, "air_changes": 0.5,
         "retrofit_wall_u": 0.55, "retrofit_roof_u": 0.45, "retrofit_window_u": 2.5, "retrofit_air_changes": 0.5,
         "storey_height": 3.0, "window_ratio": 0.2}
ADOBE = {**BRICK, "wall_u": 1.1, "roof_u": 1.4, "window_u": 4.7, "air_changes": 1.0}


# ---- heat demand: two worked examples, by hand

def test_worked_example_brick_house_in_xinfu():
    """100 m² brick-concrete house, not retrofitted, 原平 station (−12.3 °C, 145 d, mean −3.2 °C), indoor 14 °C.
    Square plan 10 m × 10 m: perimeter 40 m, walls 40 × 3 = 120 m² gross, windows 0.2 × 100 = 20 m², walls net 100 m².
      H = 1.6·100 + 3.5·20 + (1.0 + 0.3)·100 + 0.34·0.5·(100·3) = 160 + 70 + 130 + 51 = 411 W/K
      load = 411 · (14 + 12.3) / 1000 = 10.8093 kW
      DD = 145 · (14 + 3.2) = 2,494 K·d;  season = 411 · 2494 · 24 / 1000 · 0.6 = 14,760.49 kWh"""
    h = heatload.envelope_h(100, BRICK, False, None)
    assert float(h) == pytest.approx(411.0)
    assert float(heatload.design_load_kw(h, 14, -12.3)) == pytest.approx(10.8093)
    dd = heatload.degree_days(145, 14, -3.2)
    assert dd == pytest.approx(2494)
    assert float(heatload.seasonal_heat_kwh(h, dd, 0.6)) == pytest.approx(14760.49, abs=0.01)


def test_worked_example_retrofitted_adobe_house_in_wuzhai():
    """64 m² adobe house in 五寨 (−18 °C, 172 d, mean −5 °C): perimeter 32 m, walls 96 m² gross,
    windows 12.8 m², walls net 83.2 m².
    Before retrofit: H = 1.1·83.2 + 4.7·12.8 + (1.4 + 0.3)·64 + 0.34·1.0·192 = 91.52 + 60.16 + 108.8 + 65.28 = 325.76 W/K
    After (table):   H = 0.55·83.2 + 2.5·12.8 + (0.45 + 0.3)·64 + 0.34·0.5·192 = 45.76 + 32 + 48 + 32.64 = 158.4 W/K
      load = 158.4 · 32 / 1000 = 5.0688 kW;  DD = 172 · 19 = 3,268;  season = 158.4 · 3268 · 24 / 1000 · 0.6 = 7,454.18 kWh
    With a measured gain of 40 % instead: H = 325.76 · 0.6 = 195.456 W/K."""
    before = heatload.envelope_h(64, ADOBE, False, None)
    after = heatload.envelope_h(64, ADOBE, True, None)
    measured = heatload.envelope_h(64, ADOBE, True, 40)
    assert float(before) == pytest.approx(325.76)
    assert float(after) == pytest.approx(158.4)
    assert float(measured) == pytest.approx(195.456)
    assert float(heatload.design_load_kw(after, 14, -18)) == pytest.approx(5.0688)
    dd = heatload.degree_days(172, 14, -5)
    assert float(heatload.seasonal_heat_kwh(after, dd, 0.6)) == pytest.approx(7454.18, abs=0.01)
    # retrofit lowers both the design load and the seasonal heat
    assert heatload.design_load_kw(after, 14, -18) < heatload.design_load_kw(before, 14, -18)


def _electric_household(county="140902", **extra):
    values = {"heating_path": "electric", "electric_device": "ashp_water", "heat_source": "", "heated_area": "100",
              "structure": "brick_concrete", **extra}
    data = household_data(county=county, **values)
    return ledger.create_household(data, channel=Channel.UI)


def test_advisor_uses_the_county_climate_and_envelope_data():
    """The same worked example through the database: the demo's data for 忻府区 and 砖混."""
    household = _electric_household()
    advice = advisor.advise(household)
    assert advice.design_temp == -12.3
    assert advice.h_w_per_k == pytest.approx(411.0)
    assert advice.design_load_kw == pytest.approx(10.8093)
    assert advice.seasonal_heat_kwh == pytest.approx(14760.49, abs=0.01)
    # a colder county gives a bigger load for the same house
    cold = advisor.advise(_electric_household(county="140928"))
    assert cold.design_temp == -18.0 and cold.design_load_kw > advice.design_load_kw
    # envelope data is data: the housing bureau's revision changes the result
    EnvelopeType.objects.filter(structure="brick_concrete").update(wall_u=Decimal("0.80"))
    assert advisor.advise(household).h_w_per_k == pytest.approx(411.0 - 80)


# ---- rating points and oversizing

POINTS = [{"t": 7, "kw": 12.5, "cop": 3.5}, {"t": -12, "kw": 10, "cop": 2.7}, {"t": -20, "kw": 8.2, "cop": 2.2}]


def test_capacity_is_read_at_the_nearest_rating_point_at_or_below_the_design_temperature():
    assert selection.capacity_at(POINTS, -12.3) == (8.2, 2.2, -20)   # −12 is warmer than −12.3
    assert selection.capacity_at(POINTS, -12.0) == (10, 2.7, -12)
    assert selection.capacity_at(POINTS, -5) == (10, 2.7, -12)
    kw, cop, t = selection.capacity_at(POINTS, -25)
    assert math.isnan(kw) and t is None                              # nothing rated that cold
    assert selection.capacity_at([], -20, rated_kw=24) == (24, None, None)  # a boiler


def _catalog(capacities, paths=None, eff=None, price=None, ratio=1.6):
    m = len(capacities)
    return selection.Catalog(
        ids=np.arange(1, m + 1), path=np.array(paths or ["electric"] * m, dtype=object),
        kind=np.array(["ashp_water"] * m, dtype=object), capacity=np.array([capacities], dtype=float),
        cop_design=np.full((1, m), 2.2), min_temp=np.full(m, -25.0), seasonal_eff=np.array(eff or [3.0] * m),
        price=np.array(price or [21500.0] * m), valley_share=np.full(m, 0.5), oversize_ratio=np.full(m, ratio),
        available=np.ones((1, m), dtype=bool), electric_input=np.array([capacities], dtype=float) / 2.2)


TARIFFS = {"electricity": {"tiers": [[2160, 0.477], [4800, 0.527], [None, 0.777]], "base_kwh": 1500,
                           "peak": 0.517, "valley": 0.2862},
           "gas": {"tiers": [[None, 2.72]], "kwh_per_m3": 10.0}, "pellets": {"price_per_t": 1000, "kwh_per_kg": 4.6},
           "central": {"fee_per_m2": 22}}
SUBSIDIES = {"electric": {"equipment_rate": 0.6667, "equipment_cap": 20000, "operating_per_unit": 0.2,
                          "operating_max_units": 12000, "operating_on": "valley"}}


def _evaluate(catalog, load, heat=12000.0, spare=np.nan, feasible=True):
    return selection.evaluate([load], [heat], [0], [-12.3], [spare], (["electric"], np.array([[feasible]])),
                              catalog, TARIFFS, SUBSIDIES, 10)


def test_oversize_ratio_is_respected():
    catalog = _catalog([4.5, 6.0, 8.0, 8.1, 12.0])
    result = _evaluate(catalog, load=5.0)
    assert result.reason[0].tolist() == [selection.UNDERSIZED, selection.FITS, selection.FITS,
                                         selection.OVERSIZED, selection.OVERSIZED]
    looser = _evaluate(_catalog([4.5, 6.0, 8.0, 8.1, 12.0], ratio=2.5), load=5.0)
    assert looser.reason[0].tolist()[3:] == [selection.FITS, selection.FITS]


def test_grid_capacity_and_path_feasibility_exclude_models():
    catalog = _catalog([10.0])
    assert _evaluate(catalog, load=9.0, spare=3.0).reason[0, 0] == selection.GRID   # 10 / 2.2 = 4.5 kW > 3 kW
    assert _evaluate(catalog, load=9.0, spare=50.0).reason[0, 0] == selection.FITS
    assert _evaluate(catalog, load=9.0, feasible=False).reason[0, 0] == selection.INFEASIBLE
    assert np.isinf(_evaluate(catalog, load=9.0, feasible=False).annual[0, 0])


# ---- cost arithmetic

def test_tiered_and_time_of_use_electricity_match_a_hand_example():
    """4,000 kWh of heating on top of 1,500 kWh the family uses anyway.
    Tiered: bill(5,500) = 2160·0.477 + 2640·0.527 + 700·0.777 = 1030.32 + 1391.28 + 543.90 = 2965.50
            bill(1,500) = 1500·0.477 = 715.50  →  heating adds 2,250.00
    Time of use, half in valley hours: 4000 · (0.5·0.2862 + 0.5·0.517) = 4000 · 0.4016 = 1,606.40"""
    tiers = TARIFFS["electricity"]["tiers"]
    assert float(selection.tiered_cost(4000, tiers, 1500)) == pytest.approx(2250.00)
    assert float(selection.tou_cost(4000, 0.517, 0.2862, 0.5)) == pytest.approx(1606.40)
    cost, uses_tou = selection.electricity_cost(np.array([4000.0]), TARIFFS["electricity"], 0.5)
    assert float(cost[0]) == pytest.approx(1606.40) and bool(uses_tou[0])
    # a family using little electricity at all: the tiered tariff is cheaper for 500 kWh
    small, small_tou = selection.electricity_cost(np.array([500.0]), {**TARIFFS["electricity"], "base_kwh": 0}, 0.0)
    assert float(small[0]) == pytest.approx(500 * 0.477) and not bool(small_tou[0])


def test_family_annual_cost_matches_a_hand_example():
    """12,000 kWh of heat, seasonal COP 3.0 → 4,000 kWh (1,606.40 on time-of-use, see above).
    Equipment 21,500 × 66.67 % = 14,334.05 subsidy → the family pays 7,165.95, over 10 years 716.595/yr.
    Operating subsidy 0.2 × 2,000 valley kWh = 400.  Annual: 716.595 + 1,606.40 − 400 = 1,922.995"""
    result = _evaluate(_catalog([10.0]), load=9.0)
    assert float(result.units[0, 0]) == pytest.approx(4000)
    assert float(result.equipment_subsidy[0]) == pytest.approx(14334.05)
    assert float(result.operating_subsidy[0, 0]) == pytest.approx(400)
    assert float(result.annual[0, 0]) == pytest.approx(1922.995)


# ---- the advisor on real households

def test_advisor_ranks_fitting_models_and_excludes_infeasible_paths_with_reasons():
    household = _electric_household(heated_area="60")
    GasContract.objects.filter(villages=household.village).delete()
    household.village.heat_sources.clear()
    advice = advisor.advise(household)
    paths = {p.path: p for p in advice.paths}
    assert not paths["gas"].feasible and "供气合同" in paths["gas"].reason and not paths["gas"].options
    assert not paths["central"].feasible and "供热管网" in paths["central"].reason
    electric = paths["electric"]
    assert electric.feasible and electric.options
    annual = [o.annual for o in electric.options]
    assert annual == sorted(annual)                       # ranked by the family's cost
    for option in electric.options:                       # each covers the load, none grossly oversized
        assert advice.design_load_kw <= option.capacity_kw
        assert option.capacity_kw <= float(advice.design_load_kw) * 1.6 + 1e-9
    reasons = " ".join(why for _, why in electric.excluded)
    assert "小于设计热负荷" in reasons and "明显偏大" in reasons
    # the −12.3 °C design day is judged at the −20 °C rating point
    water = [o for o in electric.options if o.model.equipment_type == "ashp_water"]
    assert water and all(o.rating_temp == -20 for o in water)
    cheapest = min((p for p in advice.paths if p.best), key=lambda p: p.best.annual)
    assert advice.cheapest == cheapest.path
    for p in advice.paths:
        if p.best:
            assert p.far_above == (p.best.annual > cheapest.best.annual * 1.3)


def test_advisor_page_shows_ranked_models_chart_data_and_print_sheet(admin_client):
    household = _electric_household()
    page = admin_client.get(f"/households/{household.household_no}/advice/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "设计热负荷" in text and "10.8 kW" in text and 'id="cost-chart"' in text and "chart-data" in text
    sheet = admin_client.get(f"/households/{household.household_no}/advice/print/")
    assert sheet.status_code == 200 and "选型建议单" in sheet.content.decode() and "农户签字" in sheet.content.decode()


# ---- contracts and allocation

def _contract(county, model, quantity, no="T-001"):
    return services.create_contract({"county_code": county, "contract_no": no, "vendor": model.vendor,
                                     "title": "测试合同"}, [{"model": model, "quantity": quantity}])


def _model(name="JB-KRS10D"):
    return CatalogModel.objects.select_related("lot").get(model_name=name)


def test_allocation_beyond_the_contracted_quantity_is_refused(county_clerk):
    model = _model()
    contract = _contract("140902", model, 1)
    line = contract.lines.get()
    first, second = _electric_household(), _electric_household()
    services.allocate(first, line, user=county_clerk)
    with pytest.raises(ValidationError, match="已全部分配，不能超合同分配"):
        services.allocate(second, line, user=county_clerk)
    assert services.line_counts([line])[line.pk] == {"contracted": 1, "allocated": 1, "installed": 0, "left": 0}
    first.refresh_from_db()
    assert first.state == "selected"                               # 确村确户 → 已选型 with the model
    assert first.changes.filter(field="equipment", new_value__contains="JB-KRS10D").exists()
    # releasing gives the unit back, with a reason and history
    with pytest.raises(ValidationError):
        services.release(first.allocations.get(), reason=" ")
    services.release(first.allocations.get(), reason="农户改选热风机", user=county_clerk)
    services.allocate(second, line, user=county_clerk)
    assert services.line_counts([line])[line.pk]["allocated"] == 1
    assert first.changes.filter(field="equipment", old_value__contains="JB-KRS10D", source="农户改选热风机").exists()


def test_allocation_checks_county_path_and_contract_status():
    model = _model()
    line = _contract("140921", model, 5).lines.get()
    with pytest.raises(ValidationError, match="属于其他县"):
        services.allocate(_electric_household(), line)
    gas_model = _model("JR-L1PB24")
    gas_line = _contract("140902", gas_model, 5, no="T-GAS").lines.get()
    with pytest.raises(ValidationError, match="与本户取暖路径"):
        services.allocate(_electric_household(), gas_line)
    own = _contract("140902", model, 5, no="T-002")
    services.set_contract_status(own, "terminated")
    with pytest.raises(ValidationError, match="只有已签订的合同"):
        services.allocate(_electric_household(), own.lines.get())


def test_contract_refuses_other_vendors_models_and_duplicate_numbers():
    model, other = _model(), _model("HY-DW12")
    with pytest.raises(ValidationError) as error:
        services.create_contract({"county_code": "140902", "contract_no": "T-9", "vendor": model.vendor},
                                 [{"model": other, "quantity": 3}])
    assert "不是本合同的供货企业" in str(error.value)
    _contract("140902", model, 2, no="T-10")
    with pytest.raises(ValidationError, match="已存在"):
        _contract("140902", model, 2, no="T-10")


def test_contract_page_counts_allocated_and_installed_from_the_ledger(admin_client, city_admin):
    model = _model()
    contract = _contract("140902", model, 3)
    household = _electric_household()
    services.allocate(household, contract.lines.get(), user=city_admin)
    for state in ("installing", "installed"):
        ledger.transition(household, state, user=city_admin)
    counts = services.line_counts(list(contract.lines.all()))[contract.lines.get().pk]
    assert counts == {"contracted": 3, "allocated": 1, "installed": 1, "left": 2}
    page = admin_client.get(f"/procurement/contracts/{contract.pk}/").content.decode()
    assert household.household_no in page


def test_undersized_installed_unit_is_flagged_in_compliance_and_rollup(city_admin):
    household = _electric_household(heated_area="160")    # ~17 kW at −12.3 °C
    small = _model("HT-XR06")
    household = Household.objects.get(pk=household.pk)
    ledger.update_household(household, {"electric_device": "storage"})
    services.allocate(household, _contract("140902", small, 2).lines.get(), user=city_admin)
    findings = [f for f in compliance.scan("140902") if f.rule == "sizing" and f.household_id == household.pk]
    assert len(findings) == 1 and findings[0].severity == "warning" and "HT-XR06" in findings[0].message
    advice = Advice.objects.get(household=household)
    assert advice.undersized and float(advice.installed_capacity_kw) == 6.0
    fitting = _electric_household(heated_area="60")
    ledger.update_household(Household.objects.get(pk=fitting.pk), {"electric_device": "storage"})
    services.allocate(fitting, _contract("140902", _model("HT-XR09"), 2, no="T-XR09").lines.get())
    assert not [f for f in compliance.scan("140902") if f.rule == "sizing" and f.household_id == fitting.pk]


# ---- batch

def test_batch_sizes_every_household_and_agrees_with_the_advisor():
    stats = batch.size_region("140902")
    n = Household.objects.filter(village__code__startswith="140902", archived=False).count()
    assert stats["households"] == n == EnergyDemand.objects.filter(household__village__code__startswith="140902").count()
    sample = Household.objects.filter(village__code__startswith="140902", heating_path="electric").order_by("pk")[:15]
    for household in sample:
        advice, stored = advisor.advise(household), Advice.objects.get(household=household)
        own = next(p for p in advice.paths if p.path == household.heating_path)
        assert float(household.energy_demand.design_load_kw) == pytest.approx(advice.design_load_kw, abs=0.01)
        if own.best:
            assert stored.recommended_model_id == own.best.model.pk
            assert float(stored.own_path_cost) == pytest.approx(own.best.annual, abs=0.51)
        cheapest = next(p for p in advice.paths if p.path == advice.cheapest)
        assert stored.best_path == advice.cheapest
        assert float(stored.best_path_cost) == pytest.approx(cheapest.best.annual, abs=0.51)


def test_sizing_job_runs_from_the_page_and_shows_in_the_rollup(admin_client):
    response = admin_client.post("/procurement/sizing/", {"region": "140921000000"})
    job_page = admin_client.get(response["Location"]).content.decode()
    assert "已测算" in job_page
    region = admin_client.get("/regions/140921000000/").content.decode()
    assert 'id="sizing-rollup"' in region


# ---- tender catalog import

HEADER = ["项目编号", "包号", "中标人", "产品类型", "规格型号", "额定制热量(kW)", "-12℃制热量(kW)", "-12℃COP",
          "-20℃制热量(kW)", "-20℃COP", "APF", "最低运行温度(℃)", "中标单价(元)", "安装费(元)", "质保期(年)", "售后电话"]


def test_catalog_import_accepts_a_tender_results_sheet_and_updates_on_reimport(tmp_path, admin_client):
    row = ["ZB-2023-01", "第5包", "新供应商（测试）", "空气源热泵热水机", "NEW-10", "10", "10", "2.7", "8.3", "2.2",
           "3.0", "-25", "19,800", "3000", "5", "0350-1234567"]
    path = write_sheet(tmp_path / "中标结果.xlsx", HEADER, [row, ["合计", "", "", "", "", "", "", "", "", "", "", "", "",
                                                                  "", "", ""]],
                       title_rows=["2023年清洁取暖设备招标中标结果公示"])
    with open(path, "rb") as fh:
        admin_client.post("/procurement/catalog/", {"file": fh})
    model = CatalogModel.objects.get(model_name="NEW-10")
    assert model.equipment_type == "ashp_water" and model.unit_price == Decimal("19800")
    assert model.rating_points == [{"t": -12, "kw": 10.0, "cop": 2.7}, {"t": -20, "kw": 8.3, "cop": 2.2}]
    row[12] = "18800"
    path = write_sheet(tmp_path / "更正.xlsx", HEADER, [row])
    assert services.import_catalog(path) == {"created": 0, "updated": 1}
    assert CatalogModel.objects.get(model_name="NEW-10").unit_price == Decimal("18800")


def test_catalog_import_with_errors_writes_nothing_and_names_row_and_column(tmp_path):
    good = ["ZB-2023-02", "第1包", "甲公司", "燃气壁挂炉", "G-24", "24", "", "", "", "", "0.92", "", "4800", "900", "3", ""]
    bad_price = ["ZB-2023-02", "第1包", "甲公司", "燃气壁挂炉", "G-28", "28", "", "", "", "", "0.92", "", "面议", "", "", ""]
    bad_type = ["ZB-2023-02", "第1包", "甲公司", "空调", "K-1", "5", "", "", "", "", "3", "", "3000", "", "", ""]
    no_cold = ["ZB-2023-02", "第2包", "乙公司", "低温空气源热泵（热风型）", "R-7", "7", "", "", "", "", "2.6", "", "9000", "", "",
               ""]
    path = write_sheet(tmp_path / "bad.xlsx", HEADER, [good, bad_price, bad_type, no_cold])
    with pytest.raises(ValidationError) as error:
        services.import_catalog(path)
    messages = " ".join(error.value.messages)
    assert "第3行M列“设备单价元”应为数字，实际为“面议”" in messages
    assert "第4行D列“设备类型”无法识别：“空调”" in messages
    assert "第5行" in messages and "−12℃" in messages
    assert not CatalogModel.objects.filter(model_name__in=["G-24", "G-28"]).exists()


def test_catalog_template_downloads(admin_client):
    response = admin_client.get("/procurement/catalog/template.xlsx")
    assert response.status_code == 200 and response.content[:2] == b"PK"


# ---- API and permissions

def test_api_advice_allocation_and_contract_counts(admin_client):
    household = _electric_household()
    model = _model()
    contract = _contract("140902", model, 1)
    advice = admin_client.get(f"/api/procurement/households/{household.household_no}/advice").json()
    assert advice["design_load_kw"] == pytest.approx(10.81)
    electric = next(p for p in advice["paths"] if p["path"] == "electric")
    assert [o["annual"] for o in electric["options"]] == sorted(o["annual"] for o in electric["options"])
    line_id = contract.lines.get().pk
    ok = admin_client.post(f"/api/procurement/households/{household.household_no}/allocation",
                           {"line_id": line_id}, content_type="application/json")
    assert ok.status_code == 201
    other = _electric_household()
    refused = admin_client.post(f"/api/procurement/households/{other.household_no}/allocation",
                                {"line_id": line_id}, content_type="application/json")
    assert refused.status_code == 422 and "不能超合同分配" in str(refused.json())
    detail = admin_client.get(f"/api/procurement/contracts/{contract.pk}").json()
    assert detail["lines"][0]["allocated"] == 1 and detail["lines"][0]["left"] == 0
    created = admin_client.post("/api/procurement/contracts", {
        "county_code": "140902", "contract_no": "API-1", "lines": [{"model_id": model.pk, "quantity": 4}]},
        content_type="application/json")
    assert created.status_code == 201 and created.json()["lines"][0]["contracted"] == 4
    catalog = admin_client.get("/api/procurement/catalog?path=gas").json()
    assert catalog and all(m["path"] == "gas" for m in catalog)


def test_who_may_allocate_and_see_contracts(client):
    household = _electric_household()
    line = _contract("140902", _model(), 3).lines.get()
    villager = make_user("v_clerk", household.village_id, role="village_clerk")
    client.force_login(villager)
    assert client.post(f"/households/{household.household_no}/allocate/", {"line": line.pk}).status_code == 403
    assert not household.allocations.exists()
    outsider = make_user("o_clerk", "140921", role="county_clerk")
    client.force_login(outsider)
    assert client.get(f"/procurement/contracts/{line.contract_id}/").status_code == 404
    assert client.get(f"/households/{household.household_no}/advice/").status_code == 404
    assert client.post("/procurement/catalog/").status_code == 403
    assert ContractLine.objects.filter(contract__county_code="140902").exists()
    assert CountyContract.objects.filter(county_code="140921").count() == \
        len(client.get("/api/procurement/contracts").json())
