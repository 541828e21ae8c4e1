"""Notices to residents (issue #19 part 6): a village's 公示 and its households' 告知书, as pages and
as one PDF per village, with names and ID numbers masked (checked in the PDF's text with pdftotext)
and the first page rendered with pdftoppm."""
import shutil
import subprocess

import pytest

from cleanheat import pdf, pii
from cleanheat.ledger.identity import mask_id_public
from cleanheat.ledger.models import Household
from cleanheat.reports import notices

from .conftest import make_user
from .test_subsidies import YEAR, finance, policy  # noqa: F401 (fixtures)
from .test_subsidies_notice import named_household

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    assert shutil.which("pdftotext"), "Debian poppler-utils (pdftotext) is needed to read the PDF's text"
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode()


def assert_nothing_unmasked(text: str, village_code: str):
    """No householder's full name and no full or stored-masked ID number of the village."""
    for h in Household.objects.filter(village_id=village_code, archived=False):
        full_id = pii.decrypt(h.id_number_cipher)
        assert h.householder_name not in text, h.householder_name
        assert full_id not in text and h.id_number_masked not in text


@pytest.fixture
def village(client, policy):  # noqa: F811
    h = named_household("王建国")
    client.force_login(make_user("r_clerk", h.village_id[:6], role="county_clerk"))
    return h


def test_the_roster_page_and_pdf_show_masked_names_ids_path_and_equipment(client, village):
    h, code = village, village.village_id
    full_id = pii.decrypt(h.id_number_cipher)
    public_id = full_id[:4] + "*" * 10 + full_id[-4:]
    assert mask_id_public(h.id_number_masked) == public_id
    page = client.get(f"/reports/notices/{code}/").content.decode()
    assert "清洁取暖改造户公示" in page and "王*国" in page and public_id in page and h.household_no in page
    assert "煤改电" in page and "YZ-RF10" in page
    assert_nothing_unmasked(page, code)
    response = client.get(f"/reports/notices/{code}/roster.pdf")
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "王*国" in text and public_id in text and "YZ-RF10" in text and "改造户公示" in text
    assert_nothing_unmasked(text, code)


def test_the_letters_show_household_number_equipment_subsidies_and_the_hotline(client, village, tmp_path):
    h, code = village, village.village_id
    hotline = notices.hotline_for(code)
    assert hotline["number"] == "0350-12345"   # from reports/data/hotlines.json
    amounts = [f"{e.amount_fen / 100:,.2f}" for e in h.entitlements.all()]
    assert amounts
    page = client.get(f"/reports/notices/{code}/letters/").content.decode()
    assert "清洁取暖改造告知书" in page and h.household_no in page and "YZ-RF10" in page
    assert hotline["number"] in page and all(a in page for a in amounts)
    assert_nothing_unmasked(page, code)
    response = client.get(f"/reports/notices/{code}/letters.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert h.household_no in text and "YZ-RF10" in text and hotline["number"] in text
    assert all(a in text for a in amounts) and "王*国" in text
    assert_nothing_unmasked(text, code)
    # one page per household: as many pages as the village has households
    info = subprocess.run(["pdfinfo", "-"], input=response.content, capture_output=True, check=True).stdout.decode()
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages == Household.objects.filter(village_id=code, archived=False).count()
    # the first page renders to a non-empty image
    (tmp_path / "letters.pdf").write_bytes(response.content)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(tmp_path / "letters.pdf"),
                    str(tmp_path / "page")], check=True)
    png = (tmp_path / "page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_a_village_outside_the_scope_or_not_a_village_is_404(client, village):
    other = Household.objects.exclude(village__code__startswith=village.village_id[:6]).filter(archived=False).first()
    for url in ("/", "/roster.pdf", "/letters/", "/letters.pdf"):
        assert client.get(f"/reports/notices/{other.village_id}{url}").status_code == 404
        assert client.get(f"/reports/notices/{village.village_id[:9]}000{url}").status_code == 404
    town = make_user("r_town", village.village_id[:9], role="township_clerk")   # the township's own villages
    client.force_login(town)
    assert client.get(f"/reports/notices/{village.village_id}/").status_code == 200
    clerk = make_user("r_village", village.village_id, role="village_clerk")    # no reports permission
    client.force_login(clerk)
    assert client.get(f"/reports/notices/{village.village_id}/").status_code == 403


def test_the_village_page_links_the_notices(client, village):
    page = client.get(f"/regions/{village.village_id}/").content.decode()
    assert f"/reports/notices/{village.village_id}/" in page and f"/reports/notices/{village.village_id}/letters/" in page


def test_letters_laid_out_in_parts_keep_every_household_once_in_order(client, village, monkeypatch):
    """A large village's 告知书 are laid out in parts on every core and joined: the same pages, in
    household-number order, as the document laid out in one piece."""
    code = village.village_id
    context = notices.village_notices(client.get(f"/reports/notices/{code}/letters/").wsgi_request, code)
    row = context["rows"][0]
    context["rows"] = [{**row, "no": f"{row['no'][:-3]}{i:03d}"} for i in range(7)]
    monkeypatch.setattr(pdf, "SPLIT_FROM", 2)
    split = pdf.render_pdf_split("reports/resident_letters.html", context, split="rows", parts=3,
                                 stylesheets=notices.STYLES)
    whole = pdf.render_pdf("reports/resident_letters.html", context, stylesheets=notices.STYLES)
    split_pages, whole_pages = pdf_text(split).split("\f")[:-1], pdf_text(whole).split("\f")[:-1]
    assert len(split_pages) == len(whole_pages) == 7
    assert [p.split() for p in split_pages] == [p.split() for p in whole_pages]
    assert [r["no"] in p for r, p in zip(context["rows"], split_pages)] == [True] * 7
