"""Browser tests of issue 15 part 5: picking a village by name on the household list (on a phone)
and on the household form."""
import pytest

from cleanheat.ledger.identity import id_check_char
from cleanheat.ledger.models import Household
from cleanheat.regions.models import Region

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def village_with_households(prefix):
    for village in Region.objects.filter(level=4, code__startswith=prefix).exclude(short_name="").order_by("code"):
        if Household.objects.filter(village=village, archived=False).exists() and \
                not Region.objects.filter(name=village.short_name).exclude(code=village.code).exists():
            return village
    raise AssertionError("no village with households")


def test_pick_a_village_by_name_in_the_list_filter_on_a_phone(page, live_server, demo_data):
    village = village_with_households("140902")
    make_user("pk_xinfu", "140902", role="county_clerk")
    page.set_viewport_size(PHONE)
    login(page, live_server, "pk_xinfu")
    page.wait_for_url("**/regions/**")
    page.goto(f"{live_server.url}/households/")
    box = page.locator("input[name=region]")
    box.press_sequentially(village.short_name[:2], delay=60)
    page.wait_for_load_state("networkidle")  # the last keystroke's list is the one shown
    option = page.locator(f"#region-results [data-pick='{village.code}']")
    option.wait_for()
    assert village.parent.name in option.inner_text()
    box_right = option.bounding_box()
    assert box_right["x"] >= 0 and box_right["x"] + box_right["width"] <= PHONE["width"]
    option.click()
    page.wait_for_url(f"**/households/?*region={village.code}*")
    expected = Household.objects.filter(village=village, archived=False).count()
    assert f"共 {expected} 户" in page.locator("p.summary").inner_text()
    assert village.name in page.locator("#region-hint").inner_text()  # the code picked, named
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner

    # the name typed whole and sent with Enter filters the same way
    page.fill("input[name=region]", village.name)
    page.locator("input[name=region]").press("Enter")
    page.wait_for_url("**/households/?*region=*")
    assert f"共 {expected} 户" in page.locator("p.summary").inner_text()
    assert village.code in page.locator("#region-hint").inner_text()


def test_pick_a_village_by_name_on_the_household_form(page, live_server, demo_data):
    village = village_with_households("140921")
    make_user("pk_clerk", "140921", role="county_clerk")
    login(page, live_server, "pk_clerk")
    page.wait_for_url("**/regions/**")
    page.goto(f"{live_server.url}/households/new/")
    page.wait_for_load_state("networkidle")
    place = page.locator("input[name=place]")
    place.press_sequentially(village.short_name[:2], delay=60)
    page.wait_for_load_state("networkidle")
    page.locator(f"#place-results [data-pick='{village.code}']").click()
    # a function, not an expression: polling an expression needs eval, which the page's CSP forbids
    page.wait_for_function("code => document.querySelector('#id_village') && "
                           "document.querySelector('#id_village').value === code", arg=village.code)
    assert page.input_value("select[name=county]") == village.code[:6]
    assert place.input_value() == village.name
    page.fill("input[name=householder_name]", "按名选村")
    page.fill("input[name=id_number]", "14092119800101234"[:17] + id_check_char("14092119800101234"[:17]))
    page.fill("input[name=heated_area]", "76")
    page.select_option("select[name=original_facility]", "coal_stove")
    page.select_option("select[name=heating_path]", "gas")
    page.click("button:has-text('保存')")
    page.wait_for_url("**/households/140921*/")
    assert Household.objects.get(householder_name="按名选村").village_id == village.code
