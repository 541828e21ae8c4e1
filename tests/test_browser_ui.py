"""Browser tests of issue 15: the API docs offline, a village clerk on a phone, the batch transition."""
from urllib.parse import urlsplit

import pytest

from cleanheat.ledger import services
from cleanheat.ledger.models import Household, HouseholdChange

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_api_docs_render_their_operations_with_every_other_host_cut_off(page, live_server, demo_data):
    make_user("ui_docs", "140902", role="county_clerk")
    ours = urlsplit(live_server.url).netloc
    elsewhere = []

    def only_ours(route):
        if urlsplit(route.request.url).netloc == ours or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    login(page, live_server, "ui_docs")
    page.wait_for_url("**/regions/**")
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    paths = page.locator(".swagger-ui .opblock-summary-path").all_inner_texts()
    assert len(paths) > 10 and "/api/households" in paths
    page.locator(".swagger-ui .opblock-summary-path").first.click()  # an operation opens with its parameters
    page.wait_for_selector(".swagger-ui .opblock-body")
    assert elsewhere == []


def no_sideways_scroll(page):
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    return width <= inner


def visible_in_viewport(page, selector):
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["y"] >= 0


def test_a_village_clerk_on_a_phone_works_without_sideways_scrolling(page, live_server, demo_data):
    household = Household.objects.filter(archived=False).order_by("household_no").first()
    make_user("ui_phone", household.village_id, role="village_clerk")
    page.set_viewport_size(PHONE)
    login(page, live_server, "ui_phone")
    page.wait_for_url(f"**/regions/{household.village_id}/")
    pages = {"home": "", "list": "/households/", "household": f"/households/{household.household_no}/",
             "edit": f"/households/{household.household_no}/edit/"}
    for name, url in pages.items():
        if url:
            page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
        assert no_sideways_scroll(page), name
        assert visible_in_viewport(page, "header .who") and visible_in_viewport(page, "header button.link"), name
        header = page.locator("header.top").bounding_box()
        assert header["height"] < PHONE["height"] / 6, name  # not a third of the screen any more

    # 16px inputs (iOS zooms into anything smaller)
    sizes = page.eval_on_selector_all("main input:not([type=hidden]), main select",
                                      "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 16

    # list rows are cards, each cell labelled
    page.goto(f"{live_server.url}/households/")
    row = page.locator("table.households tbody tr").first
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
    assert page.locator("table.households thead").bounding_box()["height"] <= 1
    label = row.locator("td[data-label='户主姓名']").evaluate("td => getComputedStyle(td, '::before').content")
    assert "户主姓名" in label

    # the menu folds behind a button and opens on a tap
    nav = page.locator("header nav")
    assert not nav.is_visible()
    page.click("header .menu-toggle")
    assert nav.is_visible() and page.locator("header .menu-toggle").get_attribute("aria-expanded") == "true"
    assert no_sideways_scroll(page)
    page.click("header nav a[href='/households/']")
    page.wait_for_url("**/households/")
    page.click("header button.link")  # 退出
    page.wait_for_url("**/accounts/login/**")


def test_batch_state_change_from_the_list_with_a_confirm_step_and_results(page, live_server, demo_data):
    clerk = make_user("ui_batch", "140902", role="county_clerk")
    ready = [services.create_household(_data(), user=clerk) for _ in range(2)]
    ahead = services.create_household(_data(), user=clerk)
    services.transition(ahead, "selected", user=clerk)
    chosen = ready + [ahead]

    login(page, live_server, "ui_batch")
    page.wait_for_url("**/regions/**")
    page.goto(f"{live_server.url}/households/?q=批量浏览器")
    for household in chosen:
        page.check(f"input[name=household_no][value='{household.household_no}']")
    page.select_option("#batch-action", "transition")
    page.select_option("#batch-form select[name=to_state]", "selected")
    page.click("#batch-form button[type=submit]")

    page.wait_for_selector("#batch-confirm")
    listed = page.locator("#batch-confirm tbody").inner_text()
    assert all(h.household_no in listed for h in chosen)
    assert {h.state for h in Household.objects.filter(pk__in=[h.pk for h in ready])} == {"confirmed"}
    page.click("#batch-run")

    page.wait_for_selector("#batch-outcomes")
    assert "已完成 2 户，未执行 1 户" in page.locator("#batch-summary").inner_text()
    refused = page.locator("#batch-outcomes tr.refused").inner_text()
    assert ahead.household_no in refused and "已处于“已选型”" in refused
    assert page.locator("#batch-outcomes tr.done").count() == 2
    assert {h.state for h in Household.objects.filter(pk__in=[h.pk for h in ready])} == {"selected"}
    assert HouseholdChange.objects.filter(household__in=ready, field="state", user=clerk).count() == 2
    page.click("a:has-text('返回列表')")
    page.wait_for_url("**/households/?q=*")


def _data():
    from .factories import household_data
    return household_data(householder_name="批量浏览器")


def test_the_catalog_fits_a_1440px_screen_with_its_edit_links_in_sight(page, live_server, demo_data):
    make_user("ui_catalog", "1409", role="city_admin")
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server, "ui_catalog")
    page.wait_for_url("**/regions/**")
    page.goto(f"{live_server.url}/procurement/catalog/")
    assert no_sideways_scroll(page)
    edits = page.locator("table.catalog a.edit")
    assert edits.count() > 5
    for i in range(edits.count()):
        box = edits.nth(i).bounding_box()
        assert box and box["x"] + box["width"] <= 1440
