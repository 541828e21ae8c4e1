"""The 待办 panel: what a user has to do, computed from the data of their own area on each visit.

Every item is a few indexed, scoped queries (the user's county's reports and reminders, their own
jobs, notices addressed to their area); rule breaches are read from the cached compliance scan and
computed only for an area small enough to count at once (never a city-wide scan per request).
"New" breaches are those not among the ones the user had when they last opened the compliance page
from the panel (their keys are kept in a Seen mark)."""
from dataclasses import dataclass
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cleanheat.access import NOTHING, has_perm, user_prefix
from cleanheat.accounts.roles import EDIT, MANAGE_USERS, VIEW
from cleanheat.jobs.models import Job
from cleanheat.ledger.rollup import slow_to_count
from cleanheat.plan import dispatch
from cleanheat.plan.models import CountyPlan, DispatchReport
from cleanheat.plan.views import current_plan
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.rules import compliance

from . import queries
from .models import Reminder, Seen

JOB_DAYS = 7                  # finished jobs stay on the list this long unless opened
JOB_FINISHED = ("done", "refused", "failed")
NOTICES_LISTED = 5


@dataclass
class Todo:
    kind: str          # dispatch / reminder / schedule / breaches / job / notice / review
    text: str
    url: str
    urgent: bool = False


def for_user(user) -> list[Todo]:
    prefix = user_prefix(user)
    if prefix == NOTHING or not has_perm(user, VIEW):
        return []
    items = []
    plan = current_plan(codes.full_code(prefix[:4] or "1409"))
    if plan is not None and len(prefix) == 6 and has_perm(user, EDIT):
        items += _county_dispatch(plan, prefix) + _schedule_returned(plan, prefix)
    if plan is not None and dispatch.can_review(user):
        items += _reviewer(plan, prefix)
    items += _notices(user) + _jobs(user) + _breaches(user, prefix)
    return sorted(items, key=lambda t: not t.urgent)


def _county_dispatch(plan, county) -> list[Todo]:
    today = timezone.localdate()
    start, end = dispatch.cycle_of(plan, today)
    reports = {}
    for r in DispatchReport.objects.filter(plan=plan, county_code=county, period_start__gte=start - timedelta(
            days=plan.dispatch_every_days or 7)).order_by("period_start", "version"):
        reports[r.period_start] = r
    items, url = [], reverse("dispatch")
    current = reports.get(start)
    if current is None or current.status == "returned":
        reminders = list(Reminder.objects.filter(unit_code=county, period_start=start, plan=plan)
                         .select_related("created_by")[:3])
        if current is not None:
            reminders = [r for r in reminders if r.created_at > current.returned_at]
        for reminder in reminders:
            note = f"：{reminder.message}" if reminder.message else ""
            items.append(Todo("reminder", _("市级催报本期调度报告（%(who)s，%(when)s）%(note)s") % {
                "who": reminder.created_by, "when": f"{timezone.localtime(reminder.created_at):%m-%d %H:%M}",
                "note": note}, url, True))
        if current is None:
            items.append(Todo("dispatch", _("本期调度报告待报送（%(start)s至%(end)s）") % {
                "start": f"{start:%m-%d}", "end": f"{end:%m-%d}"}, url, bool(reminders)))
        else:
            items.append(Todo("dispatch", _("调度报告已被退回，请修改后重新报送：%(reason)s") % {"reason": current.return_reason},
                              reverse("dispatch_report", args=[current.pk]), True))
    previous = start - timedelta(days=plan.dispatch_every_days or 7)
    if previous >= plan.works_start and previous not in reports:
        items.append(Todo("dispatch", _("上期调度报告（%(start)s起）未报送，已逾期") % {"start": f"{previous:%m-%d}"}, url, True))
    return items


def _schedule_returned(plan, county) -> list[Todo]:
    cp = CountyPlan.objects.filter(plan=plan, county_code=county, schedule_status="returned").first()
    if cp is None:
        return []
    return [Todo("schedule", _("月度计划被市级退回：%(note)s") % {"note": cp.schedule_review_note or _("请修改后重新报送")},
                 reverse("schedule", args=[county]), True)]


def _reviewer(plan, prefix) -> list[Todo]:
    start, _end = dispatch.cycle_of(plan, timezone.localdate())
    counties = Region.objects.filter(level=codes.COUNTY, code__startswith=prefix[:4]).count()
    latest = {}
    for county, returned in DispatchReport.objects.filter(plan=plan, period_start=start) \
            .order_by("county_code", "version").values_list("county_code", "returned_at"):
        latest[county] = returned
    submitted = sum(1 for returned in latest.values() if returned is None)
    items = []
    if counties - submitted:
        items.append(Todo("review", _("本期有%(n)s个县（市、区）未报送调度报告，可催报") % {"n": counties - submitted},
                          reverse("dispatch")))
    waiting = CountyPlan.objects.filter(plan=plan, schedule_status="submitted").count()
    if waiting:
        items.append(Todo("review", _("%(n)s个县（市、区）的月度计划待审核") % {"n": waiting}, reverse("plan")))
    return items


def _notices(user) -> list[Todo]:
    unread = list(queries.unread_notices(user).order_by("-published_at")[:NOTICES_LISTED + 1])
    items = [Todo("notice", _("未读通知公告：%(title)s") % {"title": n.title}, reverse("notice", args=[n.pk]), True)
             for n in unread[:NOTICES_LISTED]]
    if len(unread) > NOTICES_LISTED:
        items.append(Todo("notice", _("更多未读通知公告"), reverse("notices")))
    return items


def _jobs(user) -> list[Todo]:
    recent = list(Job.objects.filter(user=user, created_at__gte=timezone.now() - timedelta(days=JOB_DAYS),
                                     status__in=("previewed",) + JOB_FINISHED).order_by("-created_at")[:20])
    seen = set(Seen.objects.filter(user=user, key__in=[f"job:{j.pk}" for j in recent]).values_list("key", flat=True))
    items = []
    for job in recent:
        name = f"{job.get_kind_display()}{('：' + job.filename) if job.filename else ''}"
        if job.status == "previewed":
            items.append(Todo("job", _("%(job)s 已预检，待确认写入") % {"job": name}, reverse("job", args=[job.pk]), True))
        elif f"job:{job.pk}" not in seen:
            items.append(Todo("job", f"{name} {job.get_status_display()}", reverse("desk_open_job", args=[job.pk]),
                              job.status == "failed"))
    return items


def breach_keys(region: Region) -> set[str] | None:
    """Keys of the current breaches (not warnings) in the area: from the cached compliance scan, or
    scanned now when the area is small enough to count at once; None when neither."""
    found = compliance.findings(region.prefix, only_if_cached=True)
    if found is None and not slow_to_count(region):
        found = compliance.findings(region.prefix)
    if found is None:
        return None
    return {f"{f.rule}:{f.household_id}" for f in found if f.severity == "breach"}


def own_region(prefix: str) -> Region | None:
    return Region.objects.filter(code=codes.full_code(prefix or "1409")).first()


def _breaches(user, prefix) -> list[Todo]:
    region = own_region(prefix)
    keys = breach_keys(region) if region is not None else None
    if not keys:
        return []
    mark = Seen.objects.filter(user=user, key=f"breaches:{region.prefix}").first()
    new = keys - set(mark.data.get("keys", []) if mark else [])
    if not new:
        return []
    return [Todo("breaches", _("辖区内新增违规%(new)s条（共%(all)s条），请核查") % {"new": len(new), "all": len(keys)},
                 reverse("desk_open_breaches"), True)]


def manages_units(user) -> bool:
    return has_perm(user, MANAGE_USERS) and len(user_prefix(user)) in queries.UNIT_BELOW
