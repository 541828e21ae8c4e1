"""Writing the audit log: one function, called by every place that must leave a trace."""
from dataclasses import dataclass

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
    """REMOTE_ADDR: behind a reverse proxy, configure the proxy to set it (we do not trust
    X-Forwarded-For from the client)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record(action: str, *, request=None, user=None, username: str = "", region_code: str = "",
           target: str = "", detail: str = "") -> AuditEvent:
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    return AuditEvent.objects.create(
        action=action, user=user, username=username or (user.username if user else ""),
        ip=client_ip(request), region_code=region_code, target=target[:120], detail=detail)


def record_duplicates(attempts, *, user=None, channel: str) -> None:
    """Call after the refused write has rolled back, so that the record stays."""
    DuplicateAttempt.objects.bulk_create([
        DuplicateAttempt(user=user, username=user.username if user else "", channel=channel,
                         id_number_masked=a.id_masked, id_number_hash=a.id_hash, region_code=a.region_code,
                         other_region_code=a.other_region_code, other_household_no=a.other_household_no)
        for a in attempts])
