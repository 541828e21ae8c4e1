"""Reports (issue #19): the PDF of a generated report, drawn from the kept .xlsx so both show the same
figures; its page renders (pdftoppm) to an image that is not blank, its text (pdftotext) holds the
headings and every row's figures; the report's page shows them too and links both files; all of
it stays inside the user's scope."""
import hashlib
import io
import shutil
import subprocess

import openpyxl
import pytest
from PIL import Image

from cleanheat.reports import tables
from cleanheat.reports.models import GeneratedReport

from .conftest import make_user

pytestmark = pytest.mark.django_db
CITY, XINFU, YUANPING = "140900000000", "140902", "140981"
LAYOUTS = {"monthly-province": "冬季清洁取暖改造进度月报（报省）", "weekly-dispatch": "清洁取暖改造调度周报",
           "annual-summary": "2022–2023采暖季清洁取暖工作年度总结表", "building-retrofit": "建筑节能改造进度表"}


def pdf_text(content: bytes) -> str:
    assert shutil.which("pdftotext"), "Debian poppler-utils (pdftotext) is needed to read the PDF's text"
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode()


def first_page_image(content: bytes, tmp_path) -> Image.Image:
    (tmp_path / "report.pdf").write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(tmp_path / "report.pdf"),
                    str(tmp_path / "page")], check=True)
    return Image.open(tmp_path / "page.png").convert("L")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def xlsx_rows(content: bytes) -> list[list[str]]:
    """The filled workbook's non-empty rows, each cell as the test reads it (int, or 2 decimals)."""
    out = []
    for row in openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True):
        cells = [_shown(v) for v in row if v not in (None, "")]
        if cells:
            out.append(cells)
    return out


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def generate(client, layout, region=CITY, on="2022-10-31"):
    response = client.post("/reports/generate/", {"template": layout, "region": region, "asof": on, "year": "2022"})
    assert response.status_code == 302, response
    return GeneratedReport.objects.latest("id")


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_layout_has_a_pdf_with_the_same_figures_rendered_on_a_page(client, city_admin, layout, tmp_path):
    client.force_login(city_admin)
    report = generate(client, layout)
    assert report.pdf_name.endswith(".pdf") and len(report.pdf_sha256) == 64
    xlsx = body(client.get(f"/reports/files/{report.pk}/"))
    response = client.get(f"/reports/files/{report.pk}/report.pdf")
    assert response["Content-Type"] == "application/pdf"
    pdf = body(response)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == report.pdf_sha256  # kept, hashed
    text = pdf_text(pdf)
    lines = [line.split() for line in text.splitlines()]
    assert f"忻州市{LAYOUTS[layout]}" in text.replace(" ", "")
    assert "2022-10-31" in text and report.sha256 in text.replace("\n", "").replace(" ", "")
    rows = xlsx_rows(xlsx)
    data = [r for r in rows if len(r) > 2 and r[0] != "单位"]  # the units' rows and the total
    assert len(data) >= 15  # 14 counties and 合计
    for cells in data:      # each row's figures, in order, on the PDF line that starts with its unit
        assert cells in lines, (cells, [line for line in lines if line and line[0] == cells[0]])
    image = first_page_image(pdf, tmp_path)
    assert image.width > image.height  # landscape: sixteen columns fit
    dark = sum(image.histogram()[:128]) / (image.width * image.height)
    assert 0.01 < dark < 0.5, dark      # neither blank nor a black page


def test_the_report_page_shows_the_kept_figures_and_links_both_files(client, city_admin):
    client.force_login(city_admin)
    report = generate(client, "weekly-dispatch", on="2022-08-01")
    page = client.get(f"/reports/files/{report.pk}/page/")
    assert page.status_code == 200
    html = page.content.decode()
    rows = xlsx_rows(body(client.get(f"/reports/files/{report.pk}/")))
    total = next(r for r in rows if r[0] == "合计")
    assert "<tr><td>合计</td>" + "".join(f'<td class="num">{v}</td>' for v in total[1:]) in html.replace("\n", "")
    assert f"/reports/files/{report.pk}/report.pdf" in html and f"/reports/files/{report.pk}/" in html
    assert report.sha256 in html and report.pdf_sha256 in html
    home = client.get("/reports/").content.decode()
    assert f"/reports/files/{report.pk}/page/" in home and f"/reports/files/{report.pk}/report.pdf" in home


def test_a_report_kept_without_a_pdf_gets_it_once_from_its_xlsx(client, city_admin):
    client.force_login(city_admin)
    report = generate(client, "monthly-province", on="2022-09-30")
    GeneratedReport.objects.filter(pk=report.pk).update(pdf_name="", pdf_sha256="")  # as before PDFs were kept
    first = body(client.get(f"/reports/files/{report.pk}/report.pdf"))
    report.refresh_from_db()
    assert report.pdf_name and hashlib.sha256(first).hexdigest() == report.pdf_sha256
    again = body(client.get(f"/reports/files/{report.pk}/report.pdf"))
    assert again == first  # kept: not drawn again


def test_the_page_and_the_pdf_stay_in_scope(client, city_admin):
    client.force_login(city_admin)
    report = generate(client, "weekly-dispatch", region=f"{YUANPING}000000", on="2022-08-01")
    client.force_login(make_user("t_pdf_clerk", XINFU, role="county_clerk"))
    for url in ("page/", "report.pdf", ""):
        assert client.get(f"/reports/files/{report.pk}/{url}").status_code == 404
    client.force_login(make_user("t_pdf_village", f"{XINFU}001001", role="village_clerk"))  # no REPORTS
    assert client.get(f"/reports/files/{report.pk}/page/").status_code == 403


def test_merged_cells_and_notes_read_back_as_tables_and_lines():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "标题"
    ws.merge_cells("B3:C3")
    ws["A3"], ws["B3"] = "单位", "完工"
    ws["A4"], ws["B4"], ws["C4"] = "甲县", 12, 3.456
    ws["A5"] = "乙县"  # a unit with no figures still belongs to the table
    ws["A7"] = "说明：测试"
    out = io.BytesIO()
    wb.save(out)
    (sheet,) = tables.sheets(out.getvalue())
    line, table, note = sheet["blocks"]
    assert line == {"line": "标题"} and note == {"line": "说明：测试"}
    header, first, second = table["table"]
    assert [(c["text"], c["colspan"]) for c in header] == [("单位", 1), ("完工", 2)]
    assert [c["text"] for c in first] == ["甲县", "12", "3.46"] and first[1]["number"]
    assert [c["text"] for c in second] == ["乙县", "", ""]
