"""A filled report workbook read back as plain tables, for its page and its PDF (issue #19): both are
drawn from the kept .xlsx itself, so they always show the same figures as the file.

Method: openpyxl reads each sheet's values (never formulas: the filled reports hold numbers). Per
sheet, a row with a single non-empty cell in its first column is a line of text (the title, the
date line, a note under the table) unless it continues a table; a table starts at a row with more
than one cell, runs to the next empty row, and its first row is its header. Merged cells become colspan/rowspan on their top-left cell. Numbers are shown as filled:
integers as they are, decimals rounded to two places without trailing zeros. No Django here."""
import io
from datetime import date, datetime

import openpyxl

DECIMALS = 2


def text_of(value) -> str:
    """How a cell's value is shown on the page and in the PDF."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ", "minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _spans(ws) -> tuple[dict, set]:
    """{(row, col) of a merge's top-left cell: (rowspan, colspan)} and the cells a merge hides."""
    spans, hidden = {}, set()
    for rng in ws.merged_cells.ranges:
        spans[(rng.min_row, rng.min_col)] = (rng.max_row - rng.min_row + 1, rng.max_col - rng.min_col + 1)
        hidden |= {(r, c) for r in range(rng.min_row, rng.max_row + 1) for c in range(rng.min_col, rng.max_col + 1)}
        hidden.discard((rng.min_row, rng.min_col))
    return spans, hidden


def _blocks(ws) -> list[dict]:
    """The sheet as a list of {"line": text} and {"table": [[cell, …], …]} in sheet order."""
    spans, hidden = _spans(ws)
    width = ws.max_column
    blocks, table = [], None
    for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
        texts = [text_of(v) for v in row[:width]]
        filled = [t for t in texts if t]
        if not filled:
            table = None
            continue
        if table is None and len(filled) == 1 and texts[0] and (r, 1) not in spans:
            blocks.append({"line": texts[0]})
            table = None
            continue
        if table is None:
            table = []
            blocks.append({"table": table})
        cells = []
        for c, text in enumerate(texts, start=1):
            if (r, c) in hidden:
                continue
            rowspan, colspan = spans.get((r, c), (1, 1))
            cells.append({"text": text, "rowspan": rowspan, "colspan": colspan,
                          "number": text != "" and _is_number(row[c - 1])})
        table.append(cells)
    return blocks


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def sheets(content: bytes) -> list[dict]:
    """[{"title": sheet name, "blocks": […], "columns": widest table's column count}] of a workbook."""
    wb = openpyxl.load_workbook(io.BytesIO(content), data_only=True, read_only=False)
    out = []
    for ws in wb.worksheets:
        blocks = _blocks(ws)
        columns = max((len(row) for b in blocks for row in b.get("table", [])), default=0)
        out.append({"title": ws.title, "blocks": blocks, "columns": columns})
    return out
