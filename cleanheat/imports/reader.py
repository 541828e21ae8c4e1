"""Reading an uploaded workbook (xlsx, xls, ods) into rows with python-calamine."""
from python_calamine import CalamineWorkbook


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


def _fill_merged(rows, sheet):
    ranges = sheet.merged_cell_ranges or []
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1 + 1, len(rows))):
            for c in range(c0, min(c1 + 1, len(rows[r]))):
                rows[r][c] = value
