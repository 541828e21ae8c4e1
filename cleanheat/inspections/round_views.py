"""Pages of inspection rounds (samples, draws), findings (rectification, overdue list, notice)."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, requires, scope_filter
from cleanheat.accounts import roles
from cleanheat.regions.scope import user_prefix

from . import approvals, findings, notice, rounds
from .models import Finding, InspectionKind, InspectionRound, LedgerApproval


def _rounds(user):
    return scope_filter(InspectionRound.objects.all(), user, "region_code")


def _round(user, round_id) -> InspectionRound:
    found = _rounds(user).filter(pk=round_id).first()
    if found is None:
        raise Http404("未找到")
    return found


def _finding(user, finding_id) -> Finding:
    found = findings.findings_for(user).select_related("household", "round").filter(pk=finding_id).first()
    if found is None:
        raise Http404("未找到")
    return found


@requires(roles.VIEW)
def round_list(request):
    return render(request, "inspections/round_list.html", {
        "rounds": _rounds(request.user)[:100], "kinds": [k for k in InspectionKind if k != InspectionKind.ACCEPTANCE],
        "scope": (user_prefix(request.user) or "1409").ljust(12, "0"), "year": timezone.localdate().year,
        "can_inspect": has_perm(request.user, roles.INSPECT)})


@require_POST
@requires(roles.INSPECT)
def round_create(request):
    post = request.POST
    try:
        year = int(post.get("year") or 0)
        round_ = rounds.create_round(kind=post.get("kind", ""), region_code=post.get("region_code", ""), year=year,
                                     name=post.get("name", ""), user=request.user,
                                     exclude_previous=post.get("exclude_previous") == "on")
    except (ValueError, ValidationError) as error:
        for m in getattr(error, "messages", [str(error)]):
            messages.error(request, m)
        return redirect("inspection_rounds")
    messages.success(request, f"已抽取 {round_.samples.count()} 户")
    return redirect("inspection_round", round_id=round_.pk)


@requires(roles.VIEW)
def round_page(request, round_id):
    round_ = _round(request.user, round_id)
    samples = scope_filter(round_.samples.select_related("household"), request.user, "region_code")[:500]
    return render(request, "inspections/round.html", {"round": round_, "samples": samples,
                                                      "draws": round_.draws.select_related("drawn_by")})


@require_POST
@requires(roles.INSPECT)
def round_redraw(request, round_id):
    round_ = _round(request.user, round_id)
    try:
        size = rounds.redraw(round_, reason=request.POST.get("reason", ""), user=request.user)
    except ValidationError as error:
        for m in error.messages:
            messages.error(request, m)
    else:
        messages.success(request, f"已重新抽取 {size} 户")
    return redirect("inspection_round", round_id=round_.pk)


@requires(roles.VIEW)
def finding_dashboard(request):
    today = timezone.localdate()
    counties = findings.per_county(request.user, today)
    names = notice.county_names([r["county"] for r in counties])
    return render(request, "inspections/findings.html", {
        "counties": [{**r, "name": names.get(r["county"], r["county"])} for r in counties],
        "overdue": findings.overdue(request.user, today, limit=300), "today": today})


@requires(roles.VIEW)
def finding_notice(request):
    today = timezone.localdate()
    data = notice.workbook(findings.per_county(request.user, today), findings.overdue(request.user, today),
                           title=f"督导检查发现问题整改情况通报（截至{today.isoformat()}）")
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="findings-{today.isoformat()}.xlsx"'
    return response


@requires(roles.VIEW)
def finding_page(request, finding_id):
    finding = _finding(request.user, finding_id)
    return render(request, "inspections/finding.html", {"finding": finding, "steps": finding.steps.all(),
                                                        "today": timezone.localdate()})


def _act(request, finding_id, action):
    finding = _finding(request.user, finding_id)
    try:
        action(finding)
    except ValidationError as error:
        for m in error.messages:
            messages.error(request, m)
    else:
        messages.success(request, "已保存")
    return redirect("finding", finding_id=finding.pk)


@require_POST
@requires(roles.INSPECT)
def finding_rectify(request, finding_id):
    return _act(request, finding_id, lambda f: findings.rectify(
        f, note=request.POST.get("note", ""), evidence=request.FILES.getlist("evidence"), user=request.user))


@require_POST
@requires(roles.INSPECT)
def finding_close(request, finding_id):
    return _act(request, finding_id, lambda f: findings.close(f, note=request.POST.get("note") or "复核合格",
                                                              user=request.user))


@require_POST
@requires(roles.INSPECT)
def finding_reopen(request, finding_id):
    return _act(request, finding_id, lambda f: findings.reopen(f, note=request.POST.get("note", ""), user=request.user))


@requires(roles.VIEW)
def approvals_page(request):
    """The units one level below the user's own, with their confirmation for the year."""
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    own = user_prefix(request.user) or "1409"
    prefix = own if len(own) in approvals.BELOW else None
    units = approvals.status(year, prefix) if prefix else []
    own_code = own.ljust(12, "0") if prefix else None
    mine = LedgerApproval.objects.filter(year=year, region_code=own_code).first() if own_code else None
    return render(request, "inspections/approvals.html", {"year": year, "units": units, "own_code": own_code,
                                                          "own": mine})


@require_POST
@requires(roles.CONFIRM)
def approval_act(request):
    post = request.POST
    try:
        year = int(post.get("year") or 0)
        code = post.get("region_code", "")
        if not (code.isdigit() and len(code) == 12):
            raise ValidationError({"region_code": ["区划代码应为12位数字"]})
        if post.get("action") == "reopen":
            opened = approvals.reopen(year, code, reason=post.get("reason", ""), user=request.user)
            messages.success(request, f"已重新打开：{'、'.join(opened)}")
        else:
            approvals.approve(year, code, user=request.user)
            messages.success(request, "已确认，数据已锁定")
    except (ValueError, ValidationError) as error:
        for m in getattr(error, "messages", [str(error)]):
            messages.error(request, m)
    return redirect(f"{reverse('approvals')}?year={post.get('year', '')}")
