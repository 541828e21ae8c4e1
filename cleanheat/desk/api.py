"""JSON API of the desk, mounted on the main API: my to-dos, my notices, marking a notice read."""
from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from cleanheat.access import requires
from cleanheat.accounts import roles

from . import queries, services, todos

router = Router(tags=["工作台 desk"])
LISTED = 100


class TodoOut(Schema):
    kind: str
    text: str
    url: str
    urgent: bool


class NoticeOut(Schema):
    id: int
    title: str
    publisher: str
    published_at: datetime
    unread: bool
    withdrawn: bool
    has_attachment: bool


class NoticeDetailOut(NoticeOut):
    body: str


def _out(notice, unread: set, *, body: bool = False) -> dict:
    out = {"id": notice.pk, "title": notice.title, "publisher": str(notice.publisher),
           "published_at": notice.published_at, "unread": notice.pk in unread,
           "withdrawn": notice.withdrawn_at is not None, "has_attachment": bool(notice.attachment)}
    return {**out, "body": notice.body} if body else out


@router.get("/todos", response=list[TodoOut])
@requires(roles.VIEW)
def my_todos(request):
    """What the signed-in user has to do (the landing page's 待办 panel)."""
    return [t.__dict__ for t in todos.for_user(request.user)]


@router.get("/notices", response=list[NoticeOut])
@requires(roles.VIEW)
def my_notices(request):
    """Notices addressed to my area (newest first) and those my office published."""
    notices = list(queries.visible_notices(request.user, include_withdrawn=True).select_related("publisher")[:LISTED])
    unread = set(queries.unread_notices(request.user).values_list("pk", flat=True))
    return [_out(n, unread) for n in notices]


@router.get("/notices/{notice_id}", response=NoticeDetailOut)
@requires(roles.VIEW)
def notice(request, notice_id: int):
    """One notice with its text (reading it here does not yet count as read: POST …/read)."""
    found = get_object_or_404(queries.visible_notices(request.user, include_withdrawn=True)
                              .select_related("publisher"), pk=notice_id)
    unread = set(queries.unread_notices(request.user).filter(pk=found.pk).values_list("pk", flat=True))
    return _out(found, unread, body=True)


@router.post("/notices/{notice_id}/read", response=NoticeOut)
@requires(roles.VIEW)
def mark_read(request, notice_id: int):
    """Record my read receipt for a notice addressed to my area."""
    found = get_object_or_404(queries.addressed_notices(request.user).select_related("publisher"), pk=notice_id)
    services.mark_read(found, user=request.user)
    return _out(found, set())
