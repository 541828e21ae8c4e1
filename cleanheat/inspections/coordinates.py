"""The villages' coordinates sheet (村庄坐标表: 区划代码, 经度, 纬度; xlsx, xls, ods or csv) read into
rows for `regions.services.import_coordinates`, which checks every row and writes all or nothing.
Used by the upload page (`coordinate_views`) and `manage.py load_coordinates`."""
import csv
import io
import tempfile
from pathlib import Path

from django.core.exceptions import ValidationError

from cleanheat.regions import services as regions
from cleanheat.sheets.cells import as_text
from cleanheat.sheets.reader import read_rows

COLUMNS = {"区划代码": "code", "代码": "code", "code": "code", "经度": "longitude", "longitude": "longitude",
           "lon": "longitude", "纬度": "latitude", "latitude": "latitude", "lat": "latitude"}
REQUIRED = {"code": "区划代码", "longitude": "经度", "latitude": "纬度"}
SHEET_SUFFIXES = {".xlsx", ".xls", ".xlsm", ".ods"}
HEADER_SCAN = 10
MAX_BYTES = 5 * 1024 * 1024


def _csv_rows(content: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return list(csv.reader(io.StringIO(content.decode(encoding))))
        except UnicodeDecodeError:
            continue
    raise ValidationError("CSV 文件的编码无法识别（请存为 UTF-8 或 GBK）")


def _sheet_rows(content: bytes, suffix: str) -> list[list]:
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(content)
        handle.flush()
        try:
            return read_rows(handle.name)[1]
        except Exception:  # a damaged or mislabelled file: said plainly, not a traceback
            raise ValidationError("文件无法读取：请上传 xlsx、xls、ods 或 csv 格式的村庄坐标表") from None


def rows_of(name: str, content: bytes) -> list:
    """CoordinateRow per filled row below the header (row numbers as the sheet shows them)."""
    if len(content) > MAX_BYTES:
        raise ValidationError(f"文件超过 {MAX_BYTES // 1024 // 1024}MB")
    suffix = Path(name or "").suffix.lower()
    if suffix == ".csv":
        table = _csv_rows(content)
    elif suffix in SHEET_SUFFIXES:
        table = _sheet_rows(content, suffix)
    else:
        raise ValidationError("请上传 xlsx、xls、ods 或 csv 格式的村庄坐标表")
    for index, row in enumerate(table[:HEADER_SCAN]):
        found = {COLUMNS[t]: n for n, cell in enumerate(row) if (t := as_text(cell).strip().lower()) in COLUMNS}
        if set(found) == set(REQUIRED):
            break
    else:
        raise ValidationError("未找到表头：应有“区划代码”“经度”“纬度”三列")
    out = []
    for number, row in enumerate(table[index + 1:], start=index + 2):
        cells = {key: as_text(row[n]) if n < len(row) else "" for key, n in found.items()}
        if any(cells.values()):
            out.append(regions.CoordinateRow(number, cells["code"], cells["longitude"], cells["latitude"]))
    return out


def import_file(name: str, content: bytes, *, user=None) -> int:
    """Read and write a coordinates sheet; ValidationError naming every bad row, nothing saved."""
    return regions.import_coordinates(rows_of(name, content), user=user)
