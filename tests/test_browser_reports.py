"""Browser test of issue #19's reports: a generated report's page in Debian's chromium shows the
figures kept in its .xlsx, and its PDF link downloads the kept PDF (same hash)."""
import hashlib
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from cleanheat.plan.models import Plan
from cleanheat.regions.models import Region
from cleanheat.reports import loader, services, views
from cleanheat.reports.models import ReportTemplate

from . import test_browser as shared
from .conftest import make_user

page, demo_data, login = shared.page, shared.demo_data, shared.login  # the browser fixtures and login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
XINFU = "140902000000"


def total_row(content: bytes) -> list[str]:
    for row in openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True):
        if row and row[0] == "合计":
            return [str(v) for v in row if v not in (None, "")]
    raise AssertionError("no 合计 row")


def test_the_report_page_shows_the_figures_and_its_pdf_link_downloads_the_kept_pdf(page, live_server, demo_data):
    loader.load_layouts(ReportTemplate)   # transactional tests start without the migration's rows
    admin = make_user("br_county", "140902", role="county_admin")
    report = services.generate(admin, ReportTemplate.objects.get(code="weekly-dispatch"),
                               Region.objects.get(code=XINFU), Plan.objects.get(year=2022), date(2022, 10, 15),
                               views.storage())
    with views.storage().open(report.file_name, "rb") as f:
        expected = total_row(f.read())

    login(page, live_server, "br_county")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/reports/")
    page.click(f"a[href='/reports/files/{report.pk}/page/']")
    page.wait_for_url(f"**/reports/files/{report.pk}/page/")
    assert "调度周报" in page.locator("h1").inner_text()
    cells = page.locator("#report-figures tr", has_text="合计").first.locator("td").all_inner_texts()
    assert [c.strip() for c in cells if c.strip()] == expected
    assert "忻府区清洁取暖改造调度周报" in page.locator("#report-figures").inner_text()

    with page.expect_download() as info:
        page.click("#report-pdf")
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == report.pdf_sha256
    assert info.value.suggested_filename.endswith(".pdf")
