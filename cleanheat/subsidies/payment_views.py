"""Pages of funds, payment batches and the clearing (资金到位、发放批次、清算): funds per county with
the city's forms, the batches and each county's queue, a batch page (the bank file as a logged
download, the return file with a dry run listing the problems per row, recoveries), the clearing
and its .xlsx. Every write through funds / payments; every read in scope."""
import tempfile
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, require_perm, requires
from cleanheat.accounts import roles

from . import clearing, funds, payments, terms
from .models import Level, LineStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN = 300


def _year(request) -> int:
    value = request.GET.get("year", "") or request.POST.get("year", "")
    return int(value) if value.isascii() and value.isdigit() and 2000 <= int(value) <= 2100 else timezone.localdate().year


def _fen(text) -> int | None:
    try:
        value = Decimal(str(text).replace(",", "").strip())
    except InvalidOperation:
        return None
    return int(value * 100) if value.is_finite() and value == value.quantize(Decimal("0.01")) else None


def _date(text) -> date | None:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        return None


def _errors(request, error: ValidationError) -> None:
    for message in error.messages[:SHOWN]:
        messages.error(request, message)


def _download(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _yuan(row: dict) -> dict:
    return {k: terms.yuan(v) if isinstance(v, int) else v for k, v in row.items()}


@requires(roles.CLEARING)
def funds_page(request):
    user, year = request.user, _year(request)
    if request.method == "POST":
        require_perm(user, roles.FUNDS)
        data = {"county": request.POST.get("county", ""), "year": year, "amount_fen": _fen(request.POST.get("amount", ""))}
        try:
            if request.POST.get("what") == "override":
                funds.grant_override({**data, "reason": request.POST.get("reason", ""),
                                      "document_no": request.POST.get("document_no", "")}, user=user)
                messages.success(request, "已记录超出资金审核许可")
            else:
                funds.record_fund({**data, "level": request.POST.get("level", ""), "source": request.POST.get("source", ""),
                                   "document_no": request.POST.get("document_no", ""),
                                   "received_on": _date(request.POST.get("received_on", "")),
                                   "note": request.POST.get("note", "")}, user=user)
                messages.success(request, "已录入到位资金")
        except ValidationError as error:
            _errors(request, error)
        return redirect(f"{reverse('funds')}?year={year}")
    counties = [{"code": c.code, "name": c.name, **_yuan(_flat(funds.standing(c.code, year)))}
                for c in funds.counties_in(user)]
    lines = funds.fund_lines_for(user).filter(year=year).select_related("created_by")
    overrides = funds.overrides_for(user).filter(year=year).select_related("granted_by")
    names = {c["code"]: c["name"] for c in counties}
    return render(request, "subsidies/funds.html", {
        "year": year, "counties": counties, "lines": lines, "overrides": overrides, "names": names,
        "levels": Level.choices, "can_record": has_perm(user, roles.FUNDS), "today": timezone.localdate()})


def _flat(now: dict) -> dict:
    return {**{f"received_{lv}": now["received"][lv] for lv in terms.LEVELS},
            **{k: v for k, v in now.items() if k != "received"}}


@requires(roles.CLEARING)
def batches(request):
    user, year = request.user, _year(request)
    counties = funds.counties_in(user)
    queues = []
    for county in counties:
        rows = payments.queue(county.code, year)
        n = rows.count()
        if n:
            queues.append({"code": county.code, "name": county.name, "n": n,
                           "total": terms.yuan(sum(rows.values_list("amount_fen", flat=True)))})
    found = payments.batches_for(user).filter(year=year).select_related("created_by")
    return render(request, "subsidies/batches.html", {"year": year, "queues": queues, "batches": found,
                                                      "can_pay": has_perm(user, roles.PAY)})


@require_POST
@requires(roles.PAY)
def batch_create(request):
    year = _year(request)
    try:
        batch, left_out = payments.create_batch(request.user, request.POST.get("county", ""), year)
    except ValidationError as error:
        _errors(request, error)
        return redirect(f"{reverse('payment_batches')}?year={year}")
    messages.success(request, f"已创建发放批次{batch.number}：{batch.line_count}笔，合计{batch.total}元")
    if left_out:
        messages.warning(request, f"{len(left_out)}条补贴有问题未选入本批次：")
        for line in left_out[:SHOWN]:
            messages.warning(request, line)
    return redirect("payment_batch", batch_id=batch.pk)


@requires(roles.CLEARING)
def batch_page(request, batch_id):
    batch = payments.get_batch(request.user, batch_id)
    lines = batch.lines.select_related("household").order_by("row_no")
    status = request.GET.get("status", "")
    if status in LineStatus.values:
        lines = lines.filter(status=status)
    totals = payments.batch_totals(batch)
    return render(request, "subsidies/batch.html", {
        "batch": batch, "lines": lines[:1000], "shown_all": lines.count() <= 1000, "status": status,
        "totals": [(label, totals[code]["n"], terms.yuan(totals[code]["fen"])) for code, label in LineStatus.choices
                   if code in totals],
        "can_pay": has_perm(request.user, roles.PAY), "statuses": LineStatus.choices,
        "check": request.session.pop(f"return_check_{batch.pk}", None)})


@require_POST
@requires(roles.PAY)
def bank_file(request, batch_id):
    """The logged download of the bank file (a POST: it decrypts and is audited every time)."""
    try:
        content, filename = payments.export_bank_file(request.user, batch_id, request=request)
    except ValidationError as error:
        _errors(request, error)
        return redirect("payment_batch", batch_id=batch_id)
    return _download(content, filename)


@require_POST
@requires(roles.PAY)
def bank_return(request, batch_id):
    """The bank's return file: 检查 (dry run) lists the problems per row; 导入 writes all or nothing."""
    batch = payments.get_batch(request.user, batch_id)
    uploaded = request.FILES.get("file")
    if uploaded is None or Path(uploaded.name).suffix.lower() not in (".xlsx", ".xls", ".xlsm", ".ods"):
        messages.error(request, "请上传银行回盘的 Excel 文件（.xlsx）")
        return redirect("payment_batch", batch_id=batch.pk)
    if uploaded.size > settings.CLEANHEAT_MAX_UPLOAD_BYTES:
        messages.error(request, f"文件超过{settings.CLEANHEAT_MAX_UPLOAD_BYTES // (1024 * 1024)}MB")
        return redirect("payment_batch", batch_id=batch.pk)
    dry_run = request.POST.get("dry_run") == "1"
    with tempfile.NamedTemporaryFile(suffix=Path(uploaded.name).suffix.lower()) as fh:
        for chunk in uploaded.chunks():
            fh.write(chunk)
        fh.flush()
        try:
            summary = payments.import_return(request.user, batch.pk, fh.name, dry_run=dry_run,
                                             filename=uploaded.name[:100])
        except ValidationError as error:
            request.session[f"return_check_{batch.pk}"] = {"ok": False, "problems": error.messages[:SHOWN],
                                                           "file": uploaded.name[:100]}
            messages.error(request, "回盘文件有问题，未导入任何内容（全部或全不）")
            return redirect("payment_batch", batch_id=batch.pk)
    text = (f"成功{summary['paid']}笔，失败{summary['failed']}笔，仍待回盘{summary['pending']}笔"
            + ("，批次将关闭" if dry_run and summary["closed"] else "，批次已关闭" if summary["closed"] else ""))
    if dry_run:
        request.session[f"return_check_{batch.pk}"] = {"ok": True, "problems": [], "file": uploaded.name[:100],
                                                       "summary": text}
        messages.info(request, "检查通过（未写入）：" + text)
    else:
        messages.success(request, "已导入回盘文件：" + text)
    return redirect("payment_batch", batch_id=batch.pk)


@require_POST
@requires(roles.PAY)
def batch_cancel(request, batch_id):
    try:
        batch = payments.cancel_batch(request.user, batch_id)
        messages.success(request, f"已撤销批次{batch.number}，其明细回到待发放队列")
    except ValidationError as error:
        _errors(request, error)
    return redirect("payment_batch", batch_id=batch_id)


@require_POST
@requires(roles.PAY)
def line_recover(request, payment_id):
    line = payments.lines_for(request.user).filter(pk=payment_id).first()
    try:
        line = payments.recover(request.user, payment_id, amount_fen=_fen(request.POST.get("amount", "")),
                                document_no=request.POST.get("document_no", ""), reason=request.POST.get("reason", ""))
        messages.success(request, f"已登记追缴：序号{line.row_no} {terms.yuan(line.recovered_fen)}元")
    except ValidationError as error:
        _errors(request, error)
    return redirect("payment_batch", batch_id=line.batch_id) if line else redirect("payment_batches")


@requires(roles.CLEARING)
def clearing_page(request):
    user, year = request.user, _year(request)
    counties = funds.counties_in(user)
    code = request.GET.get("county", "") or (counties[0].code if counties else "")
    county = next((c for c in counties if c.code == code), None)
    table = clearing.clearing(county.code, year) if county else None
    rows = [(terms.LEVEL_LABELS.get(lv, "合计"), _yuan(table[lv])) for lv in (*terms.LEVELS, "total")] if table else []
    return render(request, "subsidies/clearing.html", {
        "year": year, "counties": counties, "county": county, "rows": rows,
        "receipts": clearing.receipts(county.code, year) if county else [],
        "batches": clearing.batch_rows(county.code, year) if county else []})


@requires(roles.CLEARING)
def clearing_export(request):
    try:
        content, filename = clearing.export(request.user, request.GET.get("county", ""), _year(request))
    except ValidationError as error:
        _errors(request, error)
        return redirect("clearing")
    return _download(content, filename)
