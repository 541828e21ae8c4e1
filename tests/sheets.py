"""Writing test workbooks the way county clerks' sheets really look."""
import xlsxwriter

from cleanheat.sheets.headers import TEMPLATE_HEADERS
from cleanheat.imports.xlsx import TEMPLATE_FIELDS


def write_sheet(path, header, rows, *, title_rows=(), merges=(), numbers=()):
    """header: column names; rows: lists of cell values; numbers: (row, col) written as numbers;
    merges: (first_row, first_col, last_row, last_col, value) in data-row coordinates."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Sheet1")
    r = 0
    for title in title_rows:
        ws.write(r, 0, title)
        r += 1
    ws.write_row(r, 0, header)
    first_data = r + 1
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if (i, j) in numbers:
                ws.write_number(first_data + i, j, float(value))
            elif isinstance(value, (int, float)):
                ws.write_number(first_data + i, j, value)
            elif value is not None:
                ws.write_string(first_data + i, j, str(value))
    for r0, c0, r1, c1, value in merges:
        ws.merge_range(first_data + r0, c0, first_data + r1, c1, value)
    wb.close()
    return path


def template_row(**values):
    return [values.get(f, "") for f in TEMPLATE_FIELDS]


TEMPLATE_HEADER = [TEMPLATE_HEADERS[f] for f in TEMPLATE_FIELDS]
