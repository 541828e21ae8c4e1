"""Issue 12, finding 3: one bad catalog edit broke the advice of the whole city. Every door
(API, edit form, admin, tender sheet import) refuses bad register values with a Chinese message
naming the field; an entry already stored broken is skipped, logged and shown to those who can
fix it, and every page that reads the catalog keeps working."""
import json
import logging
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import Channel
from cleanheat.procurement import batch, services
from cleanheat.procurement.models import AdvisorConfig, CatalogModel, ContractLine, CountyClimate, CountyContract
from cleanheat.rules.models import GasContract, HeatingSeason, HeatSource

from .conftest import make_user
from .factories import household_data
from .sheets import write_sheet

pytestmark = pytest.mark.django_db

PUMP = "JB-KRS10D"      # an air-source heat pump of the city's tender that fits the test household
BOILER = "JR-L1PB24"    # a gas boiler: its seasonal efficiency is a thermal efficiency


def _model(name=PUMP):
    return CatalogModel.objects.select_related("lot").get(model_name=name)


def _stored(model):
    model.refresh_from_db()
    return model_to_dict(model)


def _label(field):
    return str(CatalogModel._meta.get_field(field).verbose_name)


def _household():
    data = household_data(heating_path="electric", electric_device="ashp_water", heat_source="",
                          heated_area="100", structure="brick_concrete")
    return ledger.create_household(data, channel=Channel.UI)


def _text(response):
    return json.dumps(response.json(), ensure_ascii=False)


# ---- the API refuses bad values, says which field and why, and stores nothing

BAD_PATCHES = [  # JSON body, field, reason
    ('{"rating_points": [{"x": 1}]}', "rating_points", "第1个工况的温度t（℃）不能为空"),
    ('{"rating_points": [{"t": -12, "kw": 10, "cop": 0}]}', "rating_points", "第1个工况的COP应大于0"),
    ('{"rating_points": [{"t": -12, "kw": "NaN", "cop": 2.7}]}', "rating_points", "制热量kw（kW）应为数字"),
    ('{"rating_points": [{"t": -12, "kw": 10, "cop": 2.7}, {"t": -12, "kw": 9, "cop": 2.6}]}', "rating_points",
     "第2个工况的温度t（℃）与第1个工况相同"),
    ('{"rating_points": [{"t": 7, "kw": 12, "cop": 3.4}]}', "rating_points", "缺少−12℃"),
    ('{"rated_capacity_kw": 0}', "rated_capacity_kw", "应大于0"),
    ('{"rated_capacity_kw": "Infinity"}', "rated_capacity_kw", "不能是NaN或无穷大"),
    ('{"seasonal_efficiency": 0}', "seasonal_efficiency", "应大于0"),
    ('{"seasonal_efficiency": "NaN"}', "seasonal_efficiency", "不能是NaN或无穷大"),
    ('{"unit_price": -1}', "unit_price", "不能为负数"),
    ('{"install_price": -300}', "install_price", "不能为负数"),
]


@pytest.mark.parametrize("body,field,reason", BAD_PATCHES)
def test_api_patch_with_a_bad_value_is_refused_and_stores_nothing(admin_client, body, field, reason):
    model = _model()
    before = _stored(model)
    response = admin_client.patch(f"/api/procurement/catalog/{model.pk}", body, content_type="application/json")
    assert response.status_code == 422
    text = _text(response)
    assert field in text and f"“{_label(field)}”" in text and reason in text
    assert _stored(model) == before


@pytest.mark.parametrize("body", ['{"rated_capacity_kw": Infinity}', '{"rating_points": [{"t": -12, "kw": NaN}]}'])
def test_api_patch_with_nan_or_infinity_literals_is_refused_as_bad_json(admin_client, body):
    model = _model()
    before = _stored(model)
    response = admin_client.patch(f"/api/procurement/catalog/{model.pk}", body, content_type="application/json")
    assert response.status_code == 400 and "NaN" in response.json()["detail"]
    assert _stored(model) == before


def test_api_patch_checks_efficiency_against_the_equipment_type(admin_client):
    boiler = _model(BOILER)
    before = _stored(boiler)
    response = admin_client.patch(f"/api/procurement/catalog/{boiler.pk}", {"seasonal_efficiency": 1.5},
                                  content_type="application/json")
    assert response.status_code == 422
    assert "应在0到1之间" in " ".join(response.json()["errors"]["seasonal_efficiency"])
    assert _stored(boiler) == before
    pump = _model()   # a heat pump's seasonal efficiency is a COP
    assert admin_client.patch(f"/api/procurement/catalog/{pump.pk}", {"seasonal_efficiency": 3.1},
                              content_type="application/json").status_code == 200
    assert str(_stored(pump)["seasonal_efficiency"]) == "3.10"


# ---- the web edit form and the admin refuse the same

def _form_data(model, **changes):
    data = {"vendor": model.vendor, "equipment_type": model.equipment_type, "model_name": model.model_name,
            "rated_capacity_kw": model.rated_capacity_kw, "rating_points": json.dumps(model.rating_points),
            "seasonal_efficiency": model.seasonal_efficiency, "min_operating_temp_c": model.min_operating_temp_c or "",
            "efficiency_grade": model.efficiency_grade or "", "unit_price": model.unit_price,
            "install_price": model.install_price, "warranty_years": model.warranty_years,
            "repair_contact": model.repair_contact, "active": "on"}
    return {**data, **changes}


BAD_EDITS = [  # model, changed form fields, field, reason
    (PUMP, {"rating_points": '[{"x": 1}]'}, "rating_points", "第1个工况的“x”不是可识别的项"),
    (PUMP, {"rating_points": '[{"t": -12, "kw": NaN, "cop": 2.7}]'}, "rating_points", "不能是NaN或无穷大"),
    (PUMP, {"rating_points": ""}, "rating_points", "不能为空"),
    (PUMP, {"rating_points": "5"}, "rating_points", "应为工况列表"),
    (PUMP, {"rated_capacity_kw": "0"}, "rated_capacity_kw", "应大于0"),
    (PUMP, {"seasonal_efficiency": "0"}, "seasonal_efficiency", "应大于0"),
    (PUMP, {"unit_price": "-1"}, "unit_price", "不能为负数"),
    (BOILER, {"seasonal_efficiency": "1.5"}, "seasonal_efficiency", "应在0到1之间"),
]


@pytest.mark.parametrize("name,changes,field,reason", BAD_EDITS)
def test_edit_form_with_a_bad_value_is_refused_and_stores_nothing(admin_client, name, changes, field, reason):
    model = _model(name)
    before = _stored(model)
    response = admin_client.post(f"/procurement/catalog/{model.pk}/edit/", _form_data(model, **changes))
    assert response.status_code == 200   # the form again, with the reason
    page = response.content.decode()
    assert f"“{_label(field)}”" in page and reason in page
    assert _stored(model) == before


def test_edit_form_wants_a_cop_at_each_rating_point_and_saves_good_values(admin_client):
    model = _model()
    points = [{"t": 7, "kw": 12.5, "cop": 3.4}, {"t": -12, "kw": 10.0, "cop": 2.7}]
    without_cop = [{"t": 7, "kw": 12.5, "cop": 3.4}, {"t": -12, "kw": 10.0}]
    response = admin_client.post(f"/procurement/catalog/{model.pk}/edit/",
                                 _form_data(model, rating_points=json.dumps(without_cop), unit_price="19000"))
    assert response.status_code == 200 and "第2个工况的COP不能为空" in response.content.decode()
    response = admin_client.post(f"/procurement/catalog/{model.pk}/edit/",
                                 _form_data(model, rating_points=json.dumps(points), unit_price="19000"))
    assert response.status_code == 302
    stored = _stored(model)
    assert stored["rating_points"] == points and str(stored["unit_price"]) == "19000.00"


@pytest.fixture
def superuser_client(client):
    client.force_login(make_user("t_super", "1409", role="city_admin", is_staff=True, is_superuser=True))
    return client


def _admin_post(client, obj, **changes):
    """Post the admin's change form of `obj` with its stored values and `changes`."""
    data = {}
    for name, value in model_to_dict(obj).items():
        if isinstance(value, (dict, list)) and name not in ("villages",):
            value = json.dumps(value)
        elif name == "villages":
            value = [v.pk for v in value]
        elif isinstance(value, date):
            value = value.isoformat()
        if value is not None and value is not False:
            data[name] = "on" if value is True else value
    data.update(changes)
    meta = obj._meta
    return client.post(f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/", data)


def _season():
    return HeatingSeason.objects.order_by("pk").first()


BAD_ADMIN_EDITS = [  # register, changed field, bad value, reason
    (lambda: _model(), "rating_points", '[{"x": 1}]', "不是可识别的项"),
    (lambda: _model(), "unit_price", "-5", "不能为负数"),
    (lambda: AdvisorConfig.objects.first(), "tariffs", '{"gas": {}}', "价格中缺少“electricity”部分"),
    (lambda: AdvisorConfig.objects.first(), "lifetime_years", "0", "不应小于1"),
    (lambda: CountyClimate.objects.first(), "heating_days", "0", "应在1到366之间"),
    (lambda: HeatSource.objects.first(), "capacity_mw", "-1", "不应小于0"),
    (lambda: GasContract.objects.first(), "season_volume_m3", "0", "不应小于1"),
    (lambda: _season(), "end", lambda: _season().start.isoformat(), "结束日期应晚于开始日期"),
]


@pytest.mark.parametrize("register,field,value,reason", BAD_ADMIN_EDITS)
def test_admin_refuses_implausible_register_values(superuser_client, register, field, value, reason):
    obj = register()
    before = model_to_dict(obj)
    response = _admin_post(superuser_client, obj, **{field: value() if callable(value) else value})
    assert response.status_code == 200 and reason in response.content.decode()
    obj.refresh_from_db()
    assert model_to_dict(obj) == before


# ---- the tender sheet import: the same rules, by row and column

HEADER = ["项目编号", "包号", "中标人", "产品类型", "规格型号", "额定制热量(kW)", "-12℃制热量(kW)", "-12℃COP",
          "-20℃制热量(kW)", "-20℃COP", "APF", "最低运行温度(℃)", "中标单价(元)", "安装费(元)", "质保期(年)", "售后电话"]


def test_import_refuses_zero_capacity_zero_cop_nan_and_boiler_efficiency_above_one(tmp_path):
    def pump(name, **cells):
        row = {"F": "10", "G": "10", "H": "2.7", "I": "8.2", "J": "2.2", "K": "3.0", "M": "18000", **cells}
        return ["ZB-ATK", "第1包", "甲公司", "空气源热泵热水机", name, row["F"], row["G"], row["H"], row["I"], row["J"],
                row["K"], "-25", row["M"], "3000", "5", ""]
    boiler = ["ZB-ATK", "第2包", "乙公司", "燃气壁挂炉", "ATK-G", "24", "", "", "", "", "1.5", "", "4800", "900", "3", ""]
    rows = [pump("ATK-1", F="0"), pump("ATK-2", H="0"), pump("ATK-3", M="NaN"), boiler, pump("ATK-5", H="")]
    path = write_sheet(tmp_path / "bad.xlsx", HEADER, rows)
    items, errors = services.parse_catalog_sheet(path)
    text = " ".join(errors)
    assert "第2行F列“名义制热量kW”应大于0" in text
    assert "第3行H列“-12℃COP”应大于0" in text
    assert "第4行M列“设备单价元”应为有限的数字，实际为“NaN”" in text
    assert "第5行K列“季节能效”应在0到1之间" in text
    assert "第6行H列“-12℃COP”不能为空" in text
    assert not items
    with pytest.raises(ValidationError):
        services.import_catalog(path)
    assert not CatalogModel.objects.filter(model_name__startswith="ATK").exists()


# ---- contract lines: quantities and prices as typed, or refused

def _contract_body(model, no, **line):
    return {"county_code": "140902", "contract_no": no, "lines": [{"model_id": model.pk, "quantity": 3, **line}]}


@pytest.mark.parametrize("no,line,reason", [
    ("ATK-C1", {"unit_price": -100}, "合同单价（元）-100.00不合理，应在0到"),
    ("ATK-C2", {"install_price": "NaN"}, "安装费（元）“nan”应为数字"),
    ("ATK-C3", {"quantity": 10 ** 12}, "数量应为1到1000000之间的整数"),
    ("ATK-C4-" + "X" * 60, {}, "contract_no"),
])
def test_api_contract_with_bad_line_values_is_refused(admin_client, no, line, reason):
    response = admin_client.post("/api/procurement/contracts", json.dumps(_contract_body(_model(), no, **line)),
                                 content_type="application/json")
    assert response.status_code == 422 and reason in _text(response)
    assert not CountyContract.objects.filter(contract_no=no).exists()


def test_contract_price_of_zero_is_kept_as_typed(admin_client):
    response = admin_client.post("/api/procurement/contracts",
                                 _contract_body(_model(), "ATK-C5", unit_price=0, install_price=0),
                                 content_type="application/json")
    assert response.status_code == 201
    line = ContractLine.objects.get(contract__contract_no="ATK-C5")
    assert line.unit_price == 0 and line.install_price == 0


# ---- an entry stored broken (before these checks, or past them) is skipped, not fatal

@pytest.fixture
def broken():
    """The heat pump corrupted in the database as the attack left it."""
    model = _model()
    CatalogModel.objects.filter(pk=model.pk).update(rating_points=[{"x": 1}])
    return model


def _options(advice_json):
    return [o["model_id"] for p in advice_json["paths"] for o in p["options"]]


def test_advice_page_api_and_sheet_skip_a_broken_entry_and_tell_the_catalog_admin(admin_client, client, broken,
                                                                                  caplog):
    household = _household()
    with caplog.at_level(logging.WARNING, logger="cleanheat.procurement.sizing"):
        page = admin_client.get(f"/households/{household.household_no}/advice/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="catalog-warnings"' in text and f"目录中型号“{broken}”的数据不完整，已在计算中跳过，请修正" in text
    assert 'class="option"' in text and f'data-model="{PUMP}"' not in text
    assert any(f"catalog model id {broken.pk}" in r.getMessage() for r in caplog.records)

    api = admin_client.get(f"/api/procurement/households/{household.household_no}/advice")
    assert api.status_code == 200
    assert _options(api.json()) and broken.pk not in _options(api.json())
    sheet = admin_client.get(f"/households/{household.household_no}/advice/print/")
    assert sheet.status_code == 200 and "选型建议单" in sheet.content.decode()

    client.force_login(make_user("t_clerk_attack", "140902", role="county_clerk"))   # cannot fix the catalog
    page = client.get(f"/households/{household.household_no}/advice/")
    assert page.status_code == 200 and 'id="catalog-warnings"' not in page.content.decode()


def test_compliance_page_keeps_working_and_tells_the_catalog_admin(admin_client, client, broken):
    page = admin_client.get("/compliance/140902000000/")
    assert page.status_code == 200
    assert f"目录中型号“{broken}”的数据不完整" in page.content.decode()
    client.force_login(make_user("t_cadmin_attack", "140902", role="county_admin"))   # no catalog permission
    page = client.get("/compliance/140902000000/")
    assert page.status_code == 200 and 'id="catalog-warnings"' not in page.content.decode()


def test_allocation_and_release_work_with_a_broken_entry(admin_client, broken):
    line = services.create_contract({"county_code": "140902", "contract_no": "ATK-A1", "vendor": broken.vendor},
                                    [{"model": broken, "quantity": 2}]).lines.get()
    household, other = _household(), _household()
    response = admin_client.post(f"/households/{household.household_no}/allocate/", {"line": line.pk})
    assert response.status_code == 302
    allocation = household.allocations.get(released_at__isnull=True)
    response = admin_client.post(f"/households/{household.household_no}/allocations/{allocation.pk}/release/",
                                 {"reason": "农户改选"})
    assert response.status_code == 302
    allocation.refresh_from_db()
    assert allocation.released_at is not None
    api = f"/api/procurement/households/{other.household_no}/allocation"
    assert admin_client.post(api, {"line_id": line.pk}, content_type="application/json").status_code == 201
    assert admin_client.post(f"{api}/release", {"reason": "农户改选"},
                             content_type="application/json").status_code == 204


def test_batch_sizing_skips_a_broken_entry_and_says_so(admin_client, broken):
    stats = batch.size_region("140902")
    assert stats["households"] > 0 and stats["skipped_models"] == 1
    response = admin_client.post("/procurement/sizing/", {"region": "140902000000"})
    job_page = admin_client.get(response["Location"]).content.decode()
    assert "已测算" in job_page and "1个型号的数据不完整，已在计算中跳过" in job_page


def test_catalog_page_and_list_show_an_entry_that_is_not_even_a_list(admin_client):
    model = _model()
    CatalogModel.objects.filter(pk=model.pk).update(rating_points=5, unit_price=-1)
    page = admin_client.get("/procurement/catalog/")
    assert page.status_code == 200
    assert "数据不完整，请修正" in page.content.decode() and "应为工况列表" in page.content.decode()
    listed = admin_client.get("/api/procurement/catalog")
    assert listed.status_code == 200
    assert next(m for m in listed.json() if m["id"] == model.pk)["rating_points"] == []
    assert admin_client.get(f"/households/{_household().household_no}/advice/").status_code == 200


def test_broken_tariffs_give_a_message_not_a_server_error(admin_client):
    AdvisorConfig.objects.update(tariffs={"electricity": {"tiers": [[2160, 0.477]]}})
    household = _household()
    page = admin_client.get(f"/households/{household.household_no}/advice/")
    assert page.status_code == 200 and "选型与费用参数有误" in page.content.decode()
    api = admin_client.get(f"/api/procurement/households/{household.household_no}/advice")
    assert api.status_code == 409 and "选型与费用参数有误" in _text(api)
    assert admin_client.get("/compliance/140902000000/").status_code == 200
