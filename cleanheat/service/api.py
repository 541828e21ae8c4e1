"""JSON API of the hotline (/api/service/): open a ticket, list and read tickets in scope, act on one
(accept, arrive, not home, resolve, callback), outages opened by tickets. Same scope rules and the same
services as the pages. An outside system (a vendor's monitoring platform, the grid company) opens
tickets with its user's session until machine tokens land (runtime issue)."""
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from ninja import Query, Router, Schema, Status

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.api_errors import ErrorOut
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household

from . import queries, services
from .models import Source

router = Router(tags=["热线工单 service"])
LISTED = 200


class TicketIn(Schema):
    household_no: str | None = None
    village: str | None = None          # when the caller matches no household
    caller_name: str = ""
    caller_phone: str = ""
    category: str
    severity: str = "normal"
    source: str = Source.MONITOR
    description: str
    outdoor_temp_c: Decimal | None = None


class TicketOut(Schema):
    id: int
    number: str
    household_no: str | None
    village: str
    category: str
    severity: str
    source: str
    status: str
    sla_status: str
    escalation: int
    team: str | None
    opened_at: datetime
    due_respond: datetime
    due_onsite: datetime
    due_fix: datetime
    responded_at: datetime | None
    arrived_at: datetime | None
    resolved_at: datetime | None
    cause: str | None
    satisfied: bool | None
    version: int


class TicketActionIn(Schema):
    action: str = ""                     # accept | arrive | not_home | resolve | callback
    version: int | None = None
    lat: Decimal | None = None
    lon: Decimal | None = None
    cause: str = ""
    resolution: str = ""
    parts: str = ""
    note: str = ""
    satisfied: bool | None = None


class SmsReplyIn(Schema):
    phone: str = ""
    text: str = ""


class OutageOut(Schema):
    ticket: str
    household_no: str
    reported_on: date
    resolved_on: date | None


class Filters(Schema):
    status: str = ""
    category: str = ""
    sla: str = ""


def _out(t) -> dict:
    return {"id": t.pk, "number": t.number, "household_no": t.household.household_no if t.household_id else None,
            "village": t.village_code, "category": t.category, "severity": t.severity, "source": t.source,
            "status": t.status, "sla_status": t.sla_status, "escalation": t.escalation,
            "team": str(t.team) if t.team_id else None, "opened_at": t.opened_at, "due_respond": t.due_respond,
            "due_onsite": t.due_onsite, "due_fix": t.due_fix, "responded_at": t.responded_at,
            "arrived_at": t.arrived_at, "resolved_at": t.resolved_at, "cause": t.cause.code if t.cause_id else None,
            "satisfied": t.satisfied, "version": t.version}


@router.post("/tickets", response={201: TicketOut, 404: ErrorOut})
@requires(roles.SERVICE_OPEN)
def open_ticket(request, payload: TicketIn):
    """Open a ticket for a household (by number; 404 outside the scope) or, for a caller who matches no
    household, in a village of the scope."""
    data = payload.dict()
    household = scoped_household(request.user, data.pop("household_no")) if payload.household_no else None
    data.update(household=household, village_code=data.pop("village") or "")
    ticket = services.open_ticket(request.user, data, channel=Channel.API)
    return Status(201, _out(ticket))


@router.get("/tickets", response=list[TicketOut])
@requires(roles.SERVICE_VIEW)
def list_tickets(request, filters: Query[Filters]):
    """Tickets in the scope (a repair team: its own), newest first, at most 200."""
    tickets = queries.search(queries.visible_tickets(request.user), **filters.dict())
    return [_out(t) for t in tickets.select_related("household", "team", "cause")[:LISTED]]


@router.get("/tickets/{ticket_id}", response=TicketOut)
@requires(roles.SERVICE_VIEW)
def get_ticket(request, ticket_id: int):
    return _out(queries.scoped_ticket(request.user, ticket_id))


@router.post("/tickets/{ticket_id}/actions", response=TicketOut)
@requires(roles.SERVICE_VIEW)
def act(request, ticket_id: int, payload: TicketActionIn):
    """Accept, arrive (with the phone's position), not_home, resolve (cause code required) or callback
    (satisfied true/false). `version` from the last read: a ticket changed since answers 422."""
    ticket = queries.scoped_ticket(request.user, ticket_id)
    user, p = request.user, payload
    if p.action == "accept":
        services.accept(ticket, user, version=p.version, channel=Channel.API)
    elif p.action == "arrive":
        services.arrive(ticket, user, lat=p.lat, lon=p.lon, version=p.version, channel=Channel.API)
    elif p.action == "not_home":
        services.not_home(ticket, user, note=p.note, lat=p.lat, lon=p.lon, channel=Channel.API)
    elif p.action == "resolve":
        services.resolve(ticket, user, cause=p.cause, resolution=p.resolution, parts=p.parts, version=p.version,
                         channel=Channel.API)
    elif p.action == "callback":
        if p.satisfied is None:
            raise ValidationError({"satisfied": ["请填写是否满意"]})
        services.callback(ticket, user, satisfied=p.satisfied, note=p.note, channel=Channel.API)
    else:
        raise ValidationError({"action": ["未知操作：应为 accept、arrive、not_home、resolve 或 callback"]})
    return _out(queries.scoped_ticket(user, ticket_id))


@router.get("/outages", response=list[OutageOut])
@requires(roles.SERVICE_VIEW)
def outages(request):
    """Outages opened by tickets in the scope (open ones first)."""
    tickets = queries.visible_tickets(request.user).filter(outage__isnull=False) \
        .select_related("outage", "household").order_by("-outage__reported_on")[:LISTED]
    rows = [{"ticket": t.number, "household_no": t.household.household_no, "reported_on": t.outage.reported_on,
             "resolved_on": t.outage.resolved_on} for t in tickets]
    return sorted(rows, key=lambda r: r["resolved_on"] is not None)


@router.post("/sms-replies", response=TicketOut)
@requires(roles.SERVICE_CALLBACK)
def sms_reply(request, payload: SmsReplyIn):
    """A family's SMS reply forwarded by the SMS gateway: “满意” closes, “不满意” reopens the latest resolved
    ticket of that number in the scope."""
    ticket = services.sms_reply(request.user, payload.phone, payload.text)
    return _out(queries.scoped_ticket(request.user, ticket.pk))
