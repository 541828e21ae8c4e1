"""Workbooks CleanHeat writes: the standard template, the error report, and exports.

xlsxwriter in constant-memory mode: rows go to disk as they are written, so memory stays flat
whatever the number of households.
"""
import xlsxwriter

from cleanheat.ledger.choices import (VULNERABLE_FLAGS, ElectricDevice, HeatingPath, LifecycleState,
                                      OriginalFacility, Structure)
from cleanheat.sheets.headers import TEMPLATE_HEADERS, column_letter

from .dates import DATE_FIELDS

TEMPLATE_FIELDS = ["household_no", "county", "township", "village", "village_code", "householder_name",
                   "id_number", "phone", "bank_account", "electricity_account", "gas_account", "address",
                   "household_size", "is_dibao", "is_tekun",
                   "is_tuopin", "is_canji", "heated_area", "structure", "envelope_retrofitted",
                   "original_facility", "heating_path", "electric_device", "state", "state_date",
                   "heat_source", "removal_consent_on", "envelope_gain_pct", *DATE_FIELDS.values()]
ENUM_COLUMNS = {"structure": Structure, "original_facility": OriginalFacility, "heating_path": HeatingPath,
                "electric_device": ElectricDevice, "state": LifecycleState}
YES_NO = ["是", "否"]
BOOL_FIELDS = set(VULNERABLE_FLAGS) | {"envelope_retrofitted"}
# Identifier columns: stored as text ("@"), or Excel turns an 18-digit ID into 1.40902E+17.
TEXT_FIELDS = {"household_no", "village_code", "id_number", "phone", "bank_account", "electricity_account",
               "gas_account"}
TEXT_FORMAT = {"num_format": "@"}
DAY_FIELDS = {"state_date", "removal_consent_on", *DATE_FIELDS.values()}
MAX_ROWS = 300000
# Rows of the template whose identifier cells are written as text cells (the whole column carries
# the text style too, which Excel and WPS apply to any cell typed below these).
TEMPLATE_ROWS = 5000


def write_template(path, villages):
    """The standard ledger template for a scope. `villages`: (county, township, village, code)."""
    wb = xlsxwriter.Workbook(path)
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1, "text_wrap": True})
    text = wb.add_format(TEXT_FORMAT)
    ws = wb.add_worksheet("台账")
    lists = wb.add_worksheet("选项")
    regions = wb.add_worksheet("区划")
    notes = wb.add_worksheet("填写说明")
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    for col, f in enumerate(TEMPLATE_FIELDS):
        ws.write(0, col, TEMPLATE_HEADERS[f], head)
        ws.set_column(col, col, 18 if f in TEXT_FIELDS else 12,
                      text if f in TEXT_FIELDS else day if f in DAY_FIELDS else None)
    ws.freeze_panes(1, 0)
    text_cols = [TEMPLATE_FIELDS.index(f) for f in sorted(TEXT_FIELDS, key=TEMPLATE_FIELDS.index)]
    for row in range(1, TEMPLATE_ROWS + 1):
        for col in text_cols:
            ws.write_blank(row, col, None, text)
    # drop-downs from the option sheet (labels are what clerks read and type)
    list_col = 0
    for f, enum in list(ENUM_COLUMNS.items()) + [("__yes_no__", None)]:
        labels = [str(m.label) for m in enum] if enum else YES_NO
        lists.write(0, list_col, TEMPLATE_HEADERS.get(f, "是/否"), head)
        lists.write_column(1, list_col, labels)
        ref = f"=选项!${column_letter(list_col)}$2:${column_letter(list_col)}${len(labels) + 1}"
        targets = [f] if enum else sorted(BOOL_FIELDS, key=TEMPLATE_FIELDS.index)
        for target in targets:
            col = TEMPLATE_FIELDS.index(target)
            ws.data_validation(1, col, MAX_ROWS, col, {
                "validate": "list", "source": ref, "error_title": "请从下拉列表选择",
                "error_message": f"“{TEMPLATE_HEADERS[target]}”请从下拉列表中选择"})
        list_col += 1
    regions.write_row(0, 0, ["县（市、区）", "乡（镇、街道）", "村（社区）", "村区划代码"], head)
    for i, row in enumerate(villages, start=1):
        regions.write_row(i, 0, row[:3])
        regions.write_string(i, 3, row[3], text)
    regions.set_column(0, 2, 18)
    regions.set_column(3, 3, 18, text)
    code_col = TEMPLATE_FIELDS.index("village_code")
    if villages:
        ws.data_validation(1, code_col, MAX_ROWS, code_col, {
            "validate": "list", "source": f"=区划!$D$2:$D${len(villages) + 1}", "show_error": False})
    for i, line in enumerate(NOTES):
        notes.write(i, 0, line)
    notes.set_column(0, 0, 110)
    wb.close()


NOTES = [
    "清洁取暖改造用户台账——填写说明",
    "1. 每户一行；第一行为表头，请勿修改列名。表头上方可以有标题行，系统会自动识别表头。",
    "2. 所属村：填写“村区划代码”（12位，见“区划”工作表），或填写县、乡镇、村名称（在您的管辖范围内匹配）。",
    "3. 户编号、村区划代码、身份证号、联系电话、补贴发放账号各列已设为“文本”格式，请勿改为“常规”或“数值”，否则 Excel 会把身份证号变成 1.40902E+17 并丢失末几位；从其他表格粘贴时请用“选择性粘贴—数值”。",
    "4. 身份证号按 GB 11643 校验最后一位；15位旧号码会自动升为18位。同一人只能是一户的户主。",
    "5. 取暖路径、房屋结构、原取暖设施、改造状态请从下拉列表选择；低保、特困、脱贫、残疾、围护结构改造填“是”或“否”。",
    "6. 已有的户：填写“户编号”即更新该户；不填户编号时按身份证号匹配。空白单元格表示不修改。",
    "7. 确户日期、选型日期、开工日期、完工日期、验收日期、稳定运行日期、拆除日期：各步完成的日期，导入后记为该户在这一天"
    "到达这一步（进度按这些日期回溯）。填了后面的步骤（改造状态或最后一个日期），系统按顺序补记中间各步；中间某步未填日期的，"
    "按其后最近一个已填日期记，预检时逐行提示。日期不能晚于今天，且须按步骤先后排列。",
    "8. 新建档的户最多导入到“已完工”：“已验收”须有验收记录（检查清单、照片、签字），已有的户验收后可加一列“验收记录编号”"
    "填写记录编号；没有验收记录的行保留为“已完工”并在预检中提示。“稳定运行满一个采暖季”“原设施已拆除”须先有完工日期并经过一个采暖季"
    "（先立后破）。改造状态不能回退；回退须在系统中填写原因。日期可写作 2022-05-01、2022/5/1 或 2022年5月1日。",
    "9. 表中没有“原取暖设施”“房屋结构”列时，预检会提示一次，可为整个文件选择一个值（写入变更记录）。",
    "10. 上传后系统先预检，显示新增、更新、未变、不通过的行数、问题和提示；确认后才写入。",
]


def write_error_report(path, result):
    """The uploaded rows with each bad cell highlighted and a Chinese message per problem; rows the
    dry run only notes something on (dates taken from a later step …) follow with their note.

    The rows keep the uploaded columns in place (A stays A), so the column letters the messages
    name are those of both the upload and this report; the original row number and the messages
    follow the data. Identifier columns stay text."""
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("问题清单")
    bad = wb.add_format({"bg_color": "#F8C9C4", "border": 1, "border_color": "#B3261E"})
    bad_text = wb.add_format({"bg_color": "#F8C9C4", "border": 1, "border_color": "#B3261E", **TEXT_FORMAT})
    text = wb.add_format(TEXT_FORMAT)
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0"})
    header = list(result.header)
    rows = list(_reported_rows(result))
    width = max([len(header)] + [max([len(raw)] + [c + 1 for c, _ in errors if c is not None])
                                 for _, raw, errors, _ in rows])
    number_col, message_col = width, width + 1
    text_cols = {col for col, f in result.columns.items() if f in TEXT_FIELDS}
    for col in text_cols:
        ws.set_column(col, col, 18, text)
    ws.write_row(0, 0, [*[str(h) for h in header], *[""] * (width - len(header)), "原行号", "问题说明"], head)
    ws.freeze_panes(1, 0)
    out = 1
    for number, raw, errors, notes in rows:
        bad_cols = {col for col, _ in errors if col is not None}
        raw = list(raw) + [None] * (width - len(raw))
        for col, value in enumerate(raw):
            cell = "" if value is None else (value if isinstance(value, (int, float)) else str(value))
            style = (bad_text if col in text_cols else bad) if col in bad_cols else (text if col in text_cols else None)
            ws.write(out, col, cell, style)
        ws.write_number(out, number_col, number)
        messages = [(f"{column_letter(col)}列“{result.header_text(col)}”：" if col is not None else "") + m
                    for col, m in errors] + [f"提示：{note}" for note in notes]
        ws.write(out, message_col, f"第{number}行：" + "；".join(messages), bad if errors and not bad_cols else None)
        out += 1
    ws.set_column(message_col, message_col, 80)
    wb.close()
    return out - 1


def _reported_rows(result):
    """(row number, cells, errors, notes): refused rows first, then noted ones, each in file order."""
    for res in result.checked:
        if res.errors:
            yield res.number, res.raw, res.errors, []
    noted = [(r.number, r.raw, r.notes) for r in result.checked if r.notes and not r.errors]
    if result.fast_notes:
        noted += [(n, list(result.table.row(i)), notes) for n, (i, notes) in result.fast_notes.items()]
    for number, raw, notes in sorted(noted, key=lambda item: item[0]):
        yield number, raw, [], notes
