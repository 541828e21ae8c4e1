"""Turning cell values as Excel and clerks give them into plain text and dates. No Django."""
import re
from datetime import date, datetime, timedelta

from cleanheat.inputs import normalise_text

EXCEL_EPOCH = date(1899, 12, 30)


def as_text(value) -> str:
    """Cell → text. Whole floats lose their '.0' (88.0 → '88'); huge ones keep the
    scientific form so that an ID number Excel turned into a number is recognised as such."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value >= 1e15:
            return f"{value:.5E}".replace(".00000E", "E")
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def as_date(value) -> date | None:
    """Excel serials, date cells, and text like 2022/5/1, 2022-05-01, 2022年5月1日, 2022.5.1."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and 20000 < value < 80000:
        return EXCEL_EPOCH + timedelta(days=int(value))
    text = normalise_text(value)
    match = re.fullmatch(r"(\d{4})[年/\-.](\d{1,2})[月/\-.](\d{1,2})日?", text)
    if not match and re.fullmatch(r"\d{8}", text):
        match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if match:
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            pass
    if re.fullmatch(r"\d{5}(\.0)?", text):
        return EXCEL_EPOCH + timedelta(days=int(float(text)))
    raise ValueError(f"“{value}”不是可识别的日期（可写作 2022-05-01、2022/5/1 或 2022年5月1日）")
