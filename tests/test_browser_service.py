"""Browser test of issue #17 (热线与维修) at 390 × 844: a repair engineer logs in on a phone, sorts the
open tickets by distance, opens the nearest, marks arrival (with the phone's position), uploads a photo
and resolves it with a cause code; the hotline then sees it resolved, waiting for the callback."""
import io

import pytest
from PIL import Image

from cleanheat.procurement.models import Allocation
from cleanheat.service import services
from cleanheat.service.models import RepairTeam, Ticket

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
HERE = {"latitude": 38.4167, "longitude": 112.7340}


def no_sideways_scroll(page):
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    return width <= inner


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (90, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_a_repair_engineer_resolves_the_nearest_ticket_on_a_phone_and_the_hotline_sees_it(page, live_server,
                                                                                          demo_data):
    allocation = Allocation.objects.filter(released_at__isnull=True, household__village__code__startswith="140902",
                                           household__archived=False).select_related("line__contract").first()
    household = allocation.household
    team = RepairTeam.objects.get(organisation__name=allocation.line.contract.vendor, region_code="140902")
    hotline = make_user("bs_hotline", "1409", role="hotline_operator")
    engineer = make_user("bs_engineer", "140902", role="vendor_repair", organisation=team.organisation)
    # an earlier visit recorded where the household is
    earlier = services.open_ticket(hotline, {"household": household, "category": "device_fault", "severity": "normal",
                                             "source": "hotline", "description": "上次报修"})
    services.arrive(earlier, engineer, lat=HERE["latitude"] + 0.01, lon=HERE["longitude"])
    services.resolve(earlier, engineer, cause="E03")
    ticket = services.open_ticket(hotline, {"household": household, "category": "no_heat", "severity": "urgent",
                                            "source": "hotline", "description": "屋里不热，室外机结霜"})

    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation(HERE)
    login(page, live_server, "bs_engineer")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/service/mine/")
    page.click("#sort-near")
    page.wait_for_url("**/service/mine/?lat=*")
    first = page.locator("#my-tickets li").first
    assert "km" in first.inner_text() and no_sideways_scroll(page)
    first.locator("a.open-ticket").click()
    page.wait_for_url(f"**/service/tickets/{ticket.pk}/")
    assert no_sideways_scroll(page)

    page.click("#arrive")
    page.wait_for_load_state("networkidle")
    assert "已到场" in page.locator("#ticket-status").inner_text()
    page.select_option("#photo-stage", "after")
    page.set_input_files("#photo-file", files=[{"name": "修好了.jpg", "mimeType": "image/jpeg",
                                                "buffer": photo_bytes()}])
    page.click("#upload-photo")
    page.wait_for_load_state("networkidle")
    assert "照片已上传" in page.locator("main").inner_text()
    assert page.locator("#photos img").evaluate("img => img.complete && img.naturalWidth") == 1600
    page.select_option("#cause", "E05")
    page.fill("#parts", "四通阀")
    page.click("#resolve")
    page.wait_for_load_state("networkidle")
    assert "已修复待回访" in page.locator("#ticket-status").inner_text()
    assert no_sideways_scroll(page)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.cause.code, ticket.parts) == ("resolved", "E05", "四通阀")
    assert abs(float(ticket.arrived_lat) - HERE["latitude"]) < 0.001  # the phone's position at arrival
    assert ticket.outage.resolved_on is not None

    # the hotline sees it resolved and can call back
    page.click("header button.link")  # 退出
    page.wait_for_url("**/accounts/login/**")
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, "bs_hotline")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/service/?status=resolved")
    row = page.locator("#tickets tr", has_text=ticket.number)
    assert "已修复待回访" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_url(f"**/service/tickets/{ticket.pk}/")
    assert page.locator("#callback-form").is_visible()
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
