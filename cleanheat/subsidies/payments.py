"""Payment batches (发放批次): county finance bundles approved entitlements, exports the bank's
一卡通 payment file (the one place bank card numbers are decrypted, audited with the row count and
the file's SHA-256), imports the bank's return file (paid lines close, failed lines go back to the
queue with the bank's reason), and records recoveries (追缴) of paid lines.

Never paid twice: an entitlement is in at most one open batch and has at most one paid (or
recovered) line — both are database constraints (models.PaymentLine), checked here first so that
the refusal names the household. Every write is one transaction: a refused file writes nothing.
"""
import hashlib
from collections import defaultdict
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.http import Http404
from django.utils import timezone

from cleanheat import bulk, inputs, pii
from cleanheat.access import require_perm, scope_filter
from cleanheat.accounts import roles
from cleanheat.audit.services import record
from cleanheat.regions.models import Region
from cleanheat.regions.scope import code_q
from cleanheat.sheets.cells import as_text
from cleanheat.sheets.reader import read_rows

from . import bank_file, payment_checks, terms
from .funds import county_of
from .models import (
    BatchStatus,
    Entitlement,
    LineStatus,
    PaymentBatch,
    PaymentLine,
    Status,
)

IN_CHUNK = 5000
SHOWN = 200          # problems listed at most (the count is always given)
OPEN = (BatchStatus.OPEN, BatchStatus.EXPORTED)
HOLDING = Q(in_open_batch=True) | Q(status__in=(LineStatus.PAID, LineStatus.RECOVERED))


def batches_for(user):
    return scope_filter(PaymentBatch.objects.all(), user, "county_code")


def lines_for(user):
    return scope_filter(PaymentLine.objects.all(), user, "village_code")


def get_batch(user, batch_id, *, lock=False) -> PaymentBatch:
    rows = batches_for(user)
    if lock:
        rows = rows.select_for_update()
    found = rows.filter(pk=batch_id).first() if str(batch_id).isdigit() else None
    if found is None:
        raise Http404("未找到该发放批次，或不在您的管辖范围内")
    return found


def queue(county_code: str, year: int):
    """Approved lines of the county's year not in an open batch and never paid: what a batch takes
    (failed lines are back here)."""
    held = PaymentLine.objects.filter(HOLDING, entitlement=OuterRef("pk"))
    return (Entitlement.objects.filter(code_q("village_code", county_code[:6]), year=year, status=Status.APPROVED)
            .exclude(Exists(held)))


def item_label(kind: str, season: int) -> str:
    return terms.KIND_LABELS[kind] + (f"（{terms.season_label(season)}）" if season else "")


def _holding(ids) -> dict[int, str]:
    """Why each of these entitlements cannot go into a batch because of its payments."""
    found = {}
    for start in range(0, len(ids), IN_CHUNK):
        for eid, status, number in (PaymentLine.objects.filter(HOLDING, entitlement_id__in=ids[start:start + IN_CHUNK])
                                    .values_list("entitlement_id", "status", "batch__number")):
            found[eid] = {LineStatus.PAID: f"已在批次{number}中发放，不能重复发放",
                          LineStatus.RECOVERED: f"已在批次{number}中发放并已追缴，不能再次发放"}.get(
                status, f"已在未关闭的批次{number}中")
    return found


class Candidate(NamedTuple):
    """An entitlement as a batch takes it (read as plain values: a batch may hold 50,000)."""
    pk: int
    village_code: str
    kind: str
    season: int
    amount_fen: int
    status: str
    household_id: int
    household_no: str
    name: str
    id_cipher: str
    card_cipher: str
    card_hash: str
    card_masked: str


CANDIDATE_FIELDS = ("pk", "village_code", "kind", "season", "amount_fen", "status", "household_id",
                    "household__household_no", "household__householder_name", "household__id_number_cipher",
                    "household__bank_account_cipher", "household__bank_account_hash", "household__bank_account_masked")


def _candidates(county_code, year, entitlement_ids) -> list[Candidate]:
    """The lines a batch would take, in the order of its rows (village, household, kind, season)."""
    if entitlement_ids is None:
        rows = list(queue(county_code, year).values_list(*CANDIDATE_FIELDS))
    else:
        ids, rows = list(entitlement_ids), []
        for start in range(0, len(ids), IN_CHUNK):    # within the database's limit of parameters
            rows += Entitlement.objects.filter(code_q("village_code", county_code[:6]), year=year,
                                               pk__in=ids[start:start + IN_CHUNK]).values_list(*CANDIDATE_FIELDS)
    return sorted((Candidate(*r) for r in rows), key=lambda e: (e.village_code, e.household_no, e.kind, e.season))


def _line_problems(entitlements, *, from_queue=False) -> dict[int, list[str]]:
    """Why each line cannot be paid now (from_queue: read from the queue, which holds no line
    that is in an open batch or paid)."""
    ids = [e.pk for e in entitlements]
    problems = defaultdict(list)
    for e in entitlements:
        if e.status != Status.APPROVED:
            problems[e.pk].append("补贴尚未审核")
        if not e.card_cipher:
            problems[e.pk].append("未登记补贴发放账号（银行卡号）")
    for eid, why in ({} if from_queue else _holding(ids)).items():
        problems[eid].append(why)
    for eid, why in payment_checks.blocking(ids).items():
        problems[eid] += list(why)
    return problems


def _named(e, reasons) -> str:
    return f"户{e.household_no}（{e.name}）{item_label(e.kind, e.season)}：" + "；".join(reasons)


def _is_integrity_error(error) -> bool:
    """Django's IntegrityError, or the driver's from a PostgreSQL COPY (which bypasses Django's wrapper)."""
    return any(cls.__name__ == "IntegrityError" for cls in type(error).__mro__)


@transaction.atomic
def create_batch(user, county, year: int, entitlement_ids=None) -> tuple[PaymentBatch, list[str]]:
    """A batch of the county's approved lines for the year: the given entitlements (any with a
    problem refuses the batch, each named), or — without ids — every line of the queue without a
    problem (those left out are returned, each with its reason). Refused when nothing is left."""
    require_perm(user, roles.PAY)
    region = county_of(user, county)
    if not isinstance(year, int):
        raise ValidationError({"year": ["请选择年度"]})
    entitlements = _candidates(region.code, year, entitlement_ids)
    if entitlement_ids is not None:
        missing = set(map(int, entitlement_ids)) - {e.pk for e in entitlements}
        if missing:
            raise ValidationError({"entitlements": [f"有{len(missing)}条补贴不是{region.name}{year}年度的补贴，或不存在"]})
    problems = _line_problems(entitlements, from_queue=entitlement_ids is None)
    left_out = [_named(e, problems[e.pk]) for e in entitlements if e.pk in problems]
    if entitlement_ids is not None and left_out:
        raise ValidationError({"entitlements": left_out[:SHOWN] + ([f"……共{len(left_out)}条有问题"]
                                                                   if len(left_out) > SHOWN else [])})
    ready = [e for e in entitlements if e.pk not in problems]
    if not ready:
        raise ValidationError({"entitlements": [f"{region.name}{year}年度没有可发放的已审核补贴"] + left_out[:SHOWN]})
    seq = PaymentBatch.objects.filter(county_code=region.code, year=year).count() + 1
    batch = PaymentBatch(county_code=region.code, year=year, number=f"{region.code[:6]}-{year}-{seq:03d}",
                         created_by=user, line_count=len(ready), total_fen=sum(e.amount_fen for e in ready))
    n = len(ready)
    try:
        with transaction.atomic():
            batch.save()
            bulk.insert_columns(PaymentLine, {
                "batch_id": [batch.pk] * n, "row_no": list(range(1, n + 1)), "entitlement_id": [e.pk for e in ready],
                "household_id": [e.household_id for e in ready], "village_code": [e.village_code for e in ready],
                "amount_fen": [e.amount_fen for e in ready], "name": [e.name for e in ready],
                "id_cipher": [e.id_cipher for e in ready], "card_cipher": [e.card_cipher for e in ready],
                "card_hash": [e.card_hash for e in ready], "card_masked": [e.card_masked for e in ready],
                "item": [item_label(e.kind, e.season) for e in ready], "status": [LineStatus.PENDING.value] * n,
                "in_open_batch": [True] * n, "reason": [""] * n, "recovered_fen": [0] * n,
                "recovery_document": [""] * n, "recovery_reason": [""] * n})
    except Exception as error:   # another batch took some of these lines a moment ago (the constraint)
        if not _is_integrity_error(error):
            raise
        raise ValidationError({"entitlements": ["其中有补贴刚被另一发放批次选入，本批次未创建，请刷新后重试"]}) from None
    record("payments", user=user, region_code=region.code, target=f"发放批次{batch.number}",
           detail=f"创建：{batch.line_count}笔，合计{batch.total}元" + (f"；{len(left_out)}条因有问题未选入" if left_out else ""))
    return batch, left_out


@transaction.atomic
def cancel_batch(user, batch_id) -> PaymentBatch:
    """Withdraw a batch whose file was never exported: its lines go back to the queue."""
    require_perm(user, roles.PAY)
    batch = get_batch(user, batch_id, lock=True)
    if batch.status != BatchStatus.OPEN:
        raise ValidationError({"batch": [f"批次{batch.number}为“{batch.get_status_display()}”，只能撤销尚未导出发放文件的批次"]})
    batch.lines.update(status=LineStatus.CANCELLED, in_open_batch=False)
    batch.status = BatchStatus.CANCELLED
    batch.closed_at = timezone.now()
    batch.save(update_fields=["status", "closed_at"])
    record("payments", user=user, region_code=batch.county_code, target=f"发放批次{batch.number}", detail="撤销")
    return batch


def _region_names(codes_) -> dict[str, str]:
    """'某某镇某某村' for each village code."""
    wanted = set(codes_) | {c[:9] + "000" for c in codes_}
    names = dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
    return {c: names.get(c[:9] + "000", "") + names.get(c, c) for c in codes_}


def payees(batch: PaymentBatch) -> list[bank_file.Payee]:
    """The batch's lines still to pay, decrypted (one query, one cipher)."""
    rows = list(batch.lines.filter(status=LineStatus.PENDING).order_by("row_no").values_list(
        "row_no", "name", "id_cipher", "card_cipher", "amount_fen", "item", "village_code"))
    ids = pii.decrypt_many([r[2] for r in rows])
    cards = pii.decrypt_many([r[3] for r in rows])
    regions = _region_names({r[6] for r in rows})
    return [bank_file.Payee(r[0], r[1], i, c, r[4], r[5], regions[r[6]]) for r, i, c in zip(rows, ids, cards)]


def _blocked(batch) -> list[str]:
    pending = list(batch.lines.filter(status=LineStatus.PENDING).values_list("entitlement_id", "row_no", "name"))
    blocked = payment_checks.blocking([e for e, _, _ in pending])
    return [f"序号{row}（{name}）：" + "；".join(blocked[e]) for e, row, name in pending if e in blocked]


@transaction.atomic
def export_bank_file(user, batch_id, *, request=None) -> tuple[bytes, str]:
    """The bank payment file of the batch's lines still to pay: (xlsx bytes, file name). Bank card
    and ID numbers are decrypted here and nowhere else; every export is audited (who, when, rows,
    SHA-256 of the file)."""
    require_perm(user, roles.PAY)
    require_perm(user, roles.REVEAL_BANK)
    batch = get_batch(user, batch_id, lock=True)
    if not batch.is_open:
        raise ValidationError({"batch": [f"批次{batch.number}为“{batch.get_status_display()}”，不能再导出发放文件"]})
    blocked = _blocked(batch)
    if blocked:
        raise ValidationError({"batch": ["以下明细有发放前检查问题，未导出发放文件，请先撤销该批次并处理："] + blocked[:SHOWN]})
    rows = payees(batch)
    if not rows:
        raise ValidationError({"batch": [f"批次{batch.number}没有待发放的明细"]})
    county = Region.objects.filter(code=batch.county_code).values_list("name", flat=True).first() or batch.county_code
    content = bank_file.workbook(batch.number, county, rows)
    digest = hashlib.sha256(content).hexdigest()
    batch.status, batch.exported_at, batch.file_hash = BatchStatus.EXPORTED, timezone.now(), digest
    batch.save(update_fields=["status", "exported_at", "file_hash"])
    record("export", request=request, user=user, region_code=batch.county_code,
           target=f"一卡通发放文件 批次{batch.number}",
           detail=f"解密银行卡号、身份证号{len(rows)}行，合计{terms.yuan(sum(r.amount_fen for r in rows))}元；"
                  f"文件SHA-256 {digest}")
    return content, f"一卡通发放文件_{county}_{batch.number}.xlsx"


def check_return(batch: PaymentBatch, path) -> tuple[list[tuple], list[str]]:
    """The return file against the batch: ([(line, 'paid'|'failed', reason)], problems). Every
    problem names the row and the cell; any problem means nothing may be written."""
    if not batch.is_open:
        return [], [f"批次{batch.number}为“{batch.get_status_display()}”，已关闭，不能再导入回盘文件"]
    try:
        _, rows = read_rows(path)
    except Exception:   # noqa: BLE001 — any unreadable workbook is one message to the user
        return [], ["无法读取回盘文件，请上传 Excel 文件（.xlsx）"]
    returned, problems = bank_file.parse_return(rows, as_text)
    if problems:
        return [], problems
    lines = {line.row_no: line for line in batch.lines.all()}
    results, seen = [], {}
    for r in returned:
        v, here = r.values, []
        row_no = v["row_no"]
        line = lines.get(int(row_no)) if row_no.isdigit() else None
        if line is None:
            problems.append(f"{bank_file.cell(r, 'row_no')}：序号“{row_no}”不是批次{batch.number}发出的明细（本批次序号1至{len(lines)}）")
            continue
        if line.row_no in seen:
            problems.append(f"{bank_file.cell(r, 'row_no')}：序号{line.row_no}与第{seen[line.row_no]}行重复")
            continue
        seen[line.row_no] = r.sheet_row
        if v["name"] != line.name:
            here.append(f"{bank_file.cell(r, 'name')}：姓名“{v['name']}”与发出的“{line.name}”不符")
        card = inputs.normalise_text(v["card"]).replace(" ", "")
        if pii.blind_index(card, "bank") != line.card_hash and card != line.card_masked:
            here.append(f"{bank_file.cell(r, 'card')}：银行卡号与发出的（{line.card_masked}）不符")
        fen = bank_file.fen_of(v["amount"])
        if fen != line.amount_fen:
            here.append(f"{bank_file.cell(r, 'amount')}：金额“{v['amount']}”与发出的{bank_file.yuan_text(line.amount_fen)}元不符")
        result = bank_file.outcome(v["result"])
        if result is None:
            here.append(f"{bank_file.cell(r, 'result')}：发放结果“{v['result']}”应为“成功”或“失败”")
        elif result == "failed" and not v["reason"].strip():
            here.append(f"{bank_file.cell(r, 'reason')}：发放失败的明细须有失败原因")
        if line.status != LineStatus.PENDING:
            here.append(f"{bank_file.cell(r, 'row_no')}：序号{line.row_no}已回盘为“{line.get_status_display()}”，不能再次导入")
        problems += here
        if not here:
            results.append((line, result, v["reason"].strip()[:200]))
    return results, problems


@transaction.atomic
def import_return(user, batch_id, path, *, dry_run=False, filename="") -> dict:
    """The bank's return file for a batch: paid lines close, failed lines return to the queue with
    the bank's reason. dry_run: only check. Refused (ValidationError listing every problem by row
    and cell) when anything is wrong; nothing written then. Returns {paid, failed, pending, closed}."""
    require_perm(user, roles.PAY)
    batch = get_batch(user, batch_id, lock=True)
    results, problems = check_return(batch, path)
    if problems:
        raise ValidationError(problems[:SHOWN] + ([f"……共{len(problems)}个问题"] if len(problems) > SHOWN else []))
    paid = [line.pk for line, result, _ in results if result == "paid"]
    failed = [(line.pk, reason) for line, result, reason in results if result == "failed"]
    summary = {"paid": len(paid), "failed": len(failed)}
    if dry_run:
        summary["pending"] = batch.lines.filter(status=LineStatus.PENDING).count() - len(results)
        summary["closed"] = summary["pending"] == 0
        return summary
    now = timezone.now()
    for start in range(0, len(paid), IN_CHUNK):
        PaymentLine.objects.filter(pk__in=paid[start:start + IN_CHUNK]).update(
            status=LineStatus.PAID, in_open_batch=False, settled_at=now)
    by_reason = defaultdict(list)
    for pk, reason in failed:
        by_reason[reason].append(pk)
    for reason, pks in by_reason.items():
        for start in range(0, len(pks), IN_CHUNK):
            PaymentLine.objects.filter(pk__in=pks[start:start + IN_CHUNK]).update(
                status=LineStatus.FAILED, in_open_batch=False, settled_at=now, reason=reason)
    summary["pending"] = batch.lines.filter(status=LineStatus.PENDING).count()
    summary["closed"] = summary["pending"] == 0
    if summary["closed"]:
        batch.status, batch.closed_at = BatchStatus.CLOSED, now
        batch.save(update_fields=["status", "closed_at"])
    record("payments", user=user, region_code=batch.county_code, target=f"发放批次{batch.number}回盘",
           detail=f"导入回盘文件{filename}：成功{len(paid)}笔，失败{len(failed)}笔，待回盘{summary['pending']}笔"
                  + ("；批次已关闭" if summary["closed"] else ""))
    return summary


@transaction.atomic
def recover(user, line_id, *, amount_fen: int, document_no: str, reason: str) -> PaymentLine:
    """追缴: a paid line is reversed only by this record (amount up to what was paid, the document
    and the reason). The entitlement is not paid again."""
    require_perm(user, roles.PAY)
    line = lines_for(user).select_for_update().filter(pk=line_id).first() if str(line_id).isdigit() else None
    if line is None:
        raise Http404("未找到该发放明细，或不在您的管辖范围内")
    document_no, reason = (document_no or "").strip(), (reason or "").strip()
    problems = {}
    if line.status != LineStatus.PAID:
        problems["line"] = [f"该明细为“{line.get_status_display()}”，只有已发放的明细才能追缴"]
    if not isinstance(amount_fen, int) or not 0 < amount_fen <= line.amount_fen:
        problems["amount_fen"] = [f"追缴金额应大于0且不超过已发放的{line.amount}元"]
    if not document_no or len(document_no) > 80 or inputs.unprintable(document_no):
        problems["document_no"] = ["请填写追缴文号（最多80个字）"]
    if not reason or len(reason) > 200 or inputs.unprintable(reason):
        problems["reason"] = ["请填写追缴原因（最多200个字）"]
    if problems:
        raise ValidationError(problems)
    line.status, line.recovered_fen, line.recovery_document, line.recovery_reason = \
        LineStatus.RECOVERED, amount_fen, document_no, reason
    line.recovered_at, line.recovered_by = timezone.now(), user
    line.save()
    record("payments", user=user, region_code=line.village_code, target=f"追缴 批次{line.batch.number}序号{line.row_no}",
           detail=f"追缴{terms.yuan(amount_fen)}元（已发放{line.amount}元）；{document_no}；{reason}")
    return line


def batch_totals(batch) -> dict:
    """Count and fen per line status of a batch."""
    rows = batch.lines.values_list("status").annotate(n=Count("pk"), fen=Sum("amount_fen")).order_by()
    return {status: {"n": n, "fen": fen or 0} for status, n, fen in rows}
