"""A subsidy policy as an .xlsx workbook: 政策信息 (one value per row), 补贴项目 and 倾斜规则 (one row
each), and 填写说明. The template is empty; a policy's export fills it and imports back unchanged.

Reading forgives what the ledger import forgives: title rows above a table's header, other
spellings of the column names, columns in any order, full-width characters, merged cells, total
rows, dates written in the usual ways, labels or codes for the choices. Each problem names the
sheet, row and cell.
"""
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import xlsxwriter
from django.utils import translation

from cleanheat import inputs
from cleanheat.ledger.choices import ElectricDevice, HeatingPath
from cleanheat.procurement.models import EquipmentType
from cleanheat.sheets.cells import as_date, as_text
from cleanheat.sheets.headers import column_letter, is_total_row, normalise_header
from cleanheat.sheets.reader import read_sheets

from . import terms
from .models import Flag, Kind, Method, Unit
from .policy_rules import ITEM_FIELDS, POLICY_FIELDS, TILT_FIELDS

SHEETS = {"policy": "政策信息", "item": "补贴项目", "tilt": "倾斜规则"}
NOTES_SHEET = "填写说明"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALL = ("", "全部", "各路径", "各取暖路径", "不限", "所有", "—", "-")
POLICY_ROWS = ["region", "region_name", "year", "title", "document_no", "effective_from", "effective_until",
               "illustrative", "note"]
POLICY_NAMES = {**POLICY_FIELDS, "region": "区划代码", "region_name": "区划名称"}
POLICY_SYNONYMS = {
    "region": ["区划代码", "区划", "行政区划代码", "市县代码"], "region_name": ["区划名称", "地区", "市县"],
    "year": ["年度", "年份", "政策年度"], "title": ["政策名称", "名称", "政策"],
    "document_no": ["文号", "文件编号", "发文字号"], "effective_from": ["施行日期", "开始日期", "生效日期", "执行日期"],
    "effective_until": ["截止日期", "结束日期", "失效日期"], "illustrative": ["示意数据", "是否示意数据", "示意"],
    "note": ["说明", "备注"]}
ITEM_SYNONYMS = {
    "kind": ["类别", "补贴类别", "补贴类型"], "label": ["名称", "项目名称", "补贴项目"], "path": ["取暖路径", "路径", "改造路径"],
    "device": ["设备类型", "设备"], "method": ["计算方式", "方式", "补贴方式"], "share_pct": ["补贴比例", "比例", "补助比例"],
    "cap_yuan": ["上限", "最高补贴", "封顶", "补贴上限"], "fixed_yuan": ["定额", "定额补贴", "固定金额"],
    "rate_yuan": ["单价", "补贴标准", "补贴单价"], "unit": ["计量单位", "单位"], "seasons": ["补贴季数", "季数", "补贴采暖季数"],
    "central_pct": ["中央负担", "中央", "中央财政"], "provincial_pct": ["省级负担", "省级", "省", "省财政"],
    "city_pct": ["市级负担", "市级", "市", "市财政"], "county_pct": ["县级负担", "县级", "县", "县财政"]}
TILT_SYNONYMS = {
    "flag": ["困难群体", "群体", "困难类型", "对象"], "kind": ["类别", "补贴类别", "补贴类型"], "path": ["取暖路径", "路径"],
    "share_pct": ["提高比例至", "提高比例", "比例"], "cap_yuan": ["提高上限至", "提高上限", "上限"],
    "extra_yuan": ["加发", "加发金额", "另加"]}
NUMBER_FIELDS = {"share_pct", "cap_yuan", "fixed_yuan", "rate_yuan", "central_pct", "provincial_pct", "city_pct",
                 "county_pct", "extra_yuan"}
UNIT_WORDS = {"kwh": ["kwh", "千瓦时", "度", "电"], "m3": ["m3", "m³", "立方米", "方", "气"], "gj": ["gj", "吉焦", "热"]}
KIND_WORDS = {"equipment": ["设备"], "envelope": ["节能改造", "围护结构", "建筑节能"], "operating": ["运行"]}
METHOD_WORDS = {"share": ["比例"], "fixed": ["定额", "固定"]}
YES, NO = ("是", "1", "true", "yes", "示意", "y"), ("否", "0", "false", "no", "n", "")
NOTES = [
    "补贴政策导入模板（政策信息、补贴项目、倾斜规则三张表）",
    "政策信息：区划代码填市或县（市、区）的12位代码（如忻州市140900000000、忻府区140902000000），也可填名称；年度、政策名称、施行日期必填。",
    "同一区划同一年度已有政策时，导入即为修改该政策：尚无已审核补贴的版本直接修改；已有已审核补贴的版本不改动，导入内容保存为新版本，施行日期须晚于原版本。",
    "补贴项目：类别为设备补贴、建筑节能改造补贴或运行补贴。设备补贴按取暖路径和设备类型（可留空=不限），计算方式为“按合同价比例”（填补贴比例、可填上限）或“定额”（填定额）。",
    "建筑节能改造补贴填单价（元/m²，按采暖面积计）和可选上限；运行补贴填计量单位（kWh、m³、GJ）、单价（元/计量单位）、每季上限和补贴季数。",
    "分级负担：中央、省级、市级、县级负担比例（%），每个项目合计须为100。不负担的级次填0。",
    "倾斜规则：困难群体（低保、特困、脱贫、残疾）对某类补贴提高比例、提高上限或加发金额；一户有多个困难身份时，每项取最优，不叠加。",
    "导入为“全部或全不”：任何一处有问题，整份文件都不写入，并逐条列出工作表、行号、列和原因。",
]


@dataclass
class ParsedPolicy:
    header: dict = field(default_factory=dict)
    items: list = field(default_factory=list)
    tilts: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)     # (section, index, field) → "“补贴项目”表第5行H列"
    rows: dict = field(default_factory=dict)      # (section, index) → "“补贴项目”表第5行"

    def where(self, section: str, index, name) -> str:
        """Where a problem of the policy rules lies: sheet, row, cell and the column's name."""
        cell = self.cells.get((section, index, name))
        if cell:
            return f"{cell}（{NAMES[section][name]}）"
        return self.rows.get((section, index)) or f"“{SHEETS[section]}”表"


# ---- choices as people write them

def _key(text) -> str:
    """A choice as typed, compared whole (half-width, no spaces, one kind of bracket, lower case)."""
    return inputs.normalise_text(text).lower().replace("（", "(").replace("）", ")")


def _labels(choices) -> dict:
    """{written form: code}: each label whole, and without its bracketed note where that is unique."""
    with translation.override("zh-hans"):
        found = {_key(label): value for value, label in choices}
    short = {}
    for key, value in found.items():
        short.setdefault(re.sub(r"\(.*?\)", "", key), set()).add(value)
    return {**{k: v.pop() for k, v in short.items() if len(v) == 1 and k}, **found}


def _lookup(text: str, labels: dict, words: dict | None = None) -> str | None:
    key = _key(text)
    if key in labels:
        return labels[key]
    if key in labels.values():
        return key
    for value, found in (words or {}).items():
        if any(w in key for w in found):
            return value
    return None


_PATHS, _KINDS, _METHODS, _FLAGS = (_labels(HeatingPath.choices), _labels(Kind.choices), _labels(Method.choices),
                                    _labels(Flag.choices))
_DEVICES = {**_labels(ElectricDevice.choices), **_labels(EquipmentType.choices)}
_UNITS = _labels(Unit.choices)


def _flag(text):
    return _lookup(text.replace("户", ""), _FLAGS)


def _path(text):
    return "" if _key(text) in ALL else _lookup(text, _PATHS)


def _device(text):
    value = "" if _key(text) in ALL else _lookup(text, _DEVICES)
    return value if value in EquipmentType.values or value in ("", None) else None


NAMES = {"policy": POLICY_NAMES, "item": ITEM_FIELDS, "tilt": TILT_FIELDS}
CHOICES = {"kind": (lambda t: _lookup(t, _KINDS, KIND_WORDS), "设备补贴、建筑节能改造补贴、运行补贴"),
           "path": (_path, "、".join(str(label) for _, label in HeatingPath.choices) + "，或留空（不限）"),
           "device": (_device, "设备目录中的设备类型，或留空（不限）"),
           "method": (lambda t: "" if not t else _lookup(t, _METHODS, METHOD_WORDS), "按合同价比例、定额"),
           "unit": (lambda t: "" if not t else _lookup(t, _UNITS, UNIT_WORDS), "kWh、m³、GJ"),
           "flag": (_flag, "低保、特困、脱贫、残疾")}


# ---- reading

def _header_of(rows, synonyms: dict) -> tuple[int, dict]:
    lookup = {normalise_header(name): f for f, names in synonyms.items() for name in names}
    best, best_index = {}, -1
    for index, row in enumerate(rows[:20]):
        found = {}
        for col, cell in enumerate(row):
            f = lookup.get(normalise_header(as_text(cell))) if as_text(cell) else None
            if f and f not in found.values():
                found[col] = f
        if len(found) > len(best):
            best, best_index = found, index
    return best_index, best


def _value(name: str, cell, where: str, label: str, problems: list):
    text = as_text(cell)
    try:
        if name in CHOICES:
            reader, allowed = CHOICES[name]
            value = reader(text)
            if value is None:
                problems.append(f"{where}（{label}）：“{inputs.shown(text)}”无法识别，可填：{allowed}")
            return value or ""
        if name in NUMBER_FIELDS:
            text = re.sub(r"(%|％|元.*)$", "", text.replace(",", "").replace("，", "")).strip()
            return inputs.decimal(text, "", places=4) if text else None
        if name in ("seasons", "year"):
            return inputs.integer(re.sub(r"年.*$", "", text), "") if text else None
        if name in ("effective_from", "effective_until"):
            return as_date(cell)
        if name == "illustrative":
            key = _key(text)
            if key not in YES + NO:
                raise ValueError(f"“{inputs.shown(text)}”应为“是”或“否”")
            return key in YES
        return inputs.text(text, "")
    except ValueError as exc:
        problems.append(f"{where}（{label}）：{exc}")
        return None


def _table(rows, section: str, synonyms: dict, names: dict, parsed: ParsedPolicy, required: tuple) -> list[dict]:
    sheet = SHEETS[section]
    header, columns = _header_of(rows, synonyms)
    missing = [names[f] for f in required if f not in columns.values()]
    if header < 0 or missing:
        if any(as_text(c) for row in rows for c in row):
            parsed.problems.append(f"“{sheet}”表未找到表头或缺少必需的列：{'、'.join(missing)}（请使用补贴政策导入模板）")
        return []
    out = []
    for number, row in enumerate(rows[header + 1:], start=header + 2):
        cells = {f: row[c] if c < len(row) else None for c, f in columns.items()}
        if not any(as_text(v) for v in cells.values()) or is_total_row(row):
            continue
        index = len(out)
        parsed.rows[(section, index)] = f"“{sheet}”表第{number}行"
        values = {}
        for col, f in columns.items():
            where = f"“{sheet}”表第{number}行{column_letter(col)}列"
            parsed.cells[(section, index, f)] = where
            values[f] = _value(f, cells[f], where, names[f], parsed.problems)
        out.append(values)
    return out


def _policy_info(rows, parsed: ParsedPolicy) -> dict:
    lookup = {normalise_header(name): f for f, names in POLICY_SYNONYMS.items() for name in names}
    header = {}
    for number, row in enumerate(rows, start=1):
        cells = [c for c in row]
        for col, cell in enumerate(cells[:3]):
            f = lookup.get(normalise_header(as_text(cell))) if as_text(cell) else None
            if f and f not in header and col + 1 < len(cells):
                where = f"“{SHEETS['policy']}”表第{number}行{column_letter(col + 1)}列"
                parsed.cells[("policy", None, f)] = where
                header[f] = _value(f, cells[col + 1], where, POLICY_NAMES[f], parsed.problems)
                break
    for f in ("region", "year", "title", "effective_from"):
        if f not in header and not (f == "region" and header.get("region_name")):
            parsed.problems.append(f"“{SHEETS['policy']}”表缺少“{POLICY_NAMES[f]}”一行")
    return header


def read_policy(path) -> ParsedPolicy:
    """The workbook's policy, items and tilts, with every problem of reading it (none: it read)."""
    parsed = ParsedPolicy()
    try:
        sheets = read_sheets(path)
    except Exception:  # noqa: BLE001 — any unreadable file is told the same way
        parsed.problems.append("文件无法读取，请上传补贴政策导入模板（.xlsx）")
        return parsed
    found = {key: next((rows for name, rows in sheets.items() if normalise_header(name) == normalise_header(title)),
                       None) for key, title in SHEETS.items()}
    for key in ("policy", "item"):
        if found[key] is None:
            parsed.problems.append(f"文件中没有“{SHEETS[key]}”工作表（请使用补贴政策导入模板）")
    if parsed.problems:
        return parsed
    parsed.header = _policy_info(found["policy"], parsed)
    parsed.items = _table(found["item"], "item", ITEM_SYNONYMS, ITEM_FIELDS, parsed,
                          ("kind", "central_pct", "provincial_pct", "city_pct", "county_pct"))
    parsed.tilts = _table(found["tilt"] or [], "tilt", TILT_SYNONYMS, TILT_FIELDS, parsed, ("flag", "kind"))
    return parsed


# ---- writing

def _shown(name: str, value):
    """A stored value as the workbook shows it (choices by their label, numbers as numbers)."""
    if value in (None, ""):
        return ""
    if name in NUMBER_FIELDS:
        return float(value)
    for key, choices in (("kind", Kind), ("method", Method), ("flag", Flag), ("path", HeatingPath),
                         ("device", EquipmentType)):
        if name == key:
            return str(choices(value).label)
    if name == "unit":
        return terms.UNITS[value]
    return value


def write_policy(target, policy=None) -> None:
    """The workbook of `policy` (None: the empty template)."""
    with translation.override("zh-hans"):
        book = xlsxwriter.Workbook(target, {"in_memory": True})
        head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet = book.add_worksheet(SHEETS["policy"])
        sheet.set_column(0, 0, 16)
        sheet.set_column(1, 1, 60)
        values = {} if policy is None else {
            "region": policy.region_id, "region_name": policy.region.name, "year": policy.year, "title": policy.title,
            "document_no": policy.document_no, "effective_from": policy.effective_from,
            "effective_until": policy.effective_until, "illustrative": "是" if policy.illustrative else "否",
            "note": policy.note}
        for r, name in enumerate(POLICY_ROWS):
            sheet.write(r, 0, POLICY_NAMES[name], head)
            value = values.get(name)
            if isinstance(value, date):
                sheet.write_datetime(r, 1, value, day)
            elif value not in (None, ""):
                sheet.write_string(r, 1, str(value)) if name != "year" else sheet.write_number(r, 1, value)
        _write_table(book, head, SHEETS["item"], ITEM_FIELDS,
                     [i.values() for i in policy.items.all()] if policy else [])
        _write_table(book, head, SHEETS["tilt"], TILT_FIELDS,
                     [t.values() for t in policy.tilts.all()] if policy else [])
        notes = book.add_worksheet(NOTES_SHEET)
        for i, line in enumerate(NOTES):
            notes.write(i, 0, line)
        notes.set_column(0, 0, 120)
        book.close()


LISTS = {"kind": Kind, "path": HeatingPath, "device": EquipmentType, "method": Method, "unit": None, "flag": Flag}


def _write_table(book, head, title, names: dict, rows: list[dict]):
    sheet = book.add_worksheet(title)
    for col, (name, label) in enumerate(names.items()):
        sheet.write(0, col, label, head)
        sheet.set_column(col, col, 14)
        if name in LISTS:
            source = list(terms.UNITS.values()) if name == "unit" else [str(label) for _, label in LISTS[name].choices]
            sheet.data_validation(1, col, 500, col, {"validate": "list", "source": source,
                                                      "error_message": "请从下拉列表选择"})
        for r, values in enumerate(rows, start=1):
            value = _shown(name, values.get(name))
            if isinstance(value, (float, int, Decimal)) and not isinstance(value, bool):
                sheet.write_number(r, col, value)
            elif value != "":
                sheet.write_string(r, col, str(value))
    sheet.freeze_panes(1, 0)


def workbook_bytes(policy=None) -> bytes:
    buffer = io.BytesIO()
    write_policy(buffer, policy)
    return buffer.getvalue()
