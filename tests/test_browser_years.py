"""Browser test of issue 14 part 9: the landing page's year switch, kept while drilling down."""
import pytest

from cleanheat.ledger.models import Household

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_switch_the_landing_page_to_an_earlier_year_and_keep_it_while_drilling_down(page, live_server, demo_data):
    make_user("yr_city", "1409", role="city_admin")
    login(page, live_server, "yr_city")
    page.wait_for_url("**/regions/140900000000/")
    assert page.locator("#year-select").input_value() == "2023"          # the latest plan by default
    assert "虚构" in page.locator("#plan-note").inner_text()
    latest = Household.objects.filter(archived=False, plan_year=2023).count()
    assert page.locator("#node-total").inner_text() == f"{latest:,}"
    page.select_option("#year-select", "2022")
    page.click("#year-picker button[type=submit]")
    page.wait_for_url("**/regions/140900000000/?year=2022&asof=*")
    earlier = Household.objects.filter(archived=False, plan_year=2022).count()
    assert page.locator("#node-total").inner_text() == f"{earlier:,}"
    page.click("table.rollup a[href^='/regions/140902000000/']")
    page.wait_for_url("**/regions/140902000000/?year=2022*")
    assert page.locator("#year-select").input_value() == "2022"
    assert page.locator("#node-total").inner_text() == \
        f"{Household.objects.filter(archived=False, plan_year=2022, village__code__startswith='140902').count():,}"
    page.goto(f"{live_server.url}/dashboard/?year=2022")
    assert "本年度计划已结束" in page.locator("#plan-finished").inner_text()
    assert "已过期" not in page.locator("main").inner_text()
    assert page.locator("#years-table tbody tr").count() == 2
