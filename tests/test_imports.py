import zipfile
from datetime import date

import pytest
from django.core.management import call_command
import openpyxl
from python_calamine import CalamineWorkbook

from cleanheat.audit.models import AuditEvent
from cleanheat.imports import ledger_import, xlsx
from cleanheat.imports.exports import export_households, export_rollup
from cleanheat.ledger import services
from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent
from cleanheat.ledger.queries import household_queryset
from cleanheat.ledger.rollup import region_rollup
from cleanheat.regions.models import Region

from .conftest import make_user
from .factories import new_id_number
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return make_user("imp_clerk", "140902", role="county_clerk")


@pytest.fixture
def village():
    return Region.objects.filter(level=4, code__startswith="140902").order_by("code")[3]


def names_of(village):
    township = village.parent
    return township.parent.name, township.name, village.name


def row(village, **overrides):
    values = dict(village_code=village.code, householder_name="导入测试", id_number=new_id_number("140902"),
                  phone="13900001111", heated_area="90", structure="砖混", original_facility="土暖气",
                  heating_path="集中供热", household_size="3")
    values.update(overrides)
    return template_row(**values)


def analyse(path, user):
    return ledger_import.analyse(path, user=user, filename=path.name)


def run(path, user, valid_only=False):
    result = analyse(path, user)
    ledger_import.commit(result, user=user, valid_only=valid_only)
    return result


def errors_of(result):
    return [m for r in result.results for _, m in r.errors]


# ---- the template -----------------------------------------------------------------------------

def test_template_has_headers_dropdowns_notes_and_the_scope_villages(client, clerk, tmp_path):
    client.force_login(clerk)
    response = client.get("/imports/template.xlsx")
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["台账", "选项", "区划", "填写说明"]
    assert wb.get_sheet_by_name("台账").to_python()[0] == TEMPLATE_HEADER
    villages = wb.get_sheet_by_name("区划").to_python()[1:]
    assert len(villages) == Region.objects.filter(level=4, code__startswith="140902").count()
    assert villages and all(str(v[3]).startswith("140902") for v in villages)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    # heating path, state, structure, facility, device, five yes/no columns, village code
    assert sheet.count("<dataValidation ") == 11


IDENTIFIER_HEADERS = ["户编号", "村区划代码", "身份证号", "联系电话", "补贴发放账号", "电力户号", "燃气户号"]


def text_columns(ws, headers):
    """{header: column letter} of the sheet's header row, for the headers asked."""
    found = {c.value: c.column_letter for c in next(ws.iter_rows(max_row=1)) if c.value in headers}
    assert sorted(found) == sorted(headers)
    return found


def column_format(ws, letter):
    """The whole column's style (openpyxl keeps a run of like columns under its first letter)."""
    index = openpyxl.utils.column_index_from_string(letter)
    runs = [d for d in ws.column_dimensions.values() if d.min and d.min <= index <= d.max]
    return runs[0].number_format if runs else "General"


def test_template_identifier_columns_are_text_in_every_template_row(client, clerk, tmp_path):
    """Excel turns an 18-digit ID typed into a General cell into 1.40902E+17: every row of the
    template's identifier columns is text (@), and so is the column itself for rows below."""
    client.force_login(clerk)
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"".join(client.get("/imports/template.xlsx").streaming_content))
    wb = openpyxl.load_workbook(path)
    ws = wb["台账"]
    letters = text_columns(ws, IDENTIFIER_HEADERS)
    for letter in letters.values():
        formats = {ws[f"{letter}{r}"].number_format for r in range(2, xlsx.TEMPLATE_ROWS + 2)}
        assert formats == {"@"}, letter
        assert column_format(ws, letter) == "@"
    others = [c.column_letter for c in ws[1] if c.value not in IDENTIFIER_HEADERS]
    assert others and all(ws[f"{letter}2"].number_format == "General" for letter in others)
    codes = wb["区划"]
    assert codes.max_row > 1 and all(codes.cell(r, 4).number_format == "@" for r in range(2, codes.max_row + 1))


def test_exported_identifiers_are_text_cells(clerk, tmp_path):
    out = tmp_path / "export.xlsx"
    assert export_households(str(out), household_queryset(clerk), user=clerk) > 0
    ws = openpyxl.load_workbook(out)["台账"]
    letters = text_columns(ws, IDENTIFIER_HEADERS)
    assert ws.max_row > 1
    for letter in letters.values():  # a blank cell takes the column's style when typed into
        filled = [ws[f"{letter}{r}"] for r in range(2, ws.max_row + 1) if ws[f"{letter}{r}"].value]
        assert column_format(ws, letter) == "@" and {c.number_format for c in filled} <= {"@"}
    assert all(ws[f"{letters['身份证号']}{r}"].value for r in range(2, ws.max_row + 1))
    assert {ws[f"{letters['身份证号']}{r}"].number_format for r in range(2, ws.max_row + 1)} == {"@"}
    area = TEMPLATE_HEADER.index("采暖面积（㎡）") + 1
    assert isinstance(ws.cell(2, area).value, float)  # numbers stay numbers


# ---- what clerks really type ---------------------------------------------------------------------

def test_title_rows_synonyms_order_extra_columns_blank_and_total_rows(clerk, village, tmp_path):
    county, township, vname = names_of(village)
    header = ["备注", "手机", "身份证号码", "户主", "乡镇", "村名", "取暖面积", "改造方式", "原取暖方式", "结构"]
    ids = [new_id_number("140902") for _ in range(3)]
    rows = [["", "13900002222", ids[0], "甲", township, vname, "88", "电代煤", "燃煤炉", "砖木"],
            [None] * 10,
            ["说明", "13900003333", ids[1], "乙", township, vname, "95.5", "煤改气", "火炕", "砖混"],
            ["", "", ids[2], "丙", township, vname, "60", "集中供热", "土暖气", "土坯"],
            ["合计", "", "", "", "", "", "243.5", "", "", ""]]
    path = write_sheet(tmp_path / "v1.xlsx", header, rows, title_rows=["忻府区清洁取暖改造台账", "填报单位：某镇"])
    result = analyse(path, clerk)
    assert result.header_row == 3 and result.ignored == ["备注"]
    assert result.counts == {"new": 3, "updated": 0, "unchanged": 0, "refused": 0}, result.problems()
    ledger_import.commit(result, user=clerk)
    created = Household.objects.get(householder_name="甲", village=village)
    assert (created.heating_path, created.structure, created.original_facility) == ("electric", "brick_wood", "coal_stove")
    assert [r.number for r in result.results] == [4, 6, 7]  # Excel row numbers, blank row skipped


def test_fullwidth_headers_digits_and_stray_spaces(clerk, village, tmp_path):
    number = new_id_number("140902")
    wide = number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    header = ["户主姓名 ", "身份证号（必填）", "联系电话", "村区划代码", "采暖面积（㎡）", "取暖路径", "原取暖设施"]
    rows = [[" 丁 ", f" {wide} ", "139 0000 4444", f" {village.code} ", "１２０", " 煤改气 ", "土暖气"]]
    result = run(write_sheet(tmp_path / "v2.xlsx", header, rows), clerk)
    assert result.counts["new"] == 1, result.problems()
    h = Household.objects.get(householder_name="丁")
    assert h.id_number_hash == services.pii.blind_index(number, "id") and h.heated_area == 120


def test_merged_cells_fill_every_row_they_cover(clerk, village, tmp_path):
    county, township, vname = names_of(village)
    header = ["县（市、区）", "乡（镇）", "村（社区）", "户主姓名", "身份证号", "采暖面积", "取暖路径", "原取暖设施"]
    rows = [[None, None, None, "戊", new_id_number("140902"), 80, "煤改气", "火炕"],
            [None, None, None, "己", new_id_number("140902"), 81, "煤改气", "火炕"]]
    merges = [(0, 0, 1, 0, county), (0, 1, 1, 1, township), (0, 2, 1, 2, vname)]
    result = run(write_sheet(tmp_path / "v3.xlsx", header, rows, merges=merges), clerk)
    assert result.counts["new"] == 2, result.problems()
    assert Household.objects.filter(householder_name__in=["戊", "己"], village=village).count() == 2


@pytest.mark.parametrize("cell", [44682, "2022/5/1", "2022-05-01", "2022年5月1日", "2022.5.1"])
def test_dates_as_serials_or_text(clerk, village, tmp_path, cell):
    sheet = write_sheet(tmp_path / "d.xlsx", TEMPLATE_HEADER, [row(village, state="已选型", electric_device="",
                                                                   state_date=cell)])
    run(sheet, clerk)
    h = Household.objects.get(householder_name="导入测试", village=village)
    assert h.state == "selected"
    assert list(h.lifecycle_events.order_by("id").values_list("to_state", "occurred_on")) == [
        ("confirmed", date(2022, 5, 1)), ("selected", date(2022, 5, 1))]


def test_region_by_name_within_scope_and_by_code(clerk, village, tmp_path):
    county, township, vname = names_of(village)
    other = Region.objects.filter(level=4, code__startswith="140981").first()
    header = ["县", "乡镇", "村", "村代码", "户主", "身份证", "面积", "取暖路径", "原取暖设施"]
    rows = [[county, township, vname, "", "庚", new_id_number(), 70, "煤改气", "火炕"],
            ["", "", "", village.code, "辛", new_id_number(), 70, "煤改气", "火炕"],
            ["", "", "", other.code, "壬", new_id_number(), 70, "煤改气", "火炕"],
            ["", other.parent.name, other.name, "", "癸", new_id_number(), 70, "煤改气", "火炕"]]
    result = analyse(write_sheet(tmp_path / "r.xlsx", header, rows), clerk)
    assert [r.action for r in result.results] == ["new", "new", "refused", "refused"]
    problems = result.problems()
    assert any("第4行" in p and "管辖范围" in p for p in problems)
    assert any("第5行" in p and "找不到" in p for p in problems)


def test_id_number_stored_by_excel_as_a_number_is_explained(clerk, village, tmp_path):
    sheet = write_sheet(tmp_path / "n.xlsx", TEMPLATE_HEADER, [row(village, id_number="140902198001011234")],
                        numbers={(0, TEMPLATE_HEADER.index("身份证号"))})
    result = analyse(sheet, clerk)
    (message,) = result.problems()
    assert "第2行" in message and "G列“身份证号”" in message and "文本" in message and "Excel" in message


# ---- refusals ---------------------------------------------------------------------------------

def test_each_refusal_reason_names_row_column_and_reason(clerk, village, tmp_path):
    existing = services.create_household({"village": village.code, "householder_name": "已有", "id_number": new_id_number(),
                                          "heated_area": "80", "original_facility": "kang", "heating_path": "gas"}, user=clerk)
    elsewhere = Household.objects.filter(village__code__startswith="140981", archived=False).first()
    dup = new_id_number("140902")
    bad_check = new_id_number("140902")
    bad_check = bad_check[:-1] + ("0" if bad_check[-1] != "0" else "1")
    rows = [
        row(village, id_number=bad_check),
        row(village, phone="12345"),
        row(village, heating_path="烧煤"),
        row(village, heated_area="很大"),
        row(village, id_number=dup), row(village, id_number=dup),
        row(village, id_number=services.pii.decrypt(elsewhere.id_number_cipher), householder_name="他县户主"),
        row(village, household_no=existing.household_no, state="施工中", installing_on="2021-01-01"),
        row(village, household_no="1409029999999"),
        row(village, heating_path="煤改电", state="已选型"),
        row(village, village_code="140902"),
    ]
    result = analyse(write_sheet(tmp_path / "bad.xlsx", TEMPLATE_HEADER, rows), clerk)
    problems = result.problems()
    expect = [("第2行", "校验位"), ("第3行", "手机号"), ("第4行", "取暖路径"), ("第5行", "采暖面积"),
              ("第7行", "与第6行的身份证号重复"), ("第8行", "已在其他地区登记为户主"),
              ("第9行，AE列“开工日期”", "“已选型”的日期2021-01-01早于该户上一次改造状态变更"),
              ("第10行", "不存在或不在您的管辖范围内"), ("第11行", "设备类型"), ("第12行", "12位")]
    for where, what in expect:
        assert any(p.startswith(where) and what in p for p in problems), (where, what, problems)
    assert result.counts["refused"] == 10 and result.counts["new"] == 1  # the first of the duplicate pair


def test_dry_run_writes_nothing_and_all_or_nothing_refuses_a_file_with_errors(clerk, village, tmp_path):
    before = (Household.objects.count(), HouseholdChange.objects.count(), LifecycleEvent.objects.count())
    sheet = write_sheet(tmp_path / "mixed.xlsx", TEMPLATE_HEADER, [row(village), row(village, phone="1"), row(village)])
    result = analyse(sheet, clerk)
    assert result.counts == {"new": 2, "updated": 0, "unchanged": 0, "refused": 1}
    with pytest.raises(ledger_import.ImportRefused, match="未写入任何数据"):
        ledger_import.commit(result, user=clerk)
    assert (Household.objects.count(), HouseholdChange.objects.count(), LifecycleEvent.objects.count()) == before
    ledger_import.commit(analyse(sheet, clerk), user=clerk, valid_only=True)
    assert Household.objects.count() == before[0] + 2


def test_error_report_highlights_bad_cells_with_a_message(clerk, village, tmp_path):
    """The report keeps the uploaded columns in place: the letter a message names is the letter of
    the highlighted cell, in the report as in the upload (the row number follows the data)."""
    sheet = write_sheet(tmp_path / "e.xlsx", TEMPLATE_HEADER, [row(village), row(village, phone="12345")])
    result = analyse(sheet, clerk)
    report = tmp_path / "report.xlsx"
    assert xlsx.write_error_report(str(report), result) == 1
    rows = CalamineWorkbook.from_path(str(report)).get_sheet_by_index(0).to_python()
    assert rows[0][:len(TEMPLATE_HEADER)] == TEMPLATE_HEADER and rows[0][-2:] == ["原行号", "问题说明"]
    assert len(rows) == 2 and rows[1][-2] == 3 and rows[1][TEMPLATE_HEADER.index("联系电话")] == "12345"
    assert rows[1][-1].startswith("第3行：") and "H列“联系电话”" in rows[1][-1] and "手机号" in rows[1][-1]
    ws = openpyxl.load_workbook(report)["问题清单"]
    assert ws["H1"].value == "联系电话" and ws["H2"].value == "12345"
    assert ws["H2"].fill.fgColor.rgb.endswith("F8C9C4")  # the cell the message names is highlighted
    assert all(ws.cell(2, c).fill.fill_type is None for c in range(1, len(TEMPLATE_HEADER) + 1) if c != 8)
    assert ws["G2"].number_format == "@"  # the ID column stays text for the clerk's correction


# ---- commit: idempotent, history, scope, interruption -----------------------------------------------

def test_reimport_changes_nothing_and_a_changed_row_updates_with_history(clerk, village, tmp_path):
    rows = [row(village, householder_name="复导甲"), row(village, householder_name="复导乙")]
    sheet = write_sheet(tmp_path / "same.xlsx", TEMPLATE_HEADER, rows)
    run(sheet, clerk)
    history = HouseholdChange.objects.count()
    again = run(sheet, clerk)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": 2, "refused": 0}
    assert HouseholdChange.objects.count() == history
    rows[1][TEMPLATE_HEADER.index("采暖面积（㎡）")] = "150"
    changed = run(write_sheet(tmp_path / "乡镇更新.xlsx", TEMPLATE_HEADER, rows), clerk)
    assert changed.counts["updated"] == 1
    line = HouseholdChange.objects.get(field="heated_area", household__householder_name="复导乙")
    assert (line.channel, line.source, line.user, line.new_value) == ("import", "乡镇更新.xlsx", clerk, "150.0")


def test_state_moves_one_step_through_import(clerk, village, tmp_path):
    h = services.create_household({"village": village.code, "householder_name": "进度", "id_number": new_id_number(),
                                   "heated_area": "80", "original_facility": "kang", "heating_path": "central"}, user=clerk)
    run(write_sheet(tmp_path / "s.xlsx", TEMPLATE_HEADER, [template_row(household_no=h.household_no, state="已选型")]), clerk)
    h.refresh_from_db()
    assert h.state == "selected" and h.lifecycle_events.last().channel == "import"


def test_an_import_interrupted_mid_way_leaves_the_ledger_unchanged(clerk, village, tmp_path, monkeypatch):
    sheet = write_sheet(tmp_path / "crash.xlsx", TEMPLATE_HEADER, [row(village) for _ in range(5)])
    result = analyse(sheet, clerk)
    before = (Household.objects.count(), HouseholdChange.objects.count(), LifecycleEvent.objects.count())

    from cleanheat import bulk
    real_insert = bulk.insert

    def crash_on_history(model, objs):  # households and events are already inserted by then
        if model is HouseholdChange:
            raise OSError("database connection lost")
        real_insert(model, objs)
    monkeypatch.setattr(bulk, "insert", crash_on_history)
    with pytest.raises(OSError):
        ledger_import.commit(result, user=clerk)
    assert (Household.objects.count(), HouseholdChange.objects.count(), LifecycleEvent.objects.count()) == before


def test_roles_without_import_permission_are_refused(village, tmp_path):
    viewer = make_user("imp_viewer", "1409", role="inspector")
    sheet = write_sheet(tmp_path / "x.xlsx", TEMPLATE_HEADER, [row(village)])
    with pytest.raises(Exception, match="权限"):
        analyse(sheet, viewer)


# ---- exports --------------------------------------------------------------------------------

def test_export_is_masked_scoped_and_reimports_as_unchanged(clerk, tmp_path):
    out = tmp_path / "export.xlsx"
    qs = household_queryset(clerk, path="gas")
    n = export_households(str(out), qs, user=clerk)
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert rows[0] == TEMPLATE_HEADER and len(rows) - 1 == n == qs.count()
    id_col = TEMPLATE_HEADER.index("身份证号")
    assert rows[1:] and all("********" in r[id_col] and r[4].startswith("140902") for r in rows[1:])
    again = analyse(out, clerk)
    assert again.counts == {"new": 0, "updated": 0, "unchanged": n, "refused": 0}, again.problems(5)


def test_rollup_export_matches_the_rollup(clerk, tmp_path):
    county = Region.objects.get(code="140902000000")
    out = tmp_path / "rollup.xlsx"
    export_rollup(str(out), county, user=clerk)
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["140902000000"][3] == region_rollup(county)["node"]["total"]
    township = county.children.first()
    assert by_code[township.code][3] == region_rollup(township)["node"]["total"]
    assert len(rows) - 1 == Region.objects.filter(code__startswith="140902").count()


def test_rollup_export_counts_the_plan_year_the_region_page_shows(client, clerk, tmp_path):
    county = Region.objects.get(code="140902000000")
    moved = Household.objects.filter(village__code__startswith="140902", archived=False).first()
    before = region_rollup(county, year=moved.plan_year)["node"]["total"]
    Household.objects.filter(pk=moved.pk).update(plan_year=moved.plan_year + 1)
    out = tmp_path / "rollup.xlsx"
    export_rollup(str(out), county, user=clerk, year=moved.plan_year)
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    total = {r[0]: r[3] for r in rows[1:]}["140902000000"]
    assert total == region_rollup(county, year=moved.plan_year)["node"]["total"] == before - 1
    client.force_login(clerk)
    page = client.get(f"/regions/{county.code}/?year={moved.plan_year}").content.decode()
    assert f"/regions/{county.code}/export/?year={moved.plan_year}" in page


# ---- pages and command ------------------------------------------------------------------------

def test_upload_preview_and_commit_through_the_pages(client, clerk, village, tmp_path):
    client.force_login(clerk)
    sheet = write_sheet(tmp_path / "网页导入.xlsx", TEMPLATE_HEADER, [row(village), row(village, phone="1")])
    with open(sheet, "rb") as fh:
        response = client.post("/imports/", {"file": fh})
    job_url = response.url
    page = client.get(job_url).content.decode()
    assert 'id="count-new">1<' in page and 'id="count-refused">1<' in page and "第3行" in page
    report = client.get(job_url + "report.xlsx")
    assert report.status_code == 200
    before = Household.objects.count()
    client.post(job_url + "commit/", {"mode": "all"})
    assert "未写入任何数据" in client.get(job_url).content.decode() and Household.objects.count() == before
    other = make_user("imp_other", "140902", role="county_clerk")
    client.force_login(other)
    assert client.get(job_url).status_code == 404  # someone else's import


def test_valid_only_through_the_pages_is_audited(client, clerk, village, tmp_path):
    client.force_login(clerk)
    sheet = write_sheet(tmp_path / "有效行.xlsx", TEMPLATE_HEADER, [row(village), row(village, phone="1")])
    with open(sheet, "rb") as fh:
        job_url = client.post("/imports/", {"file": fh}).url
    client.post(job_url + "commit/", {"mode": "valid_only"})
    assert "已写入1户" in client.get(job_url).content.decode()
    event = AuditEvent.objects.get(action="import")
    assert event.user == clerk and event.target == "有效行.xlsx"


def test_export_job_through_the_pages(client, clerk):
    client.force_login(clerk)
    job_url = client.get("/households/export/", {"path": "electric"}).url
    assert "已导出" in client.get(job_url).content.decode()
    assert client.get(job_url + "result.xlsx").status_code == 200
    assert AuditEvent.objects.filter(action="export", user=clerk).exists()


def test_management_command_dry_run_then_commit(clerk, village, tmp_path, capsys):
    sheet = write_sheet(tmp_path / "cli.xlsx", TEMPLATE_HEADER, [row(village, householder_name="命令行户")])
    call_command("import_ledger", str(sheet), "--user", "imp_clerk")
    assert "新增 1" in capsys.readouterr().out and not Household.objects.filter(householder_name="命令行户").exists()
    call_command("import_ledger", str(sheet), "--user", "imp_clerk", "--commit")
    assert Household.objects.filter(householder_name="命令行户").exists()
