"""Pages of the reports app: emissions avoided, calibration, coal-ban zones, report templates and the
reports generated from them. Every page names a region and checks it against the user's scope."""
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cleanheat.access import (
    has_perm,
    require_in_scope,
    requires,
    scope_filter,
    user_prefix,
)
from cleanheat.accounts.roles import COAL_BAN, EDIT, REPORT_TEMPLATES, REPORTS
from cleanheat.audit.services import record
from cleanheat.plan import years
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from . import figures, services, tables
from .emissions import POLLUTANTS
from .models import CoalBanVillage, GeneratedReport, ReportTemplate, RetrofitProject

POLLUTANT_LABELS = {"co2": "CO₂", "so2": "SO₂", "nox": "NOx", "pm25": "PM2.5", "pm10": "PM10"}


def storage() -> FileSystemStorage:
    """Generated reports are kept under DATA_DIR (never under a public URL), served by `download`."""
    return FileSystemStorage(location=Path(settings.DATA_DIR) / "reports")


def _region(request, code=None) -> Region:
    code = code or codes.full_code(user_prefix(request.user) or "1409")
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    return region


def _choice(request, region):
    return years.choose(request.GET, codes.full_code(region.code[:4]))


def _pollutants(result: dict) -> list[dict]:
    return [{"key": p, "label": POLLUTANT_LABELS[p], "before": result["before"][p] / 1000,
             "after": result["after"][p] / 1000, "avoided": result["avoided"][p] / 1000} for p in POLLUTANTS]


@requires(REPORTS)
def home(request):
    region = _region(request)
    choice = _choice(request, region)
    reports = scope_filter(GeneratedReport.objects.select_related("template", "created_by"), request.user,
                           "region_code")[:50]
    return render(request, "reports/home.html", {
        "region": region, "choice": choice, "templates": ReportTemplate.objects.all(), "reports": reports,
        "can_upload": has_perm(request.user, REPORT_TEMPLATES), "problems": [],
        "own_code": codes.full_code(user_prefix(request.user) or "1409"), "can_return": services.can_return(request.user)})


@requires(REPORTS)
def emissions_page(request, code=None):
    region = _region(request, code)
    choice = _choice(request, region)
    data, error = None, ""
    if choice.plan:
        try:
            data = services.season_totals(region, choice.plan, choice.on if not choice.is_today else None)
        except ValidationError as e:
            error = "；".join(e.messages)
    return render(request, "reports/emissions.html", {
        "region": region, "choice": choice, "data": data, "error": error,
        "rows": [{**r, "avoided_t": [r["proven"]["avoided"][p] / 1000 for p in POLLUTANTS]} for r in data["rows"]]
        if data else [],
        "total": _pollutants(data["total"]) if data else [], "unproven": _pollutants(data["unproven"]) if data else [],
        "pollutant_labels": [POLLUTANT_LABELS[p] for p in POLLUTANTS], "pollutants": POLLUTANTS})


@requires(REPORTS)
def calibration_page(request, code=None):
    region = _region(request, code)
    choice = _choice(request, region)
    data = services.calibration(region, choice.plan) if choice.plan else None
    return render(request, "reports/calibration.html", {"region": region, "choice": choice, "data": data})


@requires(REPORTS)
def coal_ban_page(request, code=None):
    region = _region(request, code)
    on = years.as_of(request.GET)
    errors = {}
    if request.method == "POST":
        if not has_perm(request.user, COAL_BAN):
            raise Http404("未找到")
        try:
            if request.POST.get("lift"):
                marking = get_object_or_404(scope_filter(CoalBanVillage.objects, request.user, "village_code"),
                                            pk=request.POST["lift"])
                services.lift_coal_ban(request.user, marking, until=_date(request.POST.get("until"), "until"))
                messages.success(request, _("已解除该村的禁煤区划定"))
            else:
                marking = services.mark_coal_ban(request.user, village_code=request.POST.get("village_code", ""),
                                                 zone=request.POST.get("zone", ""),
                                                 since=_date(request.POST.get("since"), "since"),
                                                 document_no=request.POST.get("document_no", ""))
                record("reports.coal_ban", request=request, region_code=marking.village_code, target=marking.zone)
                messages.success(request, _("已划入禁煤区"))
            return redirect(request.path)
        except ValidationError as e:
            errors = e.message_dict
    return render(request, "reports/coal_ban.html", {
        "region": region, "on": on, "zones": services.zones(region.prefix, on), "errors": errors,
        "can_mark": has_perm(request.user, COAL_BAN), "form": request.POST if errors else {}}, status=400 if errors else 200)


def _date(text, field):
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationError({field: ["日期格式应为 YYYY-MM-DD"]}) from None


@requires(REPORTS)
def retrofit_page(request, code=None):
    """Building energy retrofit: the plan's m² targets per county against completed projects; the
    projects in the scope; a form to register one (ledger editors)."""
    region = _region(request, code)
    choice = _choice(request, region)
    errors, form = {}, {}
    if request.method == "POST":
        if not has_perm(request.user, EDIT):
            raise Http404("未找到")
        form = request.POST
        try:
            project = services.add_retrofit(
                request.user, kind=form.get("kind", ""), region_code=form.get("region_code", "").strip(),
                area_m2=_number(form.get("area_m2")), plan_year=int(form.get("plan_year") or 0),
                name=form.get("name", ""), address=form.get("address", ""),
                before_kwh_m2=_number(form.get("before_kwh_m2")), after_kwh_m2=_number(form.get("after_kwh_m2")),
                gain_pct=_number(form.get("gain_pct")), measures=form.getlist("measures"),
                household_no=form.get("household_no", "").strip(),
                completed_on=_date(form.get("completed_on"), "completed_on") if form.get("completed_on") else None)
            record("reports.retrofit", request=request, region_code=project.region_code, target=str(project.pk))
            messages.success(request, _("已登记改造项目"))
            return redirect(request.get_full_path())
        except ValidationError as e:
            errors = e.message_dict
    projects = scope_filter(RetrofitProject.objects.select_related("household"), request.user, "region_code") \
        .filter(region_code__startswith=region.prefix)[:100]
    return render(request, "reports/retrofit.html", {
        "region": region, "choice": choice, "errors": errors, "form": form, "projects": projects,
        "rows": services.retrofit_progress(region, choice.plan, choice.on) if choice.plan else [],
        "can_add": has_perm(request.user, EDIT), "measures": services.MEASURES}, status=400 if errors else 200)


def _number(text):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError({"__all__": [f"“{text}”不是数字"]}) from None


@requires(REPORTS)
def dashboard_panel(request, code):
    """The dashboard's emissions and 散煤清零 figures (loaded into the progress dashboard)."""
    region = _region(request, code)
    choice = _choice(request, region)
    data = None
    if choice.plan:
        try:
            data = services.season_totals(region, choice.plan, choice.on if not choice.is_today else None)
        except ValidationError:
            data = None
    retrofit = services.retrofit_progress(region, choice.plan, choice.on) if choice.plan else []
    return render(request, "reports/_dashboard_panel.html", {
        "region": region, "choice": choice, "data": data, "total": _pollutants(data["total"]) if data else [],
        "zones": services.zones(region.prefix, choice.on),
        "retrofit": retrofit, "retrofit_total": {k: sum(r[k] for r in retrofit) for k in (
            "town_target", "town_done", "rural_target", "rural_done")}})


@requires(REPORTS)
@require_POST
def generate(request):
    template = get_object_or_404(ReportTemplate, code=request.POST.get("template", ""))
    region = _region(request, request.POST.get("region") or None)
    choice = years.choose(request.POST, codes.full_code(region.code[:4]))
    try:
        report = services.generate(request.user, template, region, choice.plan, choice.on, storage())
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
        return redirect("reports")
    record("reports.generate", request=request, region_code=region.code, target=template.code, detail=str(choice.on))
    return redirect("report_download", report_id=report.pk)


@requires(REPORTS)
def download(request, report_id):
    report = get_object_or_404(scope_filter(GeneratedReport.objects, request.user, "region_code"), pk=report_id)
    record("reports.download", request=request, region_code=report.region_code, target=str(report.pk))
    return FileResponse(storage().open(report.file_name, "rb"), as_attachment=True,
                        filename=Path(report.file_name).name)


def _report(request, report_id) -> GeneratedReport:
    """A generated report inside the user's scope (404 otherwise: nothing said of others)."""
    return get_object_or_404(scope_filter(GeneratedReport.objects.select_related("template", "created_by"),
                                          request.user, "region_code"), pk=report_id)


@requires(REPORTS)
def report_page(request, report_id):
    """One generated report: its figures as kept in the .xlsx, the file and its PDF, and its status."""
    report = _report(request, report_id)
    with storage().open(report.file_name, "rb") as f:
        sheets = tables.sheets(f.read())
    return render(request, "reports/report.html", {
        "report": report, "sheets": sheets, "region": Region.objects.filter(code=report.region_code).first(),
        "own_code": codes.full_code(user_prefix(request.user) or "1409"), "can_return": services.can_return(request.user)})


@requires(REPORTS)
def download_pdf(request, report_id):
    report = services.ensure_pdf(_report(request, report_id), storage())
    record("reports.download", request=request, region_code=report.region_code, target=f"{report.pk}.pdf")
    return FileResponse(storage().open(report.pdf_name, "rb"), as_attachment=True, content_type="application/pdf",
                        filename=Path(report.pdf_name).name)


@requires(REPORTS)
@require_POST
def report_action(request, report_id, action):
    """报送 (submit) or 退回 (return, the city) a generated report."""
    report = get_object_or_404(scope_filter(GeneratedReport.objects, request.user, "region_code"), pk=report_id)
    try:
        if action == "submit":
            services.submit_report(request.user, report)
            messages.success(request, _("报表已报送"))
        else:
            services.return_report(request.user, report, reason=request.POST.get("reason", ""))
            messages.success(request, _("报表已退回"))
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    record(f"reports.{action}", request=request, region_code=report.region_code, target=str(report.pk))
    if request.POST.get("back") == "page":  # sent from the report's own page
        return redirect("report_page", report_id=report.pk)
    return redirect("reports")


@requires(REPORT_TEMPLATES)
def upload_template(request):
    region = _region(request)
    problems = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        code, name = (request.POST.get("code") or "").strip(), (request.POST.get("name") or "").strip()
        content = upload.read() if upload else b""
        problems = figures.check_template(content) if content else ["请选择 .xlsx 模板文件"]
        if not code or not name:
            problems.append("须填写模板代码与名称")
        elif ReportTemplate.objects.filter(code=code, builtin=True).exists():
            problems.append(f"代码“{code}”为内置模板所用，请换一个")
        if not problems:
            ReportTemplate.objects.update_or_create(code=code, defaults={
                "name": name, "description": (request.POST.get("description") or "")[:200], "content": content,
                "sha256": figures.digest(content), "uploaded_by": request.user})
            record("reports.template", request=request, target=code)
            messages.success(request, _("模板已上传"))
            return redirect("reports")
    return render(request, "reports/home.html", {
        "region": region, "choice": _choice(request, region), "templates": ReportTemplate.objects.all(),
        "reports": [], "can_upload": True, "problems": problems}, status=400 if problems else 200)


@requires(REPORT_TEMPLATES)
def template_download(request, code):
    template = get_object_or_404(ReportTemplate, code=code)
    response = HttpResponse(bytes(template.content),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{template.code}.xlsx"'
    return response
