"""Browser test of issue #18 (e): an inspector fills a visit on a 390 × 844 phone, the network drops
as the visit is sent (Playwright offline mode): it waits in the browser, is sent when the network
returns, and is recorded once."""
import io

import pytest
from PIL import Image

from cleanheat.inspections import rounds
from cleanheat.inspections.models import Visit

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 200)).save(out, "JPEG")
    return out.getvalue()


def test_a_visit_made_offline_is_queued_sent_when_online_and_recorded_once(page, live_server, demo_data):
    admin = make_user("bi_admin", "140902", role="county_admin")
    make_user("bi_inspector", "140902", role="field_inspector")
    round_ = rounds.create_round(kind="self", region_code="140902000000", year=2022, name="忻府区自查（浏览器）",
                                 user=admin)
    sample = round_.samples.select_related("household").first()

    page.set_viewport_size(PHONE)
    login(page, live_server, "bi_inspector")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/inspections/field/")
    page.click(f"a[href='/inspections/field/{sample.pk}/']")
    page.wait_for_selector("#visit-form")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    for radio in page.query_selector_all("#visit-form fieldset"):
        radio.query_selector("input[value='是']").check()
    if page.query_selector("input[name=item_indoor_temp]"):
        page.fill("input[name=item_indoor_temp]", "16")   # below 18 °C: a finding
    for upload in page.query_selector_all("#visit-form input[type=file]"):
        upload.set_input_files(files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}])

    page.context.set_offline(True)
    page.click("#visit-submit")
    page.wait_for_selector(".visit-status.queued")
    assert "已保存在本机" in page.inner_text("#visit-status")
    assert "本机待发送：1 条" in page.inner_text("#queue-count")
    assert not Visit.objects.filter(sample=sample).exists()

    page.context.set_offline(False)   # the browser says "online": the queue is sent
    page.wait_for_selector(".visit-status.ok")
    page.evaluate("window.cleanheatField.flush()")  # a second flush (a reconnect) sends nothing again
    page.wait_for_function("document.getElementById('queue-count').textContent === ''")
    visit = Visit.objects.get(sample=sample)
    assert Visit.objects.filter(sample=sample).count() == 1
    assert visit.inspector.username == "bi_inspector"
    assert visit.findings.filter(item_code="indoor_temp").exists()


def test_nearest_first_uses_the_phones_position(page, live_server, demo_data):
    admin = make_user("bn_admin", "140902", role="county_admin")
    make_user("bn_inspector", "140902", role="field_inspector")
    rounds.create_round(kind="self", region_code="140902000000", year=2022, name="忻府区自查（距离）", user=admin)
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 38.30, "longitude": 112.60})
    login(page, live_server, "bn_inspector")
    page.goto(f"{live_server.url}/inspections/field/")
    assert page.query_selector(".distance") is None
    page.click("#nearest-first")
    page.wait_for_selector(".distance")
    assert "lat=38.30000" in page.url and "恢复原顺序" in page.inner_text(".field-order")
    km = [float(t.split()[1]) for t in page.eval_on_selector_all(".distance", "els => els.map(e => e.textContent)")]
    assert len(km) > 3 and km == sorted(km)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
