"""Writing the audit log: one function, called by every place that must leave a trace."""
import ipaddress

from django.conf import settings

from cleanheat.ledger.identity import mask_identifiers

from .models import AuditEvent


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
