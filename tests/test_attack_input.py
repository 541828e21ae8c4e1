"""Hostile input (issue 12, findings 7 and 8): every bad request answers 4xx with a Chinese message
and no internals, never 500; numbers are refused, never quietly changed; nothing is stored."""
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from cleanheat.jobs.models import Job
from cleanheat.ledger import services
from cleanheat.ledger.models import Household, MaintenanceRecord
from cleanheat.plan import services as plan
from cleanheat.plan.models import CountyPlan, Target
from cleanheat.procurement import services as procurement
from cleanheat.procurement.models import CatalogModel, CountyContract

from .conftest import make_user
from .factories import household_data
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db
CHINESE = re.compile(r"[\u4e00-\u9fff]")
INTERNALS = ("Traceback", "File \"", "site-packages", str(settings.BASE_DIR), "Exception", "Error at")


@pytest.fixture
def web(client, city_admin):
    """A logged-in client that, like a browser, gets the answer of a failing request."""
    client.force_login(city_admin)
    client.raise_request_exception = False
    return client


def refused(response, status):
    """The response refuses with `status`, a Chinese message and nothing of the server's insides."""
    body = response.content.decode()
    assert response.status_code == status, body[:300]
    if response["Content-Type"].startswith("application/json"):
        body = json.dumps(response.json(), ensure_ascii=False)
    assert CHINESE.search(body), body[:300]
    assert not [word for word in INTERNALS if word in body], body[:300]
    return body


def send(client, method, url, body: str):
    return getattr(client, method)(url, body, content_type="application/json")


def _household():
    return Household.objects.filter(village__code__startswith="140902", archived=False).order_by("pk").first()


# ---- bodies no view should see -------------------------------------------------------------------

@pytest.mark.parametrize("member", [
    '"householder_name": "\\ud800"',                           # a lone surrogate
    '"householder_name": "张\\u0000三"',                        # NUL
    '"heated_area": NaN', '"heated_area": Infinity',            # not JSON at all
])
def test_unstorable_json_answers_400_and_changes_nothing(web, member):
    household = _household()
    before = Household.objects.count(), household.householder_name, household.heated_area
    refused(send(web, "patch", f"/api/households/{household.household_no}", "{" + member + "}"), 400)
    created = json.dumps(household_data())[:-1] + ", " + member + "}"  # the last of a repeated key counts
    refused(send(web, "post", "/api/households", created), 400)
    household.refresh_from_db()
    assert (Household.objects.count(), household.householder_name, household.heated_area) == before


def test_nul_in_the_path_query_or_a_form_answers_400(web):
    household = _household()
    for response in (web.get("/households/", {"q": "张\x00"}), web.get("/api/households", {"q": "\x00"}),
                     web.get("/regions/1409\x00/"),
                     web.post(f"/households/{household.household_no}/archive/", {"reason": "搬迁\x00"})):
        refused(response, 400)
    household.refresh_from_db()
    assert not household.archived


def test_a_body_over_the_limit_answers_413_in_chinese_and_stores_nothing(web):
    count = Household.objects.count()
    huge = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    assert "MB" in refused(send(web, "post", "/api/households", json.dumps({**household_data(), "address": huge})), 413)
    refused(web.post("/households/new/", {**household_data(), "address": huge}), 413)
    assert Household.objects.count() == count


def test_uploads_keep_their_own_limit_and_a_sheet_above_the_body_limit_still_imports(web, settings, tmp_path):
    village = household_data()["village"]
    rows = [template_row(village_code=village, householder_name=f"大表{i}", heated_area="80", original_facility="燃煤炉",
                         heating_path="集中供热", address="某街" * 30) for i in range(60)]
    sheet = write_sheet(tmp_path / "上传.xlsx", TEMPLATE_HEADER, rows)
    size = sheet.stat().st_size
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = size // 4  # forms and JSON bodies: far less than the sheet
    settings.CLEANHEAT_MAX_UPLOAD_BYTES = size * 2
    jobs = Job.objects.filter(kind="import").count()
    with open(sheet, "rb") as fh:
        assert web.post("/imports/", {"file": fh}).status_code == 302
    assert Job.objects.filter(kind="import").count() == jobs + 1
    settings.CLEANHEAT_MAX_UPLOAD_BYTES = size // 2
    with open(sheet, "rb") as fh:
        refused(web.post("/imports/", {"file": fh}), 413)
    assert Job.objects.filter(kind="import").count() == jobs + 1


def test_multipart_without_a_boundary_answers_400_in_chinese(web):
    jobs = Job.objects.count()
    for url in ("/imports/", "/api/households"):
        refused(web.generic("POST", url, b"--x\r\nContent-Disposition: form-data; name=file\r\n\r\nabc\r\n--x--",
                            content_type="multipart/form-data"), 400)
    assert Job.objects.count() == jobs


# ---- numbers taken as typed or refused ----------------------------------------------------------

REFUSED_NUMBERS = [
    ("heated_area", -5, "采暖面积-5.0㎡不合理，应在1到2000平方米之间"),
    ("heated_area", "-5", "采暖面积-5.0㎡不合理"),
    ("heated_area", 0, "采暖面积0.0㎡不合理，应在1到2000平方米之间"),
    ("heated_area", "NaN", "采暖面积“NaN”应为数字"),
    ("heated_area", "Infinity", "采暖面积“Infinity”应为数字"),
    ("heated_area", 2000.04, "采暖面积最多保留一位小数"),
    ("heated_area", "88.25", "采暖面积最多保留一位小数"),
    ("heated_area", "9 5", "应为数字"),
    ("envelope_gain_pct", -30, "能效提升应在0到100之间"),
    ("envelope_gain_pct", "-30%", "能效提升应在0到100之间"),
    ("envelope_gain_pct", "35.5", "能效提升“35.5”应为整数百分数"),
    ("household_size", "-3", "家庭人口应在1到30人之间"),
    ("household_size", "9" * 30, "家庭人口"),
    ("householder_name", "张\x00三", "户主姓名含有不可见的控制字符"),
    ("householder_name", "张\x01三", "户主姓名含有不可见的控制字符"),
    ("address", "门" * 121, "住址（门牌号）过长（最多120个字）"),
]


def test_the_service_refuses_bad_numbers_and_text_with_the_right_message(city_admin):
    count = Household.objects.count()
    for field, value, message in REFUSED_NUMBERS:
        with pytest.raises(ValidationError) as error:
            services.create_household(household_data(**{field: value}), user=city_admin)
        assert message in error.value.message_dict[field][0], (field, value, error.value.message_dict)
    assert Household.objects.count() == count


# The API's schema reads envelope_gain_pct as an integer: text is refused there, in its own words.
SCHEMA_MESSAGES = {("envelope_gain_pct", "-30%"): "应为整数", ("envelope_gain_pct", "35.5"): "应为整数"}


def test_the_api_refuses_bad_numbers_on_create_and_patch_and_changes_nothing(web):
    household = _household()
    before = Household.objects.count(), household.heated_area, household.envelope_gain_pct, household.address
    for field, value, message in REFUSED_NUMBERS:
        if "\x00" in str(value):
            continue  # refused before the service (test_unstorable_json_answers_400_and_changes_nothing)
        message = SCHEMA_MESSAGES.get((field, value), message)
        for method, url, payload in (("post", "/api/households", household_data(**{field: value})),
                                     ("patch", f"/api/households/{household.household_no}", {field: value})):
            body = refused(send(web, method, url, json.dumps(payload)), 422)
            assert message in body, (field, value, body)
    household.refresh_from_db()
    assert (Household.objects.count(), household.heated_area, household.envelope_gain_pct, household.address) == before


def test_numbers_written_with_more_zeros_or_units_keep_their_value(city_admin):
    for typed, stored in (("88.50", Decimal("88.5")), (" 90㎡ ", Decimal("90")), ("１２０．５", Decimal("120.5"))):
        h = services.create_household(household_data(heated_area=typed, envelope_gain_pct=0), user=city_admin)
        assert (h.heated_area, h.envelope_gain_pct) == (stored, 0)  # 0 % stays 0, not "none"


def test_an_outage_cannot_end_in_the_future():
    household = _household()
    today = timezone.localdate()
    with pytest.raises(ValidationError) as error:
        services.record_outage(household, reported_on=today - timedelta(days=2), resolved_on=today + timedelta(days=3),
                               description="线路故障")
    assert "修复日期不能晚于今天" in error.value.message_dict["resolved_on"][0]
    assert not MaintenanceRecord.objects.filter(household=household, description="线路故障").exists()


def test_a_reason_is_refused_when_longer_than_its_column_not_cut(web):
    household = _household()
    body = refused(send(web, "post", f"/api/households/{household.household_no}/archive",
                        json.dumps({"reason": "搬" * 201})), 422)
    assert "最多200个字" in body
    household.refresh_from_db()
    assert not household.archived


def test_plan_targets_and_capacities_out_of_range_are_refused(city_admin):
    county_plan = CountyPlan.objects.filter(county_code="140902").first()
    target = Target.objects.get(county_plan=county_plan, heating_path="gas")
    households = target.households
    for value in (10 ** 30, -1, "很多", "12.5"):
        with pytest.raises(ValidationError) as error:
            plan.set_target(county_plan, "gas", value, user=city_admin, reason="核减")
        assert "目标户数" in error.value.message_dict["households"][0]
    with pytest.raises(ValidationError) as error:
        plan.set_target(county_plan, "天然气", 10, user=city_admin, reason="核减")
    assert "不是有效的取暖路径" in error.value.message_dict["path"][0]
    county_admin = make_user("t_cap", "140902", role="county_admin")
    for value in (0, -5, 10 ** 30):
        with pytest.raises(ValidationError) as error:
            plan.set_capacity(county_plan, value, user=county_admin)
        assert "月施工能力" in error.value.message_dict["monthly_capacity"][0]
    target.refresh_from_db()
    county_plan.refresh_from_db()
    assert (target.households, county_plan.monthly_capacity) == (households, None)
    assert not Target.objects.filter(county_plan=county_plan, heating_path="天然气").exists()


def test_contract_quantities_and_prices_are_checked_as_typed(web):
    model = CatalogModel.objects.filter(lot__county_code="", active=True).order_by("pk").first()
    contracts = CountyContract.objects.count()
    for line, message in (({"quantity": int("9" * 30)}, "数量应为1到"), ({"quantity": 2, "unit_price": -5}, "不合理"),
                          ({"quantity": 2, "unit_price": 12.345}, "最多保留两位小数"),
                          ({"quantity": 2, "install_price": 1e12}, "不合理")):
        body = refused(send(web, "post", "/api/procurement/contracts", json.dumps({
            "county_code": "140902", "contract_no": "ATK-1", "vendor": model.vendor,
            "lines": [{"model_id": model.pk, **line}]})), 422)
        assert message in body, (line, body)
    with pytest.raises(ValidationError) as error:
        procurement.create_contract({"county_code": "140902", "contract_no": "ATK\x002", "vendor": model.vendor},
                                    [{"model": model, "quantity": 1}])
    assert "控制字符" in error.value.message_dict["contract_no"][0]
    assert CountyContract.objects.count() == contracts


# ---- page numbers --------------------------------------------------------------------------------

def test_page_numbers_of_any_size_never_fail(web):
    huge = "9" * 30
    for url in ("/households/", "/audit/"):
        page = web.get(url, {"page": huge}).context["page"]  # the last page
        assert page.number == page.paginator.num_pages
        assert web.get(url, {"page": "第二页"}).context["page"].number == 1
    assert "页不存在" in refused(web.get("/api/households", {"page": huge}), 404)
    assert "page" in json.loads(refused(web.get("/api/households", {"page": "第二页"}), 422))["errors"]
    assert "page" in json.loads(refused(web.get("/api/households", {"page": "9" * 5000}), 422))["errors"]
    first = web.get("/api/households", {"page": 1}).json()
    assert first["count"] > 50 and len(first["items"]) == 50


# ---- region codes before a sizing job ------------------------------------------------------------

def test_a_sizing_job_needs_a_region_that_exists_and_lies_in_scope(web):
    jobs = Job.objects.filter(kind="sizing").count()
    assert "12位" in refused(send(web, "post", "/api/procurement/sizing", '{"region": "1409021000001"}'), 422)
    refused(send(web, "post", "/api/procurement/sizing", '{"region": "140999000000"}'), 404)
    refused(send(web, "post", "/api/procurement/sizing", '{"region": "140900"}'), 404)
    assert "12位" in web.post("/procurement/sizing/", {"region": "1409021000001"}, follow=True).content.decode()
    client = Client(raise_request_exception=False)
    client.force_login(make_user("t_sizer", "140902", role="city_admin"))  # may size, but only its own county
    refused(send(client, "post", "/api/procurement/sizing", '{"region": "140921000000"}'), 404)
    refused(client.post("/procurement/sizing/", {"region": "140921000000"}), 404)
    assert Job.objects.filter(kind="sizing").count() == jobs
    assert send(client, "post", "/api/procurement/sizing", '{"region": "140902"}').status_code == 202
    assert Job.objects.filter(kind="sizing", params={"prefix": "140902"}).count() == 1


# ---- DEBUG, error pages, the API's own refusals ---------------------------------------------------

def test_debug_is_off_unless_asked_for():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLEANHEAT_", "DJANGO_"))}

    def debug(env):
        return subprocess.run([sys.executable, "-c", "import cleanheat.settings as s; print(s.DEBUG)"], env=env,
                              cwd=settings.BASE_DIR, capture_output=True, text=True).stdout.strip()
    assert debug(clean) == "False"
    assert debug({**clean, "CLEANHEAT_DEBUG": "1"}) == "True"


def test_a_server_error_is_a_friendly_page_or_json_without_internals(web, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError(f"boom in {settings.BASE_DIR}/cleanheat/secret.py")
    monkeypatch.setattr("cleanheat.ledger.views.household_queryset", fail)
    monkeypatch.setattr("cleanheat.api.household_queryset", fail)
    assert "服务器内部错误" in refused(web.get("/households/"), 500)
    page = web.get("/api/households")
    assert page["Content-Type"].startswith("application/json") and "boom" not in refused(page, 500)


def test_the_api_answers_its_own_refusals_in_chinese_json(web):
    assert "登录" in refused(Client().get("/api/households"), 401)
    refused(web.get("/api/no-such-thing"), 404)
    refused(web.get("/api/households/1409029999999"), 404)
    body = refused(send(web, "post", "/api/households", json.dumps(household_data(household_size=3.5))), 422)
    assert "household_size" in body and "应为整数" in body
    refused(send(web, "post", "/api/households", "{not json"), 400)
    refused(web.get("/", HTTP_HOST="attacker.example"), 400)


def test_error_pages_render_without_a_request_or_the_database(django_assert_num_queries):
    from django.template import loader
    with django_assert_num_queries(0):
        for name in ("400.html", "500.html", "403_csrf.html"):
            assert CHINESE.search(loader.get_template(name).render({}))


def test_a_date_the_schema_cannot_read_is_refused_in_chinese(web):
    household = _household()
    events = household.lifecycle_events.count()
    body = refused(send(web, "post", f"/api/households/{household.household_no}/transition",
                        json.dumps({"to_state": "selected", "occurred_on": "2022-13-45"})), 422)
    assert "occurred_on" in body and "应为日期" in body
    assert household.lifecycle_events.count() == events
