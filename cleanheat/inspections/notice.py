"""The notice of findings per county (《实施方案》七(三)：及时通报) as an xlsx workbook."""
import io

import xlsxwriter

from cleanheat.regions.models import Region

HEAD = ["县（市、区）", "待整改", "其中逾期", "已整改待复核", "已销号"]
LIST_HEAD = ["县（市、区）", "户编号", "问题", "问题等级", "整改期限", "逾期天数"]
SEVERITY = {"serious": "严重", "normal": "一般"}


def county_names(codes) -> dict:
    full = {c.ljust(12, "0"): c for c in codes}
    return {full[code]: name for code, name in Region.objects.filter(code__in=list(full)).values_list("code", "name")}


def workbook(counties: list[dict], overdue: list[dict], *, title: str) -> bytes:
    names = county_names({r["county"] for r in counties} | {r["responsible_unit"] for r in overdue})
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1})
    heading = wb.add_format({"bold": True, "font_size": 14})
    ws = wb.add_worksheet("通报")
    ws.write(0, 0, title, heading)
    ws.write_row(2, 0, HEAD, bold)
    for r, row in enumerate(counties, 3):
        ws.write_row(r, 0, [names.get(row["county"], row["county"]), row["open"], row["overdue"], row["rectified"],
                            row["closed"]])
    ws.set_column(0, 0, 24)
    ls = wb.add_worksheet("逾期问题")
    ls.write_row(0, 0, LIST_HEAD, bold)
    for r, row in enumerate(overdue, 1):
        ls.write_row(r, 0, [names.get(row["responsible_unit"], row["responsible_unit"]), row["household__household_no"],
                            row["description"], SEVERITY.get(row["severity"], row["severity"]),
                            row["deadline"].isoformat(), row["days_overdue"]])
    ls.set_column(0, 2, 24)
    wb.close()
    return out.getvalue()
