import csv
from datetime import datetime

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header

from cleanheat.access import NOTHING, in_scope, requires, scope_filter, user_prefix
from cleanheat.accounts.roles import VIEW_AUDIT
from cleanheat.accounts.services import active_throttles
from cleanheat.filenames import stamped
from cleanheat.regions.codes import full_code
from cleanheat.regions.models import Region

from .models import AuditEvent, DuplicateAttempt
from .services import record


def scoped_events(request):
    """Events of the administrator's area: those whose region lies inside their scope."""
    prefix = user_prefix(request.user)
    events = AuditEvent.objects.select_related("user")
    if prefix == NOTHING:
        events = events.none()
    elif prefix:
        events = events.filter(region_code__startswith=prefix)
    values = {k: request.GET.get(k, "").strip() for k in ("action", "user", "date_from", "date_to", "target")}
    if values["action"]:
        events = events.filter(action=values["action"])
    if values["user"]:
        events = events.filter(username__contains=values["user"])
    if values["target"]:
        events = events.filter(target__contains=values["target"])
    for key, lookup in (("date_from", "at__date__gte"), ("date_to", "at__date__lte")):
        try:
            events = events.filter(**{lookup: datetime.strptime(values[key], "%Y-%m-%d").date()})
        except ValueError:
            values[key] = ""
    return events, values


@requires(VIEW_AUDIT)
def audit_list(request):
    events, values = scoped_events(request)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    page.object_list = _named(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/audit_list.html", {
        "page": page, "values": values, "actions": AuditEvent.ACTIONS, "query": query.urlencode(),
        "throttles": active_throttles(request.user)})


@requires(VIEW_AUDIT)
def duplicate_list(request):
    """Refused attempts to make someone householder who already heads a household in another area:
    each row is seen by the administrators of both areas and by the city, but the village and the
    household number of a side only by those whose area holds it."""
    attempts = scope_filter(DuplicateAttempt.objects.select_related("user"), request.user,
                            "region_code", "other_region_code")
    page = Paginator(attempts, 100).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    codes = {c for a in page.object_list for c in (a.region_code, a.other_region_code)}
    codes |= {full_code(c[:6]) for c in codes}
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    for a in page.object_list:
        a.place = _place(request.user, a.region_code, names)
        a.other_place = _place(request.user, a.other_region_code, names)
        a.other_no = a.other_household_no if in_scope(request.user, a.other_region_code) else ""
    return render(request, "audit/duplicate_list.html", {"page": page})


def _named(events):
    """Each event with the name of the region it concerns (its code may be a prefix: 140902)."""
    wanted = {full_code(e.region_code) for e in events if e.region_code.isdigit() and len(e.region_code) <= 12}
    names = dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
    for e in events:
        e.region_name = names.get(full_code(e.region_code), "") if e.region_code.isdigit() else ""
    return events


def _place(user, code, names) -> str:
    """The county always; its village too when the viewer's area holds it."""
    county = names.get(full_code(code[:6]), code[:6])
    return f"{county} {names.get(code, code)}" if in_scope(user, code) else county


def _area_name(prefix: str) -> str:
    """The administrator's area by name (the city for a city-wide one)."""
    code = full_code(prefix) if prefix and prefix.isdigit() else ""
    names = Region.objects.filter(code=code) if code else Region.objects.filter(level=1).order_by("code")
    return names.values_list("name", flat=True).first() or "全部"


class _Echo:
    def write(self, value):
        return value


@requires(VIEW_AUDIT)
def audit_export(request):
    """CSV (UTF-8 with BOM so Excel opens it), streamed row by row."""
    events, values = scoped_events(request)
    record("export", request=request, region_code=user_prefix(request.user), target="审计记录",
           detail=str({k: v for k, v in values.items() if v}))
    writer = csv.writer(_Echo())
    labels = dict(AuditEvent.ACTIONS)

    def rows():
        yield "\ufeff" + writer.writerow(["时间", "用户名", "来源地址", "事件", "涉及区划", "对象", "详情"])
        for e in events.iterator(chunk_size=2000):
            yield writer.writerow([timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), e.username, e.ip or "",
                                   labels.get(e.action, e.action), e.region_code, e.target, e.detail])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, stamped("安全审计", _area_name(user_prefix(request.user)), suffix=".csv"))
    return response


def permission_denied(request, exception=None):
    """403 page in Chinese; every refusal is kept in the audit log."""
    user = getattr(request, "user", None)
    record("denied", request=request, region_code=getattr(user, "region_scope", "") or "",
           target=request.path[:120], detail=str(exception or ""))
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)
