"""Reading tickets: the one place that turns a user into the tickets they may see.

The region scope applies to every role (a 12-digit village code prefix); a repair team's or utility's
user sees, within that scope, only the tickets routed to their own organisation."""
import math

from django.db.models import Q
from django.shortcuts import get_object_or_404

from cleanheat.access import has_perm, scope_filter
from cleanheat.accounts import roles

from .models import OPEN_STATUSES, Ticket, TicketPhoto

TEAM_ROLES = {"vendor_repair", "utility_staff"}


def visible_tickets(user):
    if not has_perm(user, roles.SERVICE_VIEW):
        return Ticket.objects.none()
    tickets = scope_filter(Ticket.objects.all(), user, "village_code")
    if user.role in TEAM_ROLES and not user.is_superuser:
        tickets = tickets.filter(team__organisation_id=user.organisation_id) if user.organisation_id \
            else tickets.none()
    return tickets


def scoped_ticket(user, ticket_id) -> Ticket:
    """One ticket; outside the user's scope (or another team's) it does not exist (404)."""
    return get_object_or_404(visible_tickets(user).select_related("household__village", "team", "cause", "outage"),
                             pk=ticket_id)


def scoped_photo(user, photo_id) -> TicketPhoto:
    return get_object_or_404(TicketPhoto.objects.filter(ticket__in=visible_tickets(user)), pk=photo_id)


def _distance_km(a, b) -> float:
    """Great-circle distance (haversine, Earth radius 6371 km)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def my_open_tickets(user, here: tuple[float, float] | None = None) -> list:
    """A repair engineer's open tickets, nearest first: by distance from `here` (the phone's position)
    to the household's last recorded position (an earlier arrival there) when both are known, then
    the rest by their earliest pending deadline. Each ticket gets `.distance_km` (or None)."""
    tickets = list(visible_tickets(user).filter(status__in=OPEN_STATUSES)
                   .select_related("household__village", "team").order_by("due_fix")[:200])
    known = {}
    households = [t.household_id for t in tickets if t.household_id]
    for household_id, lat, lon in Ticket.objects.filter(household_id__in=households, arrived_lat__isnull=False) \
            .order_by("arrived_at").values_list("household_id", "arrived_lat", "arrived_lon"):
        known[household_id] = (float(lat), float(lon))
    for t in tickets:
        spot = known.get(t.household_id)
        t.distance_km = round(_distance_km(here, spot), 1) if here and spot else None
        t.next_due = t.due_respond if t.responded_at is None else t.due_onsite if t.arrived_at is None else t.due_fix
    return sorted(tickets, key=lambda t: (t.distance_km is None, t.distance_km or 0, t.next_due))


def search(tickets, *, status="", category="", sla="", q="", county="", org=""):
    if status == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif status:
        tickets = tickets.filter(status=status)
    if category:
        tickets = tickets.filter(category=category)
    if sla:
        tickets = tickets.filter(sla_status=sla, status__in=OPEN_STATUSES)
    if county.isdigit():
        tickets = tickets.filter(village_code__startswith=county[:12])
    if org.isdigit():
        tickets = tickets.filter(team__organisation_id=int(org))
    if q:
        tickets = tickets.filter(Q(number__startswith=q) | Q(household__household_no__startswith=q))
    return tickets
