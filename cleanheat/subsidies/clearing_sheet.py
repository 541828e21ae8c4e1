"""The clearing (清算) of a county's year as a finance bureau files it, and the split of a recovery
over the levels. Pure, no Django.

Layout: sheet 清算表 — one row per level (中央, 省级, 市级, 县级) and 合计, with 到位资金, 已审核补贴
(应发), 已发放, 追缴, 结余 (到位 − 已发放 + 追缴) and 应发未发 (已审核 − 已发放 + 追缴 … the
approved amount not (or no longer) paid); sheet 资金到位明细 — each receipt with its level, source,
document and date; sheet 发放批次 — each batch with its counts. Amounts in yuan, two decimals.
A recovery is split over the levels in the proportion of the line's shares, the fen left by
rounding going to the largest remainders (as the entitlements' shares themselves are split).
"""
import io
from datetime import datetime

import xlsxwriter

from . import terms

COLUMNS = ["层级", "到位资金（元）", "已审核补贴（元）", "已发放（元）", "追缴（元）", "结余（元）", "应发未发（元）"]
KEYS = ["received", "committed", "paid", "recovered", "balance", "unpaid"]


def split(amount: int, shares: list[int]) -> list[int]:
    """amount (fen) over the levels in proportion to shares (fen), adding up exactly."""
    whole = sum(shares)
    if whole <= 0:
        return [0] * len(shares)
    parts = [amount * s // whole for s in shares]
    rests = sorted(range(len(shares)), key=lambda i: (-(amount * shares[i] % whole), i))
    for i in rests[:amount - sum(parts)]:
        parts[i] += 1
    return parts


def complete(rows: dict) -> dict:
    """rows {level: {received, committed, paid, recovered}} → with balance, unpaid and a total."""
    out = {}
    for level in terms.LEVELS:
        r = {k: rows.get(level, {}).get(k, 0) for k in ("received", "committed", "paid", "recovered")}
        r["balance"] = r["received"] - r["paid"] + r["recovered"]
        r["unpaid"] = r["committed"] - r["paid"] + r["recovered"]
        out[level] = r
    out["total"] = {k: sum(out[lv][k] for lv in terms.LEVELS) for k in KEYS}
    return out


def workbook(title: str, table: dict, receipts: list[tuple], batches: list[tuple]) -> bytes:
    """receipts: (level label, source, document, date, fen); batches: (number, status, count, fen,
    paid fen, failed fen, pending fen)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.set_properties({"title": title, "created": datetime(2000, 1, 1)})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    money_bold = book.add_format({"num_format": "#,##0.00", "bold": True})
    sheet = book.add_worksheet("清算表")
    sheet.write_string(0, 0, title, bold)
    sheet.write_row(2, 0, COLUMNS, bold)
    for r, level in enumerate([*terms.LEVELS, "total"], start=3):
        label = terms.LEVEL_LABELS.get(level, "合计")
        sheet.write_string(r, 0, label, bold if level == "total" else None)
        for c, key in enumerate(KEYS, start=1):
            sheet.write_number(r, c, table[level][key] / 100, money_bold if level == "total" else money)
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, len(COLUMNS), 16)
    detail = book.add_worksheet("资金到位明细")
    detail.write_row(0, 0, ["层级", "资金来源", "文号", "到位日期", "金额（元）"], bold)
    for r, (level, source, document, day, fen) in enumerate(receipts, start=1):
        detail.write_row(r, 0, [level, source, document, day.isoformat()])
        detail.write_number(r, 4, fen / 100, money)
    detail.set_column(0, 4, 18)
    paid = book.add_worksheet("发放批次")
    paid.write_row(0, 0, ["批次号", "状态", "笔数", "金额（元）", "已发放（元）", "发放失败（元）", "待回盘（元）"], bold)
    for r, (number, status, count, *amounts) in enumerate(batches, start=1):
        paid.write_row(r, 0, [number, status, count])
        for c, fen in enumerate(amounts, start=3):
            paid.write_number(r, c, fen / 100, money)
    paid.set_column(0, 6, 16)
    book.close()
    return out.getvalue()
