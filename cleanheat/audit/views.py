import csv
from datetime import datetime

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from cleanheat.access import NOTHING, requires, user_prefix
from cleanheat.accounts.roles import VIEW_AUDIT
from cleanheat.accounts.services import active_throttles

from .models import AuditEvent
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
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/audit_list.html", {
        "page": page, "values": values, "actions": AuditEvent.ACTIONS, "query": query.urlencode(),
        "throttles": active_throttles(request.user)})


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
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


def permission_denied(request, exception=None):
    """403 page in Chinese; every refusal is kept in the audit log."""
    user = getattr(request, "user", None)
    record("denied", request=request, region_code=getattr(user, "region_scope", "") or "",
           target=request.path[:120], detail=str(exception or ""))
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)
