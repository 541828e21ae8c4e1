"""The energy readings sheet: one row per household, heating season and meter (季初/季末读数).

Read as forgivingly as the ledger sheet: title rows above the header, other names for the columns,
any column order, full-width digits, merged cells, total rows, dates and seasons written in the
usual ways (2022, 2022-2023, 2022–2023采暖季, 2022年). The unit may be left out: it is then the
meter of the household's heating path. Every problem names the row and the cell.
"""
import io
import re
from dataclasses import dataclass, field

import xlsxwriter

from cleanheat import inputs
from cleanheat.sheets.cells import as_date, as_text
from cleanheat.sheets.headers import column_letter, is_total_row, normalise_header
from cleanheat.sheets.reader import read_rows

from . import terms

COLUMNS = [  # field, header of the template, other names seen
    ("household_no", "户编号", ["户号", "用户编号", "用户编码", "台账编号"]),
    ("householder_name", "户主姓名", ["户主", "姓名"]),
    ("season", "采暖季", ["供暖季", "采暖年度", "年度", "采暖期"]),
    ("unit", "计量单位", ["单位", "能源种类", "能源类型", "计量"]),
    ("opening", "季初读数", ["起始读数", "期初读数", "上期读数", "季初表底数", "起码"]),
    ("closing", "季末读数", ["期末读数", "本期读数", "截止读数", "季末表底数", "止码", "读数"]),
    ("read_on", "抄表日期", ["读数日期", "抄表时间", "日期"]),
]
REQUIRED = ("household_no", "season", "closing")
LABELS = {f: h for f, h, _ in COLUMNS}
_HEADERS = {normalise_header(name): f for f, h, others in COLUMNS for name in [h, *others]}
# The meter of each heating path, when a row leaves the unit out.
PATH_UNITS = {"electric": "kwh", "ground_source": "kwh", "water_source": "kwh", "solar": "kwh", "multi": "kwh",
              "gas": "m3", "central": "gj", "biomass": "gj"}
UNIT_SUFFIX = re.compile(r"(kwh|kw·h|m3|m³|gj|千瓦时|度|立方米|立方|方|吉焦)$", re.IGNORECASE)
UNIT_WORDS = {"kwh": ("kwh", "千瓦时", "度", "电"), "m3": ("m3", "m³", "立方米", "立方", "方", "气"),
              "gj": ("gj", "吉焦", "热")}


@dataclass
class SheetRow:
    number: int                                  # the row number in Excel
    values: dict = field(default_factory=dict)   # field → value read (None: empty or unreadable)
    cells: dict = field(default_factory=dict)    # field → "第5行C列"

    def where(self, name: str) -> str:
        return f"{self.cells.get(name, f'第{self.number}行')}（{LABELS.get(name, name)}）"


def _season(text: str) -> int:
    match = re.match(r"(\d{4})", inputs.normalise_text(text))
    if not match:
        raise ValueError(f"“{inputs.shown(text)}”不是可识别的采暖季，请写开始的年份，如2022（2022–2023采暖季）")
    return int(match.group(1))


def _unit(text: str) -> str:
    key = inputs.normalise_text(text).lower()
    for unit, words in UNIT_WORDS.items():
        if any(w in key for w in words):
            return unit
    raise ValueError(f"“{inputs.shown(text)}”不是可识别的计量单位，可填：" + "、".join(terms.UNITS.values()))


def _reading(text: str):
    """"1,200", "１２００", "4400 kWh", "35.5吉焦": the number, said back as written when it is none."""
    number = UNIT_SUFFIX.sub("", text.replace(",", "").replace("，", "").strip()).strip()
    try:
        return inputs.decimal(number, "", places=2)
    except ValueError as exc:
        raise ValueError(str(exc).replace(f"“{inputs.shown(number)}”", f"“{inputs.shown(text)}”")) from None


READERS = {"season": _season, "unit": _unit, "opening": _reading, "closing": _reading}


def read_readings(path) -> tuple[list[SheetRow], list[str]]:
    """The sheet's rows (empty and total rows left out) and the problems of reading it."""
    try:
        _, rows = read_rows(path)
    except Exception:  # noqa: BLE001 — any unreadable file is told the same way
        return [], ["文件无法读取，请上传能耗读数导入模板（.xlsx）"]
    header, columns = -1, {}
    for index, row in enumerate(rows[:20]):
        found = {}
        for col, cell in enumerate(row):
            name = _HEADERS.get(normalise_header(as_text(cell))) if as_text(cell) else None
            if name and name not in found.values():
                found[col] = name
        if len(found) > len(columns):
            header, columns = index, found
    missing = [LABELS[f] for f in REQUIRED if f not in columns.values()]
    if header < 0 or missing:
        return [], [f"未找到表头或缺少必需的列：{'、'.join(missing)}（请使用能耗读数导入模板）"]
    out, problems = [], []
    for number, row in enumerate(rows[header + 1:], start=header + 2):
        cells = {f: row[c] if c < len(row) else None for c, f in columns.items()}
        if not any(as_text(v) for v in cells.values()) or is_total_row(row):
            continue
        line = SheetRow(number, cells={f: f"第{number}行{column_letter(c)}列" for c, f in columns.items()})
        for name, cell in cells.items():
            text = as_text(cell)
            try:
                if not text:
                    value = None
                elif name == "read_on":
                    value = as_date(cell)
                elif name in READERS:
                    value = READERS[name](text)
                else:
                    value = inputs.text(text, "")
            except ValueError as exc:
                problems.append(f"{line.where(name)}：{exc}")
                value = None
            line.values[name] = value
        for name in REQUIRED:
            if not as_text(cells.get(name)):
                problems.append(f"{line.where(name)}：不能为空")
        out.append(line)
    return out, problems


def template_bytes() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("能耗读数")
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    must = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
    for col, (name, header, _) in enumerate(COLUMNS):
        sheet.write(0, col, header, must if name in REQUIRED else head)
        sheet.set_column(col, col, 16)
    sheet.data_validation(1, 3, 20000, 3, {"validate": "list", "source": list(terms.UNITS.values())})
    notes = book.add_worksheet("填写说明")
    for i, line in enumerate([
            "能耗读数导入模板：每行一户一个采暖季一块表，如 1409020000001｜张三｜2022｜kWh｜1200｜4400｜2023-03-28。橙色列必填。",
            "采暖季写开始的年份：2022 表示2022–2023采暖季。计量单位：kWh（电）、m³（气）、GJ（热）；留空则按该户取暖路径确定。",
            "季初读数留空时，取该表上一采暖季的季末读数；本表第一次录入须填季初读数。读数不能比上一次低。",
            "导入为“全部或全不”：任何一行有问题，整份文件都不写入，并逐条列出行号、列和原因。"]):
        notes.write(i, 0, line)
    notes.set_column(0, 0, 110)
    book.close()
    return buffer.getvalue()
