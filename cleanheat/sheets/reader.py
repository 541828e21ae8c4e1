"""Reading an uploaded workbook (xlsx, xls, ods).

`read_rows` gives Python values per cell (python-calamine); `read_table` gives every cell as
trimmed text in a polars DataFrame (None for empty), the form the ledger import validates
column by column. For a plain .xlsx it reads with fastexcel, several times faster; files where
text alone would lose something a clerk must be told about — merged cells, or numbers so large
that Excel rounded them (an ID number typed into a number cell) — are read cell by cell instead.
"""
import logging
import re
import threading
import zipfile
from pathlib import Path

import fastexcel
import polars as pl
from python_calamine import CalamineWorkbook

from .cells import as_text

log = logging.getLogger(__name__)
LONG_NUMBER = re.compile(rb"<v>-?\d{15}")  # a number cell of 15+ digits (written without exponent)


def read_rows(path) -> tuple[str, list[list]]:
    """First sheet with content: (sheet name, rows). Merged cells are filled with their value,
    as a clerk reads them."""
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False)
            if not any(any(c not in ("", None) for c in row) for row in rows[:50]):
                continue
            _fill_merged(rows, sheet)
            return name, rows
    finally:
        workbook.close()
    raise ValueError("文件中没有包含数据的工作表")


def read_sheets(path) -> dict[str, list[list]]:
    """Every sheet by name: {name: rows}, merged cells filled (for workbooks of several tables)."""
    workbook = CalamineWorkbook.from_path(str(path))
    try:
        sheets = {}
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False)
            _fill_merged(rows, sheet)
            sheets[name] = rows
        return sheets
    finally:
        workbook.close()


def _fill_merged(rows, sheet):
    ranges = sheet.merged_cell_ranges or []
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1 + 1, len(rows))):
            for c in range(c0, min(c1 + 1, len(rows[r]))):
                rows[r][c] = value


def read_table(path) -> tuple[str, pl.DataFrame]:
    """First sheet with content: (sheet name, cells as text). Columns are c0, c1, …; every cell
    is what `cells.as_text` makes of it, with empty cells as None."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        needs_cells = []
        scan = threading.Thread(target=lambda: needs_cells.append(_needs_cell_reading(path)))
        scan.start()  # unzipping runs beside fastexcel, which releases the GIL while it parses
        try:
            found = _read_fast(path)
        except Exception as exc:  # noqa: BLE001 — the cell-by-cell reader reads it, or says why it can't
            log.info("fastexcel could not read %s (%s); reading cell by cell", path.name, exc)
            found = None
        finally:
            scan.join()
        if found is not None and not needs_cells[0]:
            return found
    name, rows = read_rows(path)
    width = max((len(r) for r in rows), default=0)
    columns = [[None] * len(rows) for _ in range(width)]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            columns[j][i] = as_text(value) or None
    return name, pl.DataFrame({f"c{j}": col for j, col in enumerate(columns)},
                              schema={f"c{j}": pl.String for j in range(width)})


def _read_fast(path):
    reader = fastexcel.read_excel(str(path))
    for name in reader.sheet_names:
        frame = reader.load_sheet(name, header_row=None, dtypes="string").to_polars()
        if frame.height == 0:
            continue
        frame = frame.rename({old: f"c{j}" for j, old in enumerate(frame.columns)})
        frame = frame.with_columns(pl.all().str.strip_chars())
        cell, size = pl.all(), pl.all().str.len_bytes()
        frame = frame.with_columns(
            pl.when(size == 0).then(None)
            # a date cell comes as "2022-05-01 00:00:00"; as_text gives the day, as clerks wrote it
            .when((size == 19) & (cell.str.slice(10, 1) == " ") & (cell.str.slice(13, 1) == ":")).then(cell.str.head(10))
            .when(size == 4).then(cell.replace({"true": "是"}))  # a yes/no cell, as as_text writes it
            .when(size == 5).then(cell.replace({"false": "否"}))
            .otherwise(cell).name.keep())
        if not frame.head(50).select(pl.any_horizontal(pl.all().is_not_null()).any()).item():
            continue
        return name, frame
    return None


def _needs_cell_reading(path) -> bool:
    """Merged cells, or a number written in exponent form (≥ 1E+15: Excel keeps 15 digits, so an
    18-digit ID number in a number cell has lost its last digits)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not (member.startswith("xl/worksheets/") and member.endswith(".xml")):
                    continue
                tail = b""
                with archive.open(member) as fh:
                    while chunk := fh.read(1 << 22):
                        buffer = tail + chunk
                        if b"<mergeCell " in buffer or b"E+" in buffer or b"e+" in buffer \
                                or LONG_NUMBER.search(buffer):
                            return True
                        tail = buffer[-16:]
    except (zipfile.BadZipFile, OSError):
        return True
    return False
