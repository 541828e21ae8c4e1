"""Finding 5 of issue 12, lost edits: two people save the same record from pages opened on the
same version; the second save is refused with what the first changed, and nothing is reverted."""
import json
import os
import threading
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from playwright.sync_api import sync_playwright

from cleanheat.imports import ledger_import
from cleanheat.ledger import services
from cleanheat.demo.loader import load_demo
from cleanheat.ledger.forms import HouseholdForm
from cleanheat.ledger.models import Household, HouseholdChange
from cleanheat.plan.models import CountyPlan, ScheduleEntry
from cleanheat.procurement.models import CatalogModel, CountyClimate
from cleanheat.versions import StaleEdit

from .conftest import PASSWORD, make_user
from .factories import household_data
from .sheets import TEMPLATE_HEADER, template_row, write_sheet
from .test_browser import CHROMIUM

pytestmark = pytest.mark.django_db
STALE = "此户已被他人修改"


class _Form(HTMLParser):
    """What a browser would post for the page's <form method="post">: text, hidden and date
    inputs, ticked boxes, the selected (or first) option of each select."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._first, self._textarea = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") != "checkbox":
                self.data[name] = a.get("value", "")
            elif "checked" in a:
                self.data[name] = a.get("value", "on")
        elif tag == "select":
            self._select, self._first = name, None
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = ""
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
                self.data[self._select] = self._first
            if "selected" in a:
                self.data[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.removeprefix("\n") if not self.data[self._textarea] else data


def form_of(response) -> dict:
    assert response.status_code == 200, response.status_code
    parser = _Form()
    parser.feed(response.content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    return parser.data


def conflict_of(response) -> str:
    """The table of what others changed, shown with a refused save."""
    page = response.content.decode()
    start = page.index('id="conflict"')
    return page[start:page.index("</section>", start)]


@pytest.fixture
def clerks():
    a, b = make_user("cc_wang", "140902"), make_user("cc_li", "140902")
    a.full_name, b.full_name = "王小红", "李大明"
    a.save(), b.save()
    first, second = Client(), Client()
    first.force_login(a), second.force_login(b)
    return (a, first), (b, second)


@pytest.fixture
def household(clerks):
    (a, _), _ = clerks
    return services.create_household(household_data(address="东街1号", household_size="3"), user=a)


def edit_url(h):
    return f"/households/{h.household_no}/edit/"


def test_two_stale_edit_forms_one_saved_the_other_refused_and_nothing_reverted(clerks, household):
    (a, first), (b, second) = clerks
    form_a, form_b = form_of(first.get(edit_url(household))), form_of(second.get(edit_url(household)))
    assert form_a["address"] == "东街1号" and form_b["household_size"] == "3"

    saved = first.post(edit_url(household), {**form_a, "address": "西街9号"})
    assert saved.status_code == 302
    refused = second.post(edit_url(household), {**form_b, "household_size": "5"})

    assert refused.status_code == 200 and STALE in refused.content.decode()
    assert all(shown in conflict_of(refused) for shown in ("住址（门牌号）", "东街1号", "西街9号", "王小红"))
    household.refresh_from_db()
    assert (household.address, household.household_size) == ("西街9号", 3)
    assert not HouseholdChange.objects.filter(household=household, user=b).exists()

    # The page shows the stored address and keeps the second clerk's own change: saving it again
    # applies just that change.
    again = form_of(refused)
    assert again["address"] == "西街9号" and again["household_size"] == "5"
    assert second.post(edit_url(household), again).status_code == 302
    household.refresh_from_db()
    assert (household.address, household.household_size) == ("西街9号", 5)
    blamed = HouseholdChange.objects.filter(household=household, user=b)
    assert [c.field for c in blamed] == ["household_size"]


def test_the_edit_form_sends_only_what_the_user_changed(clerks, household):
    (a, first), _ = clerks
    shown = form_of(first.get(edit_url(household)))
    posted = {**shown, "household_size": "4", "heated_area": "很大"}
    form = HouseholdForm(posted, editing=True, initial={})
    assert form.is_valid()
    assert set(form.service_data()) == {"household_size", "heated_area"}

    # A slip shown back keeps the values the page first showed, so the second try still sends
    # only this user's changes.
    shown_again = form_of(first.post(edit_url(household), posted))
    assert shown_again["initial-heated_area"] == shown["initial-heated_area"] == str(household.heated_area)
    form = HouseholdForm({**shown_again, "heated_area": "120"}, editing=True, initial={})
    assert form.is_valid() and set(form.service_data()) == {"household_size", "heated_area"}


def test_a_date_left_alone_is_not_cleared(clerks, household):
    (a, first), _ = clerks
    services.update_household(household, {"removal_consent_on": "2024-03-05"}, user=a)
    shown = form_of(first.get(edit_url(household)))
    assert shown["removal_consent_on"] == "2024-03-05"
    first.post(edit_url(household), {**shown, "address": "南街2号"})
    household.refresh_from_db()
    assert str(household.removal_consent_on) == "2024-03-05" and household.address == "南街2号"


def test_every_write_raises_the_version(clerks, household):
    (a, _), _ = clerks
    versions = [household.version]
    for write in (lambda h: services.update_household(h, {"address": "北街3号"}, user=a),
                  lambda h: services.transition(h, "selected", user=a),
                  lambda h: services.archive_household(h, reason="搬迁", user=a),
                  lambda h: services.restore_household(h, user=a)):
        write(household)
        household.refresh_from_db()
        versions.append(household.version)
    assert versions == list(range(versions[0], versions[0] + 5))
    assert services.update_household(household, {"address": "北街3号"}, user=a) == []  # nothing written
    household.refresh_from_db()
    assert household.version == versions[-1]


# ---- the API

def patch(client, url, payload, **headers):
    return client.patch(url, json.dumps(payload), content_type="application/json", headers=headers)


def test_two_patches_on_the_same_version_one_applied_one_refused(clerks, household):
    (a, first), (b, second) = clerks
    url = f"/api/households/{household.household_no}"
    read = first.get(url)
    tag = read.headers["ETag"]
    assert tag == f'"{household.version}"' and read.json()["version"] == household.version

    applied = patch(first, url, {"address": "西街9号"}, if_match=tag)
    assert applied.status_code == 200 and applied.headers["ETag"] != tag
    assert applied.json()["version"] == household.version + 1
    refused = patch(second, url, {"household_size": 5}, if_match=tag)

    assert refused.status_code == 412
    body = refused.json()
    assert STALE in body["detail"] and body["version"] == household.version + 1
    assert refused.headers["ETag"] == applied.headers["ETag"]
    assert [(c["field"], c["old"], c["new"], c["user"]) for c in body["changes"]] == [
        ("住址（门牌号）", "东街1号", "西街9号", "王小红")]
    household.refresh_from_db()
    assert (household.address, household.household_size) == ("西街9号", 3)
    assert not HouseholdChange.objects.filter(household=household, user=b).exists()


def test_patch_if_match_edge_cases(clerks, household):
    (a, first), _ = clerks
    url = f"/api/households/{household.household_no}"
    assert patch(first, url, {"address": "甲"}, if_match="*").status_code == 200
    assert patch(first, url, {"address": "乙"}).status_code == 200  # no precondition: applied as named
    malformed = patch(first, url, {"address": "丙"}, if_match='"1", "2"')
    assert malformed.status_code == 400 and "If-Match" in malformed.json()["detail"]
    assert patch(first, url, {"address": "丁"}, if_match='"abc"').status_code == 412
    household.refresh_from_db()
    assert household.address == "乙"


# ---- the import, whose rows are read when the file is checked

def test_an_import_does_not_revert_an_edit_made_after_it_was_checked(clerks, household, tmp_path):
    (a, first), _ = clerks
    a.role = "county_admin"
    a.save()
    sheet = write_sheet(tmp_path / "size.xlsx", TEMPLATE_HEADER,
                        [template_row(household_no=household.household_no, household_size="6")])
    result = ledger_import.analyse(sheet, user=a, filename="size.xlsx")
    assert result.counts["updated"] == 1
    services.update_household(household, {"address": "西街9号"}, user=a)

    with pytest.raises(ledger_import.ImportRefused, match=household.household_no):
        ledger_import.commit(result, user=a)
    household.refresh_from_db()
    assert (household.address, household.household_size) == ("西街9号", 3)


# ---- the other edit forms that two people can have open on the same record

@pytest.fixture
def city_admins():
    pair = []
    for name in ("ca_zhao", "ca_qian"):
        client = Client()
        client.force_login(make_user(name, "1409", role="city_admin"))
        pair.append(client)
    return pair


def test_two_stale_catalog_edits_one_saved_the_other_refused(city_admins):
    first, second = city_admins
    model = CatalogModel.objects.filter(active=True).order_by("pk").first()
    url = f"/procurement/catalog/{model.pk}/edit/"
    form_a, form_b = form_of(first.get(url)), form_of(second.get(url))
    assert first.post(url, {**form_a, "unit_price": "12345"}).status_code == 302
    refused = second.post(url, {**form_b, "warranty_years": str(model.warranty_years + 1)})

    assert refused.status_code == 200 and "此型号已被他人修改" in refused.content.decode()
    assert "设备单价" in conflict_of(refused) and f"{model.unit_price}" in conflict_of(refused)
    stored = CatalogModel.objects.get(pk=model.pk)
    assert (stored.unit_price, stored.warranty_years) == (12345, model.warranty_years)
    assert second.post(url, form_of(refused)).status_code == 302
    stored = CatalogModel.objects.get(pk=model.pk)
    assert (stored.unit_price, stored.warranty_years) == (12345, model.warranty_years + 1)


def test_two_catalog_patches_on_the_same_version_one_applied_one_refused(city_admins):
    first, second = city_admins
    model = CatalogModel.objects.filter(active=True).order_by("pk").first()
    url = f"/api/procurement/catalog/{model.pk}"
    tag = first.get(url).headers["ETag"]
    applied = patch(first, url, {"unit_price": 12345}, if_match=tag)
    assert applied.status_code == 200 and applied.headers["ETag"] != tag
    refused = patch(second, url, {"warranty_years": model.warranty_years + 1}, if_match=tag)
    assert refused.status_code == 412 and "此型号已被他人修改" in refused.json()["detail"]
    assert refused.json()["current"]["unit_price"] == 12345
    stored = CatalogModel.objects.get(pk=model.pk)
    assert (stored.unit_price, stored.warranty_years) == (12345, model.warranty_years)


def test_two_stale_account_edits_one_saved_the_other_refused(city_admins):
    first, second = city_admins
    target = make_user("cc_target", "140902", role="county_clerk")
    url = f"/accounts/users/{target.pk}/"
    form_a, form_b = form_of(first.get(url)), form_of(second.get(url))
    assert first.post(url, {**form_a, "role": "village_clerk", "region_scope": "140902101201"}).status_code == 302
    refused = second.post(url, {**form_b, "full_name": "新名字"})

    assert refused.status_code == 200 and "此用户已被他人修改" in refused.content.decode()
    assert "县级业务员" in conflict_of(refused) and "村级信息员" in conflict_of(refused)
    target.refresh_from_db()
    assert (target.role, target.full_name) == ("village_clerk", "cc_target")
    assert second.post(url, form_of(refused)).status_code == 302
    target.refresh_from_db()
    assert (target.role, target.region_scope, target.full_name) == ("village_clerk", "140902101201", "新名字")


def test_two_stale_schedule_saves_one_saved_the_other_refused(client):
    cp = CountyPlan.objects.get(plan__year=2022, county_code="140923")
    first, second = client, Client()
    first.force_login(make_user("sch_a", "140923"))
    second.force_login(make_user("sch_b", "140923"))
    url = "/plan/schedule/140923/?year=2022"
    entry = ScheduleEntry.objects.filter(county_plan=cp, heating_path="gas").order_by("checkpoint").first()
    key = f"gas|{entry.checkpoint:%Y-%m-%d}"
    form_a, form_b = form_of(first.get(url)), form_of(second.get(url))
    assert form_a[f"i|{key}"] == str(entry.installed) and form_a["version"]
    first.post(url, {**form_a, "action": "save", f"i|{key}": str(entry.installed - 1), f"a|{key}": "0"})
    refused = second.post(url, {**form_b, "action": "save", f"a|{key}": "0"}, follow=True)
    assert "月度计划已被他人修改" in refused.content.decode() and "sch_a" in refused.content.decode()
    entry.refresh_from_db()
    assert entry.installed == int(form_a[f"i|{key}"]) - 1


def test_two_stale_register_edits_in_the_system_administration(client):
    first, second = client, Client()
    for c, name in ((first, "su_a"), (second, "su_b")):
        c.force_login(make_user(name, "1409", role="city_admin", is_superuser=True, is_staff=True))
    climate = CountyClimate.objects.order_by("pk").first()
    url = f"/admin/procurement/countyclimate/{climate.pk}/change/"
    form_a, form_b = form_of(first.get(url)), form_of(second.get(url))
    assert first.post(url, {**form_a, "station": "新气象站"}).status_code == 302
    refused = second.post(url, {**form_b, "heating_days": str(climate.heating_days + 1)})
    assert refused.status_code == 200 and "此记录已被他人修改" in refused.content.decode()
    stored = CountyClimate.objects.get(pk=climate.pk)
    assert (stored.station, stored.heating_days) == ("新气象站", climate.heating_days)


# ---- two writers at the same moment, on PostgreSQL's row locks

@pytest.mark.django_db(transaction=True)
def test_racing_saves_on_the_same_version_exactly_one_wins(demo_cfg):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions need PostgreSQL")
    if not Household.objects.exists():  # transactional tests start from an empty database
        load_demo(demo_cfg, scale=0.002)
    clerk = make_user("race_clerk", "140902")
    household = services.create_household(household_data(), user=clerk)
    seen = household.version
    start, outcomes = threading.Barrier(2), []

    def save(field, value):
        try:
            start.wait()
            services.update_household(household, {field: value}, user=clerk, expected_version=seen)
            outcomes.append("saved")
        except StaleEdit:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=a) for a in (("address", "西街9号"), ("household_size", "5"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "saved"]
    household.refresh_from_db()
    assert household.version == seen + 1
    assert HouseholdChange.objects.filter(household=household, version=seen + 1).count() == 1


# ---- the same in a real browser: two clerks, two sessions, the village picker loaded by htmx

@pytest.fixture
def two_browsers(live_server):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        pages = [browser.new_context().new_page() for _ in range(2)]
        for page in pages:
            page.set_default_timeout(15000)
        yield pages
        browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_two_clerks_in_browsers_the_second_save_is_refused_then_reapplied(two_browsers, live_server, demo_cfg):
    if not Household.objects.exists():  # transactional tests start from an empty database
        load_demo(demo_cfg, scale=0.002)
    a, b = make_user("bw_wang", "140902"), make_user("bw_li", "140902")
    household = services.create_household(household_data(address="东街1号", household_size="3"), user=a)
    url = f"{live_server.url}{edit_url(household)}"
    first, second = two_browsers
    for page, user in ((first, a), (second, b)):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/regions/**")
        page.goto(url)
        page.wait_for_selector(f"#id_village option[value='{household.village_id}']", state="attached")
        page.wait_for_load_state("networkidle")

    first.fill("input[name=address]", "西街9号")
    first.click("button:has-text('保存')")
    first.wait_for_url(f"**/households/{household.household_no}/")
    second.fill("input[name=household_size]", "5")
    second.click("button:has-text('保存')")
    assert STALE in second.locator(".errorlist").inner_text()
    assert "西街9号" in second.locator("#conflict").inner_text()
    assert second.input_value("input[name=address]") == "西街9号"
    assert second.input_value("input[name=household_size]") == "5"

    second.wait_for_load_state("networkidle")
    second.click("button:has-text('保存')")
    second.wait_for_url(f"**/households/{household.household_no}/")
    village = household.village_id
    household.refresh_from_db()
    assert (household.address, household.household_size, household.village_id) == ("西街9号", 5, village)
    assert [c.field for c in HouseholdChange.objects.filter(household=household, user=b)] == ["household_size"]
