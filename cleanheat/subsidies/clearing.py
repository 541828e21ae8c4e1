"""The clearing (清算) of a county's year: approved entitlements, paid, recovered and funds received,
per level, and the balance; read in scope (roles.CLEARING), exported as the finance bureaus' .xlsx
(clearing_sheet). The numbers are sums of the stored lines, nothing kept aside."""
from django.db.models import Count, Sum

from cleanheat.access import require_perm
from cleanheat.accounts import roles
from cleanheat.audit.services import record
from cleanheat.regions.scope import code_q

from . import clearing_sheet, terms
from .funds import county_of
from .models import (
    BatchStatus,
    Entitlement,
    FundLine,
    LineStatus,
    PaymentBatch,
    PaymentLine,
    Status,
)

SHARES = [f"{level}_fen" for level in terms.LEVELS]


def clearing(county_code: str, year: int) -> dict:
    """{level: {received, committed, paid, recovered, balance, unpaid}, total: …} in fen."""
    rows = {level: {} for level in terms.LEVELS}
    for level, fen in (FundLine.objects.filter(county_code=county_code, year=year).values_list("level")
                       .annotate(n=Sum("amount_fen")).order_by()):
        rows[level]["received"] = fen
    approved = Entitlement.objects.filter(code_q("village_code", county_code[:6]), year=year, status=Status.APPROVED)
    sums = approved.aggregate(**{level: Sum(f) for level, f in zip(terms.LEVELS, SHARES)})
    for level in terms.LEVELS:
        rows[level]["committed"] = sums[level] or 0
    paid = PaymentLine.objects.filter(code_q("village_code", county_code[:6]), entitlement__year=year,
                                      status__in=(LineStatus.PAID, LineStatus.RECOVERED))
    sums = paid.aggregate(**{level: Sum(f"entitlement__{f}") for level, f in zip(terms.LEVELS, SHARES)})
    for level in terms.LEVELS:
        rows[level]["paid"] = sums[level] or 0
        rows[level]["recovered"] = 0
    for fen, *shares in paid.filter(status=LineStatus.RECOVERED).values_list(
            "recovered_fen", *(f"entitlement__{f}" for f in SHARES)):
        for level, part in zip(terms.LEVELS, clearing_sheet.split(fen, shares)):
            rows[level]["recovered"] += part
    return clearing_sheet.complete(rows)


def receipts(county_code: str, year: int) -> list[FundLine]:
    return list(FundLine.objects.filter(county_code=county_code, year=year).order_by("level", "received_on", "pk"))


def batch_rows(county_code: str, year: int) -> list[tuple]:
    """(number, status label, count, fen, paid, failed, pending) of each batch but the cancelled."""
    out = []
    batches = PaymentBatch.objects.filter(county_code=county_code, year=year).exclude(status=BatchStatus.CANCELLED)
    for batch in batches.order_by("number"):
        sums = dict(batch.lines.values_list("status").annotate(fen=Sum("amount_fen")).order_by())
        count = batch.lines.aggregate(n=Count("pk"))["n"]
        out.append((batch.number, batch.get_status_display(), count, batch.total_fen,
                    sums.get(LineStatus.PAID, 0) + sums.get(LineStatus.RECOVERED, 0), sums.get(LineStatus.FAILED, 0),
                    sums.get(LineStatus.PENDING, 0)))
    return out


def export(user, county, year: int) -> tuple[bytes, str]:
    """The clearing workbook of a county's year in the user's scope: (bytes, file name); audited."""
    require_perm(user, roles.CLEARING)
    region = county_of(user, county)
    title = f"{region.name}{year}年度清洁取暖补贴资金清算表"
    content = clearing_sheet.workbook(
        title, clearing(region.code, year),
        [(terms.LEVEL_LABELS[f.level], f.source, f.document_no, f.received_on, f.amount_fen) for f in receipts(region.code, year)],
        batch_rows(region.code, year))
    record("export", user=user, region_code=region.code, target=f"{region.name}{year}年度补贴资金清算表",
           detail="导出清算表（.xlsx）")
    return content, f"{title}.xlsx"
