"""Browser tests: Playwright for Python driving Debian's chromium (never a downloaded browser)."""
import os
import shutil

import pytest
from django.core.cache import caches

from cleanheat.ledger.models import Household
from cleanheat.regions.models import Region
from cleanheat.rules import compliance

from .conftest import PASSWORD, make_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    # Playwright's sync API runs an event loop in this thread; the ORM calls in the test are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium is required: apt-get install chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        page = browser.new_page()
        page.set_default_timeout(15000)
        problems = []  # what the Content-Security-Policy blocked, and scripts that failed
        page.on("console", lambda m: "Content Security Policy" in m.text and problems.append(m.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        yield page
        browser.close()
    assert problems == []


@pytest.fixture
def demo_data(demo_cfg):
    from cleanheat.demo.loader import load_demo
    if not Household.objects.exists():  # transactional tests start from an empty database
        load_demo(demo_cfg, scale=0.002)


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_log_in_walk_the_tree_to_a_village_and_open_a_household(page, live_server, demo_data):
    make_user("b_city", "1409", role="city_admin")
    login(page, live_server, "b_city")
    page.wait_for_url("**/regions/140900000000/")
    assert page.locator("h1").inner_text().startswith("忻州市")

    household = Household.objects.filter(archived=False).select_related("village").order_by("household_no").first()
    village = household.village
    township = village.parent
    county = township.parent
    for region in (county, township, village):
        page.click(f"table.rollup a[href='/regions/{region.code}/']")
        page.wait_for_url(f"**/regions/{region.code}/")
        assert page.locator("h1").inner_text().startswith(region.name)

    page.click(f"a[href='/households/{household.household_no}/']")
    page.wait_for_url(f"**/households/{household.household_no}/")
    body = page.locator("main").inner_text()
    assert household.householder_name in body and household.id_number_masked in body
    assert "改造进度" in body and "变更记录" in body


def test_create_a_household_with_the_cascading_village_picker(page, live_server, demo_data):
    make_user("b_clerk", "140921", role="county_clerk")
    login(page, live_server, "b_clerk")
    page.wait_for_url("**/regions/140921000000/")
    page.goto(f"{live_server.url}/households/new/")
    page.select_option("select[name=county]", "140921")
    village = Region.objects.filter(level=4, code__startswith="140921").order_by("code").first()
    page.wait_for_selector(f"#id_village option[value='{village.code}']", state="attached")
    page.select_option("#id_village", village.code)
    page.fill("input[name=householder_name]", "浏览器测试")
    page.fill("input[name=id_number]", "14092119800101123")  # 17 digits: refused next to the field
    page.fill("input[name=heated_area]", "88")
    page.select_option("select[name=original_facility]", "coal_stove")
    page.select_option("select[name=heating_path]", "gas")
    page.click("button:has-text('保存')")
    assert "应为18位" in page.locator("#error-id_number").inner_text()

    from cleanheat.ledger.identity import id_check_char
    page.fill("input[name=id_number]", "14092119800101123" + id_check_char("14092119800101123"))
    page.select_option("#id_village", village.code)
    page.click("button:has-text('保存')")
    page.wait_for_url("**/households/140921*/")
    assert "已建档" in page.locator(".messages").inner_text()
    assert Household.objects.get(householder_name="浏览器测试").village_id == village.code


def test_county_clerk_sees_only_their_county_and_not_found_elsewhere(page, live_server, demo_data):
    make_user("b_xinfu", "140902", role="county_clerk")
    login(page, live_server, "b_xinfu")
    page.wait_for_url("**/regions/140902000000/")
    assert page.locator("h1").inner_text().startswith("忻府区")
    assert page.locator(".crumbs a").count() == 0  # no way up to the city
    rows = page.locator("table.rollup tbody a")
    own = set(Region.objects.filter(parent_id="140902000000").values_list("name", flat=True))
    assert rows.count() == len(own) and set(rows.all_inner_texts()) == own

    page.click("header nav a[href='/households/']")
    numbers = page.locator("table.list tbody td:first-child a").all_inner_texts()
    assert numbers and all(n.startswith("140902") for n in numbers)
    total = Household.objects.filter(village__code__startswith="140902", archived=False).count()
    assert f"共 {total:,} 户" in page.locator(".summary").inner_text()

    other = Household.objects.filter(village__code__startswith="140981").first()
    response = page.goto(f"{live_server.url}/households/{other.household_no}/")
    assert response.status == 404
    assert "未找到" in page.locator("h1").inner_text()
    assert other.householder_name not in page.content()


def test_upload_a_sheet_with_errors_preview_download_report_nothing_written(page, live_server, demo_data, tmp_path):
    from .factories import new_id_number
    from .sheets import TEMPLATE_HEADER, template_row, write_sheet

    make_user("b_importer", "140902", role="county_clerk")
    village = Region.objects.filter(level=4, code__startswith="140902").order_by("code").first()
    good = template_row(village_code=village.code, householder_name="浏览器导入", id_number=new_id_number(),
                        heated_area="90", original_facility="土暖气", heating_path="煤改气")
    bad = template_row(village_code=village.code, householder_name="错误行", id_number="14090219800101123",
                       heated_area="90", original_facility="土暖气", heating_path="煤改气")
    sheet = write_sheet(tmp_path / "乡镇台账.xlsx", TEMPLATE_HEADER, [good, bad], title_rows=["某镇清洁取暖台账"])
    before = Household.objects.count()

    login(page, live_server, "b_importer")
    page.wait_for_url("**/regions/140902000000/")
    page.click("header nav a[href='/imports/']")
    page.set_input_files("input[name=file]", str(sheet))
    page.click("button:has-text('上传并预检')")
    page.wait_for_url("**/jobs/**")
    assert page.locator("progress").count() == 1
    page.wait_for_selector("#preview")
    assert page.locator("#count-new").inner_text() == "1" and page.locator("#count-refused").inner_text() == "1"
    assert "第4行" in page.locator(".problems").inner_text()

    with page.expect_download() as download_info:
        page.click("#download-report")
    report = tmp_path / "report.xlsx"
    download_info.value.save_as(report)
    from python_calamine import CalamineWorkbook
    rows = CalamineWorkbook.from_path(str(report)).get_sheet_by_index(0).to_python()
    assert rows[1][-2] == 4 and "身份证号" in rows[1][-1]  # 原行号 follows the uploaded columns

    page.click("button:has-text('确认导入（全部或全不）')")
    page.wait_for_selector("#job-message")
    assert "未写入任何数据" in page.locator("#job-message").inner_text()
    assert Household.objects.count() == before


def test_dashboard_charts_render_drill_down_and_download_the_dispatch_table(page, live_server, demo_data, tmp_path):
    from cleanheat.plan.services import load_plan
    load_plan()  # transactional tests start empty
    make_user("b_leader", "1409", role="city_viewer")
    login(page, live_server, "b_leader")
    page.wait_for_url("**/regions/140900000000/")
    page.click("header nav a[href='/dashboard/']")
    page.wait_for_selector("#chart-completion canvas")
    for chart in ("#chart-completion", "#chart-mix", "#chart-curve", "#chart-map"):
        assert page.locator(f"{chart} canvas").count() >= 1, chart
    names = page.evaluate("window.cleanheatCharts[0].getOption().xAxis[0].data")
    assert names == list(Region.objects.filter(level=2).order_by("code").values_list("name", flat=True))
    assert "五台山风景名胜区" in page.locator("#wutai-tile").inner_text()
    assert "今天" in page.locator("#milestones").inner_text()
    lefts = page.eval_on_selector_all("#milestones [data-left]", "els => els.map(e => e.style.left)")
    assert lefts and all(left.endswith("%") for left in lefts)  # placed by dashboard.js, not style attributes

    with page.expect_download() as download_info:
        page.click("#export-dispatch")
    path = tmp_path / "dispatch.xlsx"
    download_info.value.save_as(path)
    from python_calamine import CalamineWorkbook
    assert "调度表" in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0][0]

    # drill down with real clicks on an 已完工 bar, level by level: city → county → township → village
    for level in ("county", "township", "village"):
        # a function, not an expression: polling an expression needs eval, which the page's CSP forbids
        page.wait_for_function("() => window.cleanheatCharts && window.cleanheatCharts.length > 0")
        page.wait_for_timeout(1500)  # let the bars finish growing (ECharts animation)
        x, y, code = page.evaluate("""() => { const c = window.cleanheatCharts[0]; const o = c.getOption();
            const units = JSON.parse(document.getElementById("dashboard-data").textContent).units;
            const i = o.series[1].data.findIndex(v => v > 0);
            const [x, y] = c.convertToPixel({xAxisIndex: 0, yAxisIndex: 0}, [o.xAxis[0].data[i], o.series[1].data[i] / 2]);
            return [x, y, units[i].code]; }""")
        page.locator("#chart-completion").scroll_into_view_if_needed()
        box = page.locator("#chart-completion").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_url(f"**/{'regions' if level == 'village' else 'dashboard'}/{code}/")
    village = Region.objects.get(code=code)
    assert village.level == 4 and page.locator("h1").inner_text().startswith(village.name)


def test_advisor_ranked_models_cost_chart_and_allocation_from_a_county_contract(page, live_server, demo_data):
    from cleanheat.ledger import services as ledger
    from cleanheat.procurement import advisor, services

    from .factories import household_data
    household = ledger.create_household(household_data(
        heating_path="electric", electric_device="ashp_water", heat_source="", heated_area="110"))
    best = next(p for p in advisor.advise(household).paths if p.path == "electric").best.model
    contract = services.create_contract({"county_code": "140902", "contract_no": "B-2022-01", "vendor": best.vendor,
                                         "title": "浏览器测试合同"}, [{"model": best, "quantity": 5}])
    make_user("b_alloc", "140902", role="county_clerk")
    login(page, live_server, "b_alloc")
    page.wait_for_url("**/regions/**")

    page.goto(f"{live_server.url}/households/{household.household_no}/")
    page.click("#open-advice")
    page.wait_for_url(f"**/households/{household.household_no}/advice/")
    assert "kW" in page.locator("#design-load").inner_text()
    ranked = page.locator("#options-electric tr.option")
    assert ranked.count() >= 2 and ranked.first.get_attribute("data-model") == best.model_name
    page.wait_for_selector("#cost-chart[data-ready='1'] canvas")
    assert page.locator("#path-summary tr[data-path='electric']").inner_text()

    page.goto(f"{live_server.url}/procurement/contracts/{contract.pk}/")
    row = page.locator(f"#contract-lines tr[data-model='{best.model_name}']")
    assert row.locator(".allocated").inner_text() == "0" and row.locator(".left").inner_text() == "5"

    page.goto(f"{live_server.url}/households/{household.household_no}/advice/")
    ranked.first.locator("button.allocate", has_text="B-2022-01").click()
    page.wait_for_selector("#current-allocation >> text=" + best.model_name)
    page.click("#current-contract")
    page.wait_for_url(f"**/procurement/contracts/{contract.pk}/")
    row = page.locator(f"#contract-lines tr[data-model='{best.model_name}']")
    assert row.locator(".allocated").inner_text() == "1" and row.locator(".left").inner_text() == "4"
    assert household.household_no in page.locator("main").inner_text()


def test_reveal_language_switch_print_and_api_docs_work_under_the_content_security_policy(page, live_server, demo_data):
    from cleanheat.ledger import services as ledger

    from .factories import household_data
    data = household_data(county="140902")
    household = ledger.create_household(data)
    make_user("b_csp", "140902", role="county_clerk")
    login(page, live_server, "b_csp")
    page.wait_for_url("**/regions/**")

    page.goto(f"{live_server.url}/households/{household.household_no}/")
    page.fill("#id_number form.reveal input[name=reason]", "核对补贴申请")
    page.click("#id_number form.reveal button")  # htmx swaps the form for the full number
    assert page.locator("#id_number .revealed").inner_text() == data["id_number"]

    page.select_option("header select[name=language]", "en")  # submitted by app.js, not an onchange attribute
    page.wait_for_selector("html[lang=en]")
    page.select_option("header select[name=language]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans]")

    page.goto(f"{live_server.url}/households/{household.household_no}/advice/print/")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("button[data-print]")
    assert page.evaluate("window.printed") is True

    page.goto(f"{live_server.url}/api/docs")  # Swagger UI from the ninja package's static files
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    assert "/api/households" in page.locator(".swagger-ui").inner_text()


# ---- a large page not yet computed: the indicator, then the figures (cleanheat/figures)

def test_a_large_uncached_page_shows_computing_then_its_figures(page, live_server, demo_data, settings):
    settings.CLEANHEAT_DEFER_FIGURES_FROM = 1  # every area counts as large: pages answer before computing
    make_user("fig_b_city", "1409", role="city_admin")
    latest = Household.objects.order_by("-plan_year").values_list("plan_year", flat=True).first()
    total = Household.objects.filter(archived=False, plan_year=latest).count()  # the latest plan's, by default
    with page.expect_response("**/regions/140900000000/figures/") as figures:
        login(page, live_server, "fig_b_city")
        page.wait_for_url("**/regions/140900000000/")
    assert figures.value.ok  # asked for by htmx: the page had answered without its figures
    page.wait_for_selector("table.rollup")
    assert page.locator("#node-total").inner_text() == f"{total:,}"
    assert page.locator("[data-loading]").count() == 0
    caches["figures"].clear()
    with page.expect_response("**/compliance/140900000000/results/?rule=gas&severity=breach") as results:
        page.goto(f"{live_server.url}/compliance/?rule=gas&severity=breach")
    assert results.value.ok
    page.wait_for_selector("#compliance-summary")
    expected = [f.household_no for f in compliance.scan("1409") if (f.rule, f.severity) == ("gas", "breach")]
    shown = page.locator("#compliance-detail tbody tr td:first-child").all_inner_texts()
    assert shown == expected[:500] if expected else shown == ["没有问题"]
