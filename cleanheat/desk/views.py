"""The desk's pages: notices (list, publish, read, withdraw, attachment), the 催报 button's post,
and the panel's links that remember what the user has looked at. Thin: services do the writes."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cleanheat.access import requires, user_prefix
from cleanheat.accounts.roles import MANAGE_USERS, VIEW
from cleanheat.jobs.models import Job
from cleanheat.plan.views import current_plan
from cleanheat.regions import codes

from . import queries, services, todos

PAGE = 100


def _errors(request, error) -> None:
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        for msgs in error.message_dict.values():
            for msg in msgs:
                messages.error(request, msg)
    else:
        messages.error(request, "；".join(getattr(error, "messages", None) or [str(error)]))


@requires(VIEW)
def notice_list(request):
    notices = list(queries.visible_notices(request.user, include_withdrawn=True)
                   .select_related("publisher")[:PAGE])
    unread = set(queries.unread_notices(request.user).filter(pk__in=[n.pk for n in notices])
                 .values_list("pk", flat=True))
    return render(request, "desk/notices.html", {
        "rows": [{"notice": n, "unread": n.pk in unread, "manages": queries.manages(request.user, n)} for n in notices],
        "may_publish": todos.manages_units(request.user)})


@requires(MANAGE_USERS)
def notice_create(request):
    if not todos.manages_units(request.user):
        raise PermissionDenied("通知公告由市、县、乡级管理员在本辖区内发布")
    units = queries.audience_units(user_prefix(request.user))
    form = {"title": "", "body": "", "audience": "all", "units": []}
    if request.method == "POST":
        audience = "all" if request.POST.get("audience") == "all" else request.POST.getlist("units")
        form = {"title": request.POST.get("title", ""), "body": request.POST.get("body", ""),
                "audience": request.POST.get("audience", ""), "units": request.POST.getlist("units")}
        try:
            notice = services.publish(user=request.user, title=form["title"], body=form["body"], audience=audience,
                                      attachment=request.FILES.get("attachment"))
            messages.success(request, _("通知公告已发布"))
            return redirect("notice", notice_id=notice.pk)
        except ValidationError as error:
            _errors(request, error)
    return render(request, "desk/notice_form.html", {"form": form, "units": units})


@requires(VIEW)
def notice_page(request, notice_id):
    notice = get_object_or_404(queries.visible_notices(request.user, include_withdrawn=True)
                               .select_related("publisher", "withdrawn_by"), pk=notice_id)
    manages = queries.manages(request.user, notice)
    if request.method == "POST":
        try:
            services.withdraw(notice, user=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("通知公告已撤回"))
        except (ValidationError, PermissionDenied) as error:
            _errors(request, error)
        return redirect("notice", notice_id=notice.pk)
    if not notice.withdrawn_at and notice.publisher_id != request.user.pk and \
            queries.addressed_notices(request.user).filter(pk=notice.pk).exists():
        services.mark_read(notice, user=request.user)
    context = {"notice": notice, "manages": manages}
    if manages:
        receipts = queries.read_receipts(notice)
        context.update(receipts=receipts, read_total=sum(len(r["read"]) for r in receipts),
                       unread_total=sum(len(r["unread"]) for r in receipts),
                       audience_names=_audience_names(notice))
    return render(request, "desk/notice.html", context)


def _audience_names(notice) -> list[str]:
    names = {r.prefix: r.name for r in queries.audience_units(notice.publisher_scope)}
    return ["全部" if p == notice.publisher_scope else names.get(p, p)
            for p in notice.audience.values_list("prefix", flat=True)]


@requires(VIEW)
def notice_attachment(request, notice_id):
    notice = get_object_or_404(queries.visible_notices(request.user, include_withdrawn=True), pk=notice_id)
    if not notice.attachment:
        raise Http404("未找到")
    return FileResponse(notice.attachment.open("rb"), as_attachment=True,
                        filename=notice.attachment_name or notice.attachment.name.rsplit("/", 1)[-1])


@require_POST
@requires(MANAGE_USERS)
def remind(request):
    plan = current_plan(codes.full_code(user_prefix(request.user)[:4] or "1409"))
    if plan is None:
        raise Http404("没有年度计划")
    try:
        reminder, created = services.remind(plan, request.POST.get("county", ""), user=request.user,
                                            message=request.POST.get("message", ""))
        if created:
            messages.success(request, _("已催报，该县业务人员登录后在待办中可见"))
        else:
            messages.info(request, _("已于%(time)s催报过，请勿重复催报") % {
                "time": f"{timezone.localtime(reminder.created_at):%H:%M}"})
    except (ValidationError, PermissionDenied) as error:
        _errors(request, error)
    return redirect("dispatch")


@requires(VIEW)
def open_job(request, job_id):
    """A finished job from the panel: remembered as seen, then its page."""
    job = get_object_or_404(Job, pk=job_id, user=request.user)
    services.mark_seen(request.user, f"job:{job.pk}")
    return redirect("job", job_id=job.pk)


@requires(VIEW)
def open_breaches(request):
    """The compliance page from the panel: the current breaches are remembered as seen (when known
    without a city-wide scan here; the compliance page computes its own)."""
    region = todos.own_region(user_prefix(request.user))
    if region is None:
        raise Http404("未找到")
    keys = todos.breach_keys(region)
    if keys is not None:
        services.mark_seen(request.user, f"breaches:{region.prefix}", {"keys": sorted(keys)})
    return redirect("compliance", code=region.code)
