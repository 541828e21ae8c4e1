"""Writing the audit log: one function, called by every place that must leave a trace."""
from cleanheat.ledger.identity import mask_identifiers

from .models import AuditEvent


def client_ip(request):
    """REMOTE_ADDR: behind a reverse proxy, configure the proxy to set it (we do not trust
    X-Forwarded-For from the client)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record(action: str, *, request=None, user=None, username: str = "", region_code: str = "",
           target: str = "", detail: str = "") -> AuditEvent:
    """Target and detail are stored with ID numbers, bank cards and phones masked, whoever
    passes them (a search term, a reason typed by a user, a path)."""
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    return AuditEvent.objects.create(
        action=action, user=user, username=username or (user.username if user else ""),
        ip=client_ip(request), region_code=region_code, target=mask_identifiers(target)[:120],
        detail=mask_identifiers(detail))
