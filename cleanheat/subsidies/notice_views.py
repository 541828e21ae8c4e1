"""Pages of the public notice (公示) and objections (异议): the villages of the year with what
awaits a notice, one village's notices with their lines and objections (publish, record, decide),
and a notice as a printable page and as a PDF (masked names and ID numbers only). Every write goes
through subsidies.notice."""
from datetime import date
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.audit.services import record
from cleanheat.filenames import stamped
from cleanheat.pdf import render_pdf
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import require_in_scope

from . import notice, services, terms
from .models import Objection, ObjectionOutcome, Status


def year_of(request) -> int:
    """The year asked for, else the latest year with entitlements in the user's scope."""
    value = request.GET.get("year", "") or request.POST.get("year", "")
    if value.isascii() and value.isdigit() and 2000 <= int(value) <= 2100:
        return int(value)
    latest = services.entitlements_for(request.user).aggregate(y=Max("year"))["y"]
    return latest or timezone.localdate().year


@requires(roles.SUBSIDIES)
def notices(request):
    user, year = request.user, year_of(request)
    approved = (services.entitlements_for(user).filter(year=year, status=Status.APPROVED)
                .values("village_code").annotate(n=Count("household_id", distinct=True), fen=Sum("amount_fen"))
                .order_by())
    pending = dict(services.entitlements_for(user).filter(year=year, status=Status.APPROVED,
                                                          notice_lines__isnull=True)
                   .values("village_code").annotate(n=Count("household_id", distinct=True))
                   .values_list("village_code", "n").order_by())
    published = {r["village_code"]: r for r in notice.notices_for(user).filter(year=year).values("village_code")
                 .annotate(n=Count("pk"), ends=Max("ends_on")).order_by()}
    open_objections = dict(Objection.objects.filter(line__notice__in=notice.notices_for(user).filter(year=year),
                                                    outcome=ObjectionOutcome.OPEN)
                           .values("line__notice__village_code").annotate(n=Count("pk"))
                           .values_list("line__notice__village_code", "n").order_by())
    rows = {r["village_code"]: {"code": r["village_code"], "households": r["n"], "amount": terms.yuan(r["fen"] or 0),
                                "pending": pending.get(r["village_code"], 0),
                                "notices": published.get(r["village_code"], {}).get("n", 0),
                                "ends": published.get(r["village_code"], {}).get("ends"),
                                "objections": open_objections.get(r["village_code"], 0)} for r in approved}
    names = dict(Region.objects.filter(code__in=list(rows)).values_list("code", "name"))
    listed = sorted(rows.values(), key=lambda r: (-r["pending"], -r["objections"], r["code"]))
    for r in listed:
        r["name"] = names.get(r["code"], r["code"])
    return render(request, "subsidies/notices.html", {"year": year, "villages": listed, "today": timezone.localdate()})


@requires(roles.SUBSIDIES)
def village(request, village_code):
    """One village's notices of the year with their lines and objections; publishing (POST)."""
    user, year = request.user, year_of(request)
    require_in_scope(user, village_code)
    region = Region.objects.filter(code=village_code, level=codes.VILLAGE).first()
    if region is None:
        raise Http404("未找到该村（社区）")
    errors = {}
    if request.method == "POST":
        try:
            published = notice.publish(user, region.code, year, starts_on=_date(request.POST.get("starts_on")),
                                       days=request.POST.get("days", ""))
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, f"已发布公示：{published.lines.count()}户，"
                                      f"{published.starts_on:%Y-%m-%d}至{published.ends_on:%Y-%m-%d}")
            return redirect(f"{reverse('notice_village', args=[region.code])}?year={year}")
    found = list(notice.notices_for(user).filter(village_code=region.code, year=year).order_by("-starts_on", "-pk")
                 .prefetch_related("lines__objections__recorded_by", "lines__objections__decided_by"))
    pending = notice.pending_lines(region.code, year)
    return render(request, "subsidies/notice_village.html", {
        "region": region, "year": year, "notices": found, "today": timezone.localdate(),
        "pending_households": pending.values("household_id").distinct().count(),
        "pending_amount": terms.yuan(pending.aggregate(n=Sum("amount_fen"))["n"] or 0),
        "default_days": notice.period_days(region.code), "errors": errors, "posted": request.POST,
        "outcomes": [(ObjectionOutcome.UPHELD, ObjectionOutcome.UPHELD.label),
                     (ObjectionOutcome.DISMISSED, ObjectionOutcome.DISMISSED.label)]})


def _date(value):
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError({"starts_on": [f"公示开始日期“{text[:20]}”应为日期（如2024-11-05）"]}) from None


def _printed(request, subsidy_notice_id) -> dict:
    found = notice.get_notice(request.user, subsidy_notice_id)
    region = Region.objects.filter(code=found.village_code).first()
    township = Region.objects.filter(code=codes.full_code(found.village_code[:9])).first()
    county = Region.objects.filter(code=codes.full_code(found.village_code[:6])).first()
    lines = list(found.lines.all())
    return {"notice": found, "region": region, "place": " ".join(r.name for r in (county, township, region) if r),
            "lines": lines, "total": terms.yuan(sum(line.amount_fen for line in lines))}


@requires(roles.SUBSIDIES)
def printable(request, subsidy_notice_id):
    return render(request, "subsidies/notice_print.html", _printed(request, subsidy_notice_id))


@requires(roles.SUBSIDIES)
def pdf(request, subsidy_notice_id):
    context = _printed(request, subsidy_notice_id)
    content = render_pdf("subsidies/notice_print.html", context, request=request,
                         stylesheets=["css/notice_print.css"])
    place = context["region"].name if context["region"] else context["notice"].village_code
    record("export", request=request, region_code=context["notice"].village_code,
           target=f"补贴公示PDF：{place}{context['notice'].year}年度", detail=f"{len(context['lines'])}户")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stamped('补贴公示', place, suffix='.pdf'))}"
    return response


@require_POST
@requires(roles.OBJECTION)
def objection_create(request, notice_line_id):
    line = notice.get_line(request.user, notice_line_id)
    back = f"{reverse('notice_village', args=[line.notice.village_code])}?year={line.notice.year}#line-{line.pk}"
    try:
        notice.record_objection(request.user, line.pk, {k: request.POST.get(k, "") for k in
                                                        ("raised_by", "content", "received_on")})
        messages.success(request, f"已登记第{line.position}行（{line.name_masked}）的公示异议，核实处理前不能发放")
    except ValidationError as error:
        messages.error(request, "未登记：" + "；".join(error.messages))
    return redirect(back)


@require_POST
@requires(roles.DECIDE_OBJECTION)
def objection_decide(request, objection_id):
    objection = Objection.objects.filter(pk=objection_id, line__notice__in=notice.notices_for(request.user)) \
        .select_related("line__notice").first() if str(objection_id).isdigit() else None
    if objection is None:
        raise Http404("未找到该异议，或不在您的管辖范围内")
    try:
        decided = notice.decide_objection(request.user, objection.pk, request.POST.get("outcome", ""),
                                          request.POST.get("outcome_note", ""))
        messages.success(request, f"已处理异议：{decided.get_outcome_display()}")
    except ValidationError as error:
        messages.error(request, "未处理：" + "；".join(error.messages))
    line = objection.line
    return redirect(f"{reverse('notice_village', args=[line.notice.village_code])}?year={line.notice.year}"
                    f"#line-{line.pk}")
