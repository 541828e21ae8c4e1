"""Pages of the hotline (热线工单): the ticket list, the operator's form (a phone number finds the
household), the ticket page with its deadlines, history, photos and actions, the repair engineer's
phone page (my open tickets, nearest first), photos served in scope. Thin: services do the writes."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, requires
from cleanheat.accounts import roles
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household

from . import queries, services
from .models import (
    OPEN_STATUSES,
    Category,
    CauseCode,
    Severity,
    SlaStatus,
    Source,
    Status,
    TicketPhoto,
)

PAGE = 50
WORK_ACTIONS = ("accept", "arrive", "not_home", "resolve")


def _say(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@requires(roles.SERVICE_VIEW)
def ticket_list(request):
    if request.user.role in queries.TEAM_ROLES and not request.GET:
        return redirect("service_mine")
    filters = {k: request.GET.get(k, "")[:20] for k in ("status", "category", "sla", "q", "county", "org")}
    tickets = queries.search(queries.visible_tickets(request.user), **filters) \
        .select_related("household", "team").order_by("-opened_at")
    page = Paginator(tickets, PAGE).get_page(request.GET.get("page"))
    return render(request, "service/list.html", {
        "page": page, "filters": filters, "categories": Category.choices, "sla_choices": SlaStatus.choices,
        "statuses": [("open", "未修复"), *Status.choices], "can_open": has_perm(request.user, roles.SERVICE_OPEN)})


@requires(roles.SERVICE_OPEN)
def ticket_new(request):
    """Step 1: the caller's number finds the household (exact, via the keyed hash); step 2: the ticket."""
    data = request.POST if request.method == "POST" else request.GET
    phone = data.get("caller_phone", "")[:30]
    found = services.find_by_phone(request.user, phone) if phone else []
    household = None
    if data.get("household_no"):
        household = scoped_household(request.user, data["household_no"][:20])
    errors = {}
    if request.method == "POST" and "create" in request.POST:
        try:
            ticket = services.open_ticket(request.user, {**request.POST.dict(), "household": household},
                                          channel=Channel.UI)
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, f"已受理工单{ticket.number}，已派至{ticket.team or '县级清洁取暖办'}")
            return redirect("service_ticket", ticket_id=ticket.pk)
    return render(request, "service/new.html", {
        "phone": phone, "found": found, "household": household, "looked_up": bool(phone), "errors": errors,
        "values": data, "categories": Category.choices, "severities": Severity.choices,
        "sources": [(k, v) for k, v in Source.choices if k in ("hotline", "village", "web")]})


@requires(roles.SERVICE_VIEW)
def ticket_page(request, ticket_id):
    ticket = queries.scoped_ticket(request.user, ticket_id)
    user = request.user
    can_work = has_perm(user, roles.SERVICE_WORK) and ticket.is_open
    return render(request, "service/ticket.html", {
        "t": ticket, "events": ticket.events.select_related("user"), "photos": ticket.photos.all(),
        "can_work": can_work, "can_callback": has_perm(user, roles.SERVICE_CALLBACK) and ticket.status == "resolved",
        "can_call": has_perm(user, roles.REVEAL_PHONE) and ticket.is_open,
        "causes": CauseCode.objects.filter(active=True), "now": timezone.now(),
        "stages": [("响应", ticket.due_respond, ticket.responded_at), ("到场", ticket.due_onsite, ticket.arrived_at),
                   ("修复", ticket.due_fix, ticket.resolved_at)]})


@require_POST
@requires(roles.SERVICE_VIEW)
def ticket_act(request, ticket_id):
    ticket = queries.scoped_ticket(request.user, ticket_id)
    action, post, user = request.POST.get("action", ""), request.POST, request.user
    done = {"accept": "已响应", "arrive": "已记录到场", "not_home": "已记录上门未遇", "resolve": "已标记修复",
            "callback": "已记录回访"}
    try:
        if action == "accept":
            services.accept(ticket, user, version=post.get("version"))
        elif action == "arrive":
            services.arrive(ticket, user, lat=post.get("lat"), lon=post.get("lon"), version=post.get("version"))
        elif action == "not_home":
            services.not_home(ticket, user, note=post.get("note", ""), lat=post.get("lat"), lon=post.get("lon"))
        elif action == "resolve":
            services.resolve(ticket, user, cause=post.get("cause", ""), resolution=post.get("resolution", ""),
                             parts=post.get("parts", ""), version=post.get("version"))
        elif action == "callback":
            if post.get("satisfied") not in ("yes", "no"):
                raise ValidationError({"satisfied": ["请选择满意或不满意"]})
            services.callback(ticket, user, satisfied=post["satisfied"] == "yes", note=post.get("note", ""))
        else:
            raise Http404("未知操作")
        messages.success(request, done[action])
    except ValidationError as error:
        _say(request, error)
    return redirect("service_ticket", ticket_id=ticket.pk)


@require_POST
@requires(roles.SERVICE_WORK)
def ticket_photo_upload(request, ticket_id):
    ticket = queries.scoped_ticket(request.user, ticket_id)
    try:
        services.add_photo(ticket, request.user, stage=request.POST.get("stage", ""),
                           uploaded=request.FILES.get("photo"))
        messages.success(request, "照片已上传")
    except ValidationError as error:
        _say(request, error)
    return redirect("service_ticket", ticket_id=ticket.pk)


@require_POST
@requires(roles.REVEAL_PHONE)
def ticket_call(request, ticket_id):
    """The family's number to call (logged as a reveal)."""
    ticket = queries.scoped_ticket(request.user, ticket_id)
    try:
        phone = services.call_family(ticket, request.user, request=request)
    except ValidationError as error:
        _say(request, error)
        return redirect("service_ticket", ticket_id=ticket.pk)
    return render(request, "service/call.html", {"t": ticket, "phone": phone})


@requires(roles.SERVICE_VIEW)
def ticket_photo(request, photo_id):
    photo: TicketPhoto = queries.scoped_photo(request.user, photo_id)
    handle = services.photo_storage().open(photo.stored_name, "rb")
    response = FileResponse(handle, content_type="image/jpeg")
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _position(request):
    try:
        lat, lon = float(request.GET.get("lat", "")), float(request.GET.get("lon", ""))
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


@requires(roles.SERVICE_WORK)
def my_tickets(request):
    """The repair engineer's phone page: open tickets, nearest first."""
    here = _position(request)
    return render(request, "service/mine.html", {"tickets": queries.my_open_tickets(request.user, here),
                                                 "here": here, "now": timezone.now(),
                                                 "open_statuses": OPEN_STATUSES})
