"""Browser test of issue 14 part 2: an administrator records a township merge, reads the preview's
counts and applies it; the county page then lists the merged township and says how past dates add up."""
import pytest

from cleanheat.ledger.models import Household
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COUNTY = "140902"


def test_an_administrator_merges_two_townships_from_preview_to_applied(page, live_server, demo_data):
    a, b = [t for t in Region.objects.filter(level=codes.TOWNSHIP, code__startswith=COUNTY).order_by("code")
            if Household.objects.filter(village__code__startswith=t.prefix).exists()][:2]
    moving = Household.objects.filter(village__code__startswith=b.prefix).count()
    make_user("ui_regions", "1409", role="city_admin")
    login(page, live_server, "ui_regions")
    page.wait_for_url("**/regions/**")
    page.goto(f"{live_server.url}/regions/changes/")
    page.select_option("select[name=kind]", "merge")
    page.fill("input[name=effective_on]", "2026-01-01")
    page.fill("input[name=from_codes]", f"{a.code}、{b.code}")
    page.fill("input[name=to_code]", a.code)
    page.fill("input[name=to_name]", "浏览器合并镇")
    page.click("#change-form button[type=submit]")
    page.wait_for_selector("#change-preview")
    assert f"将调整{moving}户" in page.inner_text("#change-counts")
    page.click("#change-preview button[type=submit]")
    page.wait_for_selector("#applied")
    assert f"{moving}户随之调整" in page.inner_text("#applied")
    page.goto(f"{live_server.url}/regions/{codes.full_code(COUNTY)}/")
    page.wait_for_selector("#region-changes")
    assert "按现行区划汇总" in page.inner_text("#region-changes")
    page.wait_for_selector("table.rollup")
    rows = page.inner_text("table.rollup tbody")
    assert "浏览器合并镇" in rows and b.name not in rows
