"""Browser test of issue #18 part 1: the city edits a checklist item in the browser (htmx moves a row
and adds one without saving), saves, and the page shows the new version and what changed."""
import pytest
from playwright.sync_api import expect

from cleanheat.inspections import loader

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_city_edits_an_item_moves_one_and_saves_a_new_version(page, live_server, demo_data):
    make_user("bc_city", "1409", role="city_admin")
    old = loader.current_checklist("gas", "acceptance")
    codes = list(old.items.values_list("code", flat=True))
    login(page, live_server, "bc_city")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/inspections/checklists/gas/acceptance/")
    page.wait_for_selector("#checklist-editor")
    temp = codes.index("indoor_temp")
    page.fill(f"input[name=items-{temp}-min]", "16")
    page.click(f"button[value=up-{temp}]")      # htmx re-renders the form with the row moved up
    # locators rather than wait_for_function: the page's CSP forbids the eval a string predicate needs
    expect(page.locator(".checklist-row").nth(temp - 1)).to_have_attribute("data-code", "indoor_temp")
    assert page.input_value(f"input[name=items-{temp - 1}-min]") == "16"   # what was typed is kept
    page.click("#checklist-add")
    expect(page.locator(".checklist-row")).to_have_count(len(codes) + 1)
    page.fill(f"input[name=items-{len(codes)}-text]", "燃气表读数")
    page.select_option(f"select[name=items-{len(codes)}-type]", "number")   # the row shows a number's limits
    page.wait_for_selector(f"input[name=items-{len(codes)}-max]")
    page.fill(f"input[name=items-{len(codes)}-min]", "5")
    page.fill(f"input[name=items-{len(codes)}-max]", "1")   # min > max: refused, nothing saved
    page.click("#checklist-save")
    page.wait_for_selector("#checklist-errors")
    assert "合格下限5不能大于合格上限1" in page.inner_text("#checklist-errors")
    assert loader.current_checklist("gas", "acceptance") == old
    page.fill(f"input[name=items-{len(codes)}-max]", "")
    page.click("#checklist-save")
    page.wait_for_selector(".messages, #checklist-history")
    assert f"当前第{old.version + 1}版" in page.inner_text("h1")
    history = page.inner_text("#checklist-history")
    assert "修改：当日室内温度（合格下限 18→16）" in history and "新增：燃气表读数" in history
    new = loader.current_checklist("gas", "acceptance")
    assert new.items.get(code="indoor_temp").minimum == 16 and new.items.get(text="燃气表读数").minimum == 5
    assert list(new.items.values_list("code", flat=True))[temp - 1] == "indoor_temp"
