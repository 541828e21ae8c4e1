"""Writing the audit log: one function, called by every place that must leave a trace."""
import ipaddress
from dataclasses import dataclass

from django.conf import settings

from cleanheat.ledger.identity import mask_identifiers

from .models import AuditEvent, DuplicateAttempt


@dataclass(frozen=True)
class HolderElsewhere:
    """A refused attempt to make someone householder who already heads a household outside the
    caller's area: what the audit keeps of it (the caller is told nothing of that household)."""
    id_hash: str
    id_masked: str
    region_code: str            # the village the caller tried to register them in
    other_region_code: str      # the village of the household they already head
    other_household_no: str


def client_ip(request):
    """REMOTE_ADDR, or the header a trusted reverse proxy sets when settings.CLIENT_IP_HEADER
    names one: a header the client sent is otherwise never believed."""
    if request is None:
        return None
    if settings.CLIENT_IP_HEADER:
        # A proxy that appends to X-Forwarded-For puts the address it saw last.
        forwarded = request.META.get(settings.CLIENT_IP_HEADER, "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def record(action: str, *, request=None, user=None, username: str = "", region_code: str = "",
           target: str = "", detail: str = "") -> AuditEvent:
    """Username, target and detail are stored with ID numbers, bank cards and phones masked,
    whoever passes them (a search term, a reason typed by a user, a path, a mistyped login)."""
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    return AuditEvent.objects.create(
        action=action, user=user, username=mask_identifiers(username or (user.username if user else "")),
        ip=client_ip(request), region_code=region_code, target=mask_identifiers(target)[:120],
        detail=mask_identifiers(detail))


def record_duplicates(attempts, *, user=None, channel: str) -> None:
    """Call after the refused write has rolled back, so that the record stays."""
    DuplicateAttempt.objects.bulk_create([
        DuplicateAttempt(user=user, username=user.username if user else "", channel=channel,
                         id_number_masked=a.id_masked, id_number_hash=a.id_hash, region_code=a.region_code,
                         other_region_code=a.other_region_code, other_household_no=a.other_household_no)
        for a in attempts])
