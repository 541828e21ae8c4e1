import tempfile
from urllib.parse import urlencode
from collections import defaultdict
from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cleanheat.access import has_perm, requires
from cleanheat.accounts.roles import EDIT, EXPORT, MANAGE_USERS, VIEW
from cleanheat.audit.services import record
from cleanheat.inspections import approvals
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import require_in_scope, user_prefix

from . import dashboard, dispatch, exports, services, years
from .models import CountyPlan, DispatchReport


def current_plan(city_code: str, request=None):
    """The plan a page works on: ?year= (kept through its forms' posts), else the latest."""
    plans = years.plans_of(city_code)
    wanted = request.GET.get("year", "") if request is not None else ""
    return next((p for p in plans if str(p.year) == wanted), plans[0] if plans else None)


def _year_query(request, plan) -> str:
    """"?year=…" for links from a page on a plan other than the latest, else ""."""
    return f"?year={plan.year}" if request.GET.get("year") == str(plan.year) else ""


def _again(request, name, **kwargs):
    """Back to the page after a post, on the same plan year."""
    response = redirect(name, **kwargs)
    if request.GET.get("year", "").isdigit():
        response["Location"] += "?" + urlencode({"year": request.GET["year"]})
    return response


def _choice(request, region: Region) -> years.Choice:
    return years.choose(request.GET, codes.full_code(region.code[:4]))


@requires(VIEW)
def progress_page(request, code):
    region = _scoped(request, code)
    choice = _choice(request, region)
    path = request.GET.get("path") if request.GET.get("path") in HeatingPath.values else None
    rows = dashboard.progress_rows(region, choice.plan, choice.on, path)
    ancestors = [a for a in region.ancestors() if a.code.startswith(user_prefix(request.user))]
    return render(request, "plan/progress.html", {
        "region": region, "ancestors": ancestors, "plan": choice.plan, "choice": choice, "rows": rows,
        "on": choice.on, "path": path, "paths": HeatingPath.choices, "states": LifecycleState.choices,
        "behind": [r for r in rows if r["behind"] and not r.get("outcome")],
    })


@requires(VIEW)
def dashboard_page(request, code=None):
    """City dashboard (and the same for a county or township when drilling down)."""
    prefix = user_prefix(request.user)
    code = code or codes.full_code(prefix or "1409")
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    if region.level == codes.VILLAGE:
        return redirect("region", code=region.code)
    choice = _choice(request, region)
    plan = choice.plan
    approved_only = request.GET.get("approved") == "1"
    # approved figures only (issue #18 part 6): the child units whose ledger the level above confirmed
    approved = approvals.approved_codes(choice.year, [c.code for c in region.children.all()]) \
        if approved_only else None
    query = "&".join(q for q in (choice.query, "approved=1" if approved_only else "") if q)
    data = {**dashboard.build(region, plan, choice.on, approved), "query": query, "year": choice.year}
    ancestors = [a for a in region.ancestors() if a.code.startswith(prefix)]
    return render(request, "plan/dashboard.html", {
        "region": region, "ancestors": ancestors, "plan": plan, "data": data, "choice": choice,
        "approved_only": approved_only, "toggle_query": "&".join(q for q in (choice.query, "" if approved_only
                                                                               else "approved=1") if q),
        "years": dashboard.years_summary(region, choice.plans, choice.on)
        if region.level == codes.CITY and len(choice.plans) > 1 else [],
        "map_script": plan.map_script if plan and region.level == codes.CITY else "",
    })


def _xlsx_response(writer, filename):
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    tmp.close()
    writer(tmp.name)
    return FileResponse(open(tmp.name, "rb"), as_attachment=True, filename=filename)


def _date_param(request) -> date:
    """?date=YYYY-MM-DD, or today when absent or not a date."""
    try:
        return date.fromisoformat(request.GET["date"]) if request.GET.get("date") else timezone.localdate()
    except ValueError:
        return timezone.localdate()


def _scoped(request, code) -> Region:
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    return region


@requires(EXPORT)
def export_progress(request, code):
    region = _scoped(request, code)
    choice = _choice(request, region)
    plan, on = choice.plan, choice.on
    rows = dashboard.progress_rows(region, plan, on, None)
    record("export", request=request, region_code=region.code, target=f"进度表：{region.name}")
    return _xlsx_response(lambda p: exports.write_progress(p, rows, region, on), f"改造进度-{region.name}-{on:%Y%m%d}.xlsx")


@requires(EXPORT)
def export_dispatch_table(request, code):
    region = _scoped(request, code)
    choice = _choice(request, region)
    plan, on = choice.plan, choice.on
    record("export", request=request, region_code=region.code, target=f"调度表：{region.name}")
    return _xlsx_response(lambda p: exports.write_dispatch_table(p, region, plan, on),
                          f"调度表-{region.name}-{on:%Y%m%d}.xlsx")


def _visible_reports(user):
    prefix = user_prefix(user)
    reports = DispatchReport.objects.select_related("submitted_by", "returned_by")
    return reports.filter(county_code__startswith=prefix[:6]) if len(prefix) <= 6 else reports.none()


@requires(VIEW)
def dispatch_page(request):
    prefix = user_prefix(request.user)
    plan = current_plan(codes.full_code(prefix[:4] or "1409"), request)
    if plan is None:
        raise Http404("没有年度计划")
    start, end = dispatch.cycle_of(plan, _date_param(request))
    context = {"plan": plan, "start": start, "end": end, "help_choices": DispatchReport.HELP_CHOICES,
               "reviewer": dispatch.can_review(request.user)}
    if len(prefix) == 6:  # a county reports
        county = get_object_or_404(Region, code=codes.full_code(prefix))
        if request.method == "POST":
            try:
                dispatch.submit(plan, prefix, user=request.user, problems=request.POST.get("problems", ""),
                                help_needed=request.POST.getlist("help_needed"),
                                responsible_person=request.POST.get("responsible_person", ""))
                messages.success(request, "调度报告已报送")
                return _again(request, "dispatch")
            except ValidationError as error:
                for msgs in error.message_dict.values():
                    for msg in msgs:
                        messages.error(request, msg)
        context.update(county=county, figures=dispatch.figures(plan, prefix, timezone.localdate()),
                       history=_visible_reports(request.user).filter(plan=plan)[:50])
    else:
        counties = [c for c in Region.objects.filter(level=codes.COUNTY).order_by("code") if c.code.startswith(prefix[:4])]
        context["board"] = dispatch.status_board(plan, start, counties)
    return render(request, "plan/dispatch.html", context)


@requires(VIEW)
def dispatch_report(request, report_id):
    report = get_object_or_404(_visible_reports(request.user), pk=report_id)
    if request.method == "POST":
        try:
            dispatch.return_report(report, user=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, "已退回，县级可修改后重新报送")
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, "；".join(sum(error.message_dict.values(), [])) if hasattr(error, "message_dict") else str(error))
        return redirect("dispatch_report", report_id=report.pk)
    versions = DispatchReport.objects.filter(plan=report.plan, county_code=report.county_code,
                                             period_start=report.period_start).order_by("version")
    county = Region.objects.filter(code=codes.full_code(report.county_code)).first()
    return render(request, "plan/dispatch_report.html", {
        "report": report, "versions": versions, "county": county, "reviewer": dispatch.can_review(request.user),
        "help_labels": [str(dict(DispatchReport.HELP_CHOICES).get(h, h)) for h in report.help_needed]})


@requires(VIEW)
def plan_page(request):
    """The year's plan: milestones, each county's targets, deadline and schedule status;
    the city office edits targets here (every edit is kept with its reason)."""
    prefix = user_prefix(request.user)
    plan = current_plan(codes.full_code(prefix[:4] or "1409"), request)
    if plan is None:
        raise Http404("没有年度计划")
    if request.method == "POST":
        cp = get_object_or_404(CountyPlan, plan=plan, county_code=request.POST.get("county", ""))
        try:
            services.set_target(cp, request.POST.get("path", ""), request.POST.get("households", ""),
                                user=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, "目标已修改，月度计划已按新目标重排")
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, "；".join(sum(error.message_dict.values(), [])) if hasattr(error, "message_dict") else str(error))
        return _again(request, "plan")
    names = dict(Region.objects.filter(level=codes.COUNTY).values_list("code", "name"))
    counties = []
    for cp in plan.counties.prefetch_related("targets").order_by("county_code"):
        if not cp.county_code.startswith(prefix[:6]) and not cp.county_code.ljust(12, "0").startswith(prefix):
            continue
        targets = {t.heating_path: t.households for t in cp.targets.all()}
        counties.append({"cp": cp, "name": names.get(codes.full_code(cp.county_code), cp.county_code),
                         "targets": [targets.get(p, 0) for p in HeatingPath.values[:4]], "total": sum(targets.values())})
    return render(request, "plan/plan.html", {
        "plan": plan, "plans": years.plans_of(plan.city_code), "year_query": _year_query(request, plan), "counties": counties, "paths": HeatingPath.choices[:4], "changes": plan.changes.select_related("user")[:50],
        "milestones": dashboard.milestones(plan, timezone.localdate()), "reviewer": dispatch.can_review(request.user)})


@requires(VIEW)
def schedule_page(request, county_code):
    prefix = user_prefix(request.user)
    plan = current_plan(codes.full_code(prefix[:4] or "1409"), request)
    cp = get_object_or_404(CountyPlan, plan=plan, county_code=county_code)
    require_in_scope(request.user, cp.county_code.ljust(12, "0"))
    if request.method == "POST":
        action = request.POST.get("action")
        version = request.POST.get("version") or None  # of the schedule the page showed
        try:
            if action == "save":
                values = {}
                for e in cp.schedule.all():
                    key = f"{e.heating_path}|{e.checkpoint:%Y-%m-%d}"
                    values[(e.heating_path, e.checkpoint)] = (int(request.POST.get(f"i|{key}", e.installed)),
                                                              int(request.POST.get(f"a|{key}", e.accepted)))
                services.save_schedule(cp, values, user=request.user, expected_version=version)
                messages.success(request, "月度计划已保存")
            elif action == "capacity":
                services.set_capacity(cp, request.POST.get("monthly_capacity", ""), user=request.user,
                                      expected_version=version)
                messages.success(request, "已按月施工能力重新生成月度计划")
            elif action == "submit":
                services.submit_schedule(cp, user=request.user, expected_version=version)
                messages.success(request, "月度计划已报送市清洁取暖办")
            elif action in ("approve", "return"):
                services.review_schedule(cp, user=request.user, approve=action == "approve", note=request.POST.get("note", ""))
                messages.success(request, "已审核")
        except ValueError:
            messages.error(request, "累计户数应为整数")
        except (ValidationError, PermissionDenied) as error:
            for msg in (sum(error.message_dict.values(), []) if hasattr(error, "message_dict") else [str(error)]):
                messages.error(request, msg)
        return _again(request, "schedule", county_code=cp.county_code)
    rows = defaultdict(list)
    for e in cp.schedule.order_by("checkpoint", "heating_path"):
        rows[e.checkpoint].append(e)
    county = Region.objects.filter(code=codes.full_code(cp.county_code)).first()
    return render(request, "plan/schedule.html", {
        "plan": plan, "cp": cp, "county": county, "rows": sorted(rows.items()), "version": services.schedule_version(cp),
        "paths": [HeatingPath(t.heating_path) for t in cp.targets.order_by("heating_path")],
        "editable": cp.schedule_status in ("draft", "returned") and has_perm(request.user, EDIT)
        and len(prefix) >= 6, "reviewer": dispatch.can_review(request.user)})


@requires(VIEW)
def township_targets_page(request, county_code):
    """A county's targets broken down to its townships: the county administrator edits them (every
    change kept), or leaves them in proportion to households confirmed in each township."""
    plan = current_plan(codes.full_code(county_code[:4]), request)
    cp = get_object_or_404(CountyPlan, plan=plan, county_code=county_code)
    require_in_scope(request.user, cp.county_code.ljust(12, "0"))
    if request.method == "POST":
        version = request.POST.get("version") or None
        try:
            if request.POST.get("action") == "reset":
                services.reset_township_targets(cp, user=request.user, expected_version=version)
                messages.success(request, _("已恢复按确村确户户数比例分解"))
            else:
                values = {tuple(key.split("|")[1:]): value for key, value in request.POST.items()
                          if key.startswith("t|") and key.count("|") == 2}
                n = services.set_township_targets(cp, values, user=request.user, expected_version=version,
                                                  reason=request.POST.get("reason", ""))
                messages.success(request, _("乡镇目标已保存，%(n)s 项变更") % {"n": n})
        except (ValidationError, PermissionDenied) as error:
            for msg in (sum(error.message_dict.values(), []) if hasattr(error, "message_dict") else [str(error)]):
                messages.error(request, msg)
        return _again(request, "township_targets", county_code=cp.county_code)
    county = get_object_or_404(Region, code=codes.full_code(cp.county_code))
    split = services.township_breakdown(cp)
    paths = [HeatingPath(t.heating_path) for t in cp.targets.order_by("heating_path")]
    rows = [{"region": t, "cells": [(p, split.get(t.prefix, {}).get(p.value, 0)) for p in paths]}
            for t in county.children.order_by("code")]
    totals = [sum(r["cells"][i][1] for r in rows) for i in range(len(paths))]
    return render(request, "plan/township_targets.html", {
        "plan": plan, "cp": cp, "county": county, "paths": paths, "rows": rows, "totals": totals,
        "county_targets": [cp.targets.get(heating_path=p.value).households for p in paths],
        "stated": cp.township_targets.exists(), "version": services.township_version(cp),
        "editable": has_perm(request.user, MANAGE_USERS)})
