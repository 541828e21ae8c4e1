"""Pages of the subsidies module: policies (list, page, edit, import, export), energy readings
(household page, import) and computing entitlements as a background job."""
import tempfile
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.db.models.functions import Substr
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, requires
from cleanheat.accounts import roles
from cleanheat.jobs.models import Job
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import counties_for, user_prefix

from . import batch, policy_sheet, reading_sheet, services, terms
from .forms import ItemFormSet, PolicyForm, ReadingForm, TiltFormSet, rows_of
from .models import Entitlement

SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
OUTCOMES = {"created": "已录入补贴政策", "updated": "已保存修改", "unchanged": "没有变更",
            "new_version": "原版本已有已审核的补贴，未改动；修改已保存为新版本"}
SHOWN_PROBLEMS = 50


@requires(roles.SUBSIDIES)
def home(request):
    user = request.user
    policies = list(services.visible_policies(user).order_by("-year", "region_id", "-version"))
    years = sorted({p.year for p in policies}, reverse=True)
    year = request.GET.get("year", "")
    year = int(year) if year.isascii() and year.isdigit() and int(year) in years else (years[0] if years else None)
    rows = (services.entitlements_for(user).filter(year=year).annotate(county=Substr("village_code", 1, 6))
            .values("county", "kind", "status").annotate(n=Count("pk"), fen=Sum("amount_fen")).order_by())
    names = {r.code[:6]: r.name for r in Region.objects.filter(level=codes.COUNTY)}
    totals = {}
    for r in rows:
        row = totals.setdefault(r["county"], {"name": names.get(r["county"], r["county"]), "n": 0, "fen": 0,
                                              **{k: 0 for k in terms.KINDS}, "approved": 0})
        row["n"] += r["n"]
        row["fen"] += r["fen"] or 0
        row[r["kind"]] += r["fen"] or 0
        row["approved"] += (r["fen"] or 0) if r["status"] == "approved" else 0
    jobs = Job.objects.filter(kind="entitlements", region_scope__startswith=user_prefix(user)).select_related("user")[:10]
    return render(request, "subsidies/home.html", {
        "policies": policies, "years": years, "year": year, "counties": counties_for(user),
        "totals": [{**t, **{k: terms.yuan(v) for k, v in t.items() if k in ("fen", "approved", *terms.KINDS)}}
                   for _, t in sorted(totals.items())], "jobs": jobs})


@require_POST
@requires(roles.COMPUTE)
def compute(request):
    try:
        job = batch.start_job(request.user, request.POST.get("year", ""), request.POST.get("region", ""))
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return redirect("subsidies")
    return redirect("job", job_id=job.pk)


@requires(roles.SUBSIDIES)
def policy_page(request, policy_id):
    policy = get_object_or_404(services.visible_policies(request.user).prefetch_related("items", "tilts"), pk=policy_id)
    versions = list(services.versions_of(policy))
    counts = dict(Entitlement.objects.filter(policy=policy).values_list("status").annotate(n=Count("pk")))
    editable = has_perm(request.user, roles.POLICY) and services.editable_policies(request.user).filter(
        pk=policy.pk).exists() and versions[-1].pk == policy.pk
    return render(request, "subsidies/policy.html", {
        "policy": policy, "versions": versions, "counts": counts, "editable": editable, "used": policy.is_used})


def _regions(user):
    prefix = user_prefix(user)
    return [r for r in Region.objects.filter(level__in=(codes.CITY, codes.COUNTY)).order_by("code")
            if r.code.startswith(prefix)]


def _place(refused: services.PolicyRefused, form, item_forms, tilt_forms):
    """Each problem on the field it is about (the row of its item or tilt), else on the form."""
    for p in refused.problems:
        target = form if p.section == "policy" or p.index is None else \
            (item_forms if p.section == "item" else tilt_forms)[p.index]
        target.add_error(p.field if p.field in target.fields and not target.fields[p.field].disabled else None,
                         p.message)


def _edit(request, base=None):
    data = request.POST if request.method == "POST" else None
    initial = None if base is None else {f: getattr(base, f) for f in (
        "region", "year", "title", "document_no", "effective_from", "effective_until", "illustrative", "note")}
    if initial:
        initial["region"] = base.region_id
    form = PolicyForm(data, regions=_regions(request.user), fixed=base, initial=initial)
    items = ItemFormSet(data, prefix="items", initial=[i.values() for i in base.items.all()] if base else None)
    tilts = TiltFormSet(data, prefix="tilts", initial=[t.values() for t in base.tilts.all()] if base else None)
    if data is not None and form.is_valid() and items.is_valid() and tilts.is_valid():
        item_rows, item_forms = rows_of(items)
        tilt_rows, tilt_forms = rows_of(tilts)
        try:
            policy, outcome = services.save_policy(form.cleaned_data, item_rows, tilt_rows, user=request.user,
                                                   base=base, channel=Channel.UI)
        except services.PolicyRefused as refused:
            _place(refused, form, item_forms, tilt_forms)
        else:
            messages.success(request, OUTCOMES[outcome] + f"（{policy}）")
            return redirect("policy", policy_id=policy.pk)
    return render(request, "subsidies/policy_form.html", {
        "form": form, "items": items, "tilts": tilts, "base": base, "used": base is not None and base.is_used})


@requires(roles.POLICY)
def policy_create(request):
    return _edit(request)


@requires(roles.POLICY)
def policy_edit(request, policy_id):
    policy = get_object_or_404(services.editable_policies(request.user), pk=policy_id)
    latest = services.versions_of(policy).last()
    if latest.pk != policy.pk:
        messages.error(request, f"只能在最新版本（第{latest.version}版）上修改")
        return redirect("policy", policy_id=policy.pk)
    return _edit(request, policy)


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=policy_sheet.XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@requires(roles.SUBSIDIES)
def policy_template(request):
    return _xlsx(policy_sheet.workbook_bytes(), "补贴政策导入模板.xlsx")


@requires(roles.SUBSIDIES)
def policy_export(request, policy_id):
    policy = get_object_or_404(services.visible_policies(request.user).prefetch_related("items", "tilts"), pk=policy_id)
    return _xlsx(policy_sheet.workbook_bytes(policy), f"补贴政策_{policy.region.name}_{policy.year}_第{policy.version}版.xlsx")


def _with_upload(request, fail_to: str, handle):
    """Run handle(path, filename) on the uploaded sheet; problems as messages, nothing written."""
    uploaded = request.FILES.get("file")
    if uploaded is None or Path(uploaded.name).suffix.lower() not in SHEET_SUFFIXES:
        messages.error(request, "请上传 Excel 文件（.xlsx）")
        return redirect(fail_to)
    if uploaded.size > settings.CLEANHEAT_MAX_UPLOAD_BYTES:
        messages.error(request, f"文件超过{settings.CLEANHEAT_MAX_UPLOAD_BYTES // (1024 * 1024)}MB")
        return redirect(fail_to)
    with tempfile.NamedTemporaryFile(suffix=Path(uploaded.name).suffix.lower()) as fh:
        for chunk in uploaded.chunks():
            fh.write(chunk)
        fh.flush()
        try:
            return handle(fh.name, uploaded.name[:200])
        except ValidationError as error:
            for problem in error.messages[:SHOWN_PROBLEMS]:
                messages.error(request, problem)
            if len(error.messages) > SHOWN_PROBLEMS:
                messages.error(request, f"……共{len(error.messages)}个问题")
            messages.error(request, "文件有问题，未导入任何内容（全部或全不）")
            return redirect(fail_to)


@require_POST
@requires(roles.POLICY)
def policy_import(request):
    def handle(path, filename):
        policy, outcome = services.import_policy(path, user=request.user, filename=filename)
        messages.success(request, OUTCOMES[outcome] + f"（{policy}）")
        return redirect("policy", policy_id=policy.pk)
    return _with_upload(request, "subsidies", handle)


@requires(roles.READINGS)
def readings_page(request):
    if request.method == "POST":
        def handle(path, filename):
            counts = services.import_readings(path, user=request.user, filename=filename)
            messages.success(request, f"已导入读数：新增{counts['created']}条，更新{counts['updated']}条，"
                                      f"未变{counts['unchanged']}条")
            return redirect("readings")
        return _with_upload(request, "readings", handle)
    return render(request, "subsidies/readings.html")


@requires(roles.READINGS)
def readings_template(request):
    return _xlsx(reading_sheet.template_bytes(), "能耗读数导入模板.xlsx")


@require_POST
@requires(roles.READINGS)
def household_reading(request, household_no):
    household = scoped_household(request.user, household_no)
    form = ReadingForm(request.POST)
    if form.is_valid():
        try:
            _, outcome = services.record_reading(household, form.cleaned_data, user=request.user, channel=Channel.UI)
            messages.success(request, {"created": "已录入读数", "updated": "已修改读数", "unchanged": "读数没有变更"}[outcome])
        except ValidationError as error:
            messages.error(request, "读数未保存：" + "；".join(error.messages))
    else:
        messages.error(request, "读数未保存：" + "；".join(f"{form.fields[f].label}{'、'.join(e)}" if f in form.fields
                                                     else "、".join(e) for f, e in form.errors.items()))
    return redirect("household", household_no=household.household_no)
