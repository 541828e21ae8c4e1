"""Scoped reads of the desk: which notices a user may see, which they have not read, who read one.

A notice is addressed to region prefixes; a user sees it when their own scope lies within one of
them (exact lookups on the prefixes of the user's scope: indexed, no scan)."""
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q

from cleanheat.access import NOTHING, has_perm, user_prefix
from cleanheat.accounts.roles import MANAGE_USERS
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from .models import Notice, NoticeAudience, NoticeRead

UNIT_BELOW = {4: 6, 6: 9, 9: 12}  # a publisher's scope length -> the units it addresses


def enclosing_prefixes(prefix: str) -> list[str]:
    """The prefixes a notice may be addressed to that cover `prefix`: the city, county, township …"""
    return sorted({prefix[:n] for n in (4, 6, 9, 12) if n <= len(prefix)} | {prefix})


def manages(user, notice: Notice) -> bool:
    """The publisher, or a manager whose scope covers the publisher's."""
    prefix = user_prefix(user)
    return notice.publisher_id == user.pk or (
        has_perm(user, MANAGE_USERS) and prefix != NOTHING and notice.publisher_scope.startswith(prefix))


def _addressed(prefix: str):
    if not prefix:
        return Q()
    return Q(Exists(NoticeAudience.objects.filter(notice=OuterRef("pk"), prefix__in=enclosing_prefixes(prefix))))


def addressed_notices(user):
    """Live notices addressed to the user's area (not their own): what they are to read."""
    prefix = user_prefix(user)
    if prefix == NOTHING:
        return Notice.objects.none()
    return Notice.objects.filter(_addressed(prefix), withdrawn_at__isnull=True).exclude(publisher=user)


def visible_notices(user, *, include_withdrawn: bool = False):
    """Notices addressed to the user's area, and those the user manages (withdrawn ones only to
    those who manage them, and only when asked)."""
    prefix = user_prefix(user)
    if prefix == NOTHING:
        return Notice.objects.none()
    managed = Q(publisher=user)
    if has_perm(user, MANAGE_USERS):
        managed |= Q(publisher_scope__startswith=prefix)
    live = Q(withdrawn_at__isnull=True)
    if include_withdrawn:
        return Notice.objects.filter((live & _addressed(prefix)) | managed)
    return Notice.objects.filter(live & (_addressed(prefix) | managed))


def unread_notices(user):
    return addressed_notices(user).exclude(Exists(NoticeRead.objects.filter(notice=OuterRef("pk"), user=user)))


def is_read(user, notice: Notice) -> bool:
    return NoticeRead.objects.filter(notice=notice, user=user).exists()


def audience_units(publisher_scope: str) -> list[Region]:
    """The units a publisher may address one by one: counties for the city, townships for a county."""
    length = UNIT_BELOW.get(len(publisher_scope))
    if length is None:
        return []
    level = {6: codes.COUNTY, 9: codes.TOWNSHIP, 12: codes.VILLAGE}[length]
    return list(Region.objects.filter(level=level, code__startswith=publisher_scope).order_by("code"))


def read_receipts(notice: Notice) -> list[dict]:
    """Per unit below the publisher (county for a city notice), the audience's users (but the
    publisher), who has read and who has not; users at the publisher's own level are one row (本级)."""
    audience = list(notice.audience.values_list("prefix", flat=True))
    unit_length = UNIT_BELOW.get(len(notice.publisher_scope), len(notice.publisher_scope))
    within = Q()
    for prefix in audience:
        within |= Q(region_scope__startswith=prefix)
    users = list(get_user_model().objects.filter(within, is_active=True).exclude(region_scope="")
                 .exclude(pk=notice.publisher_id)
                 .order_by("region_scope", "username"))
    read_at = dict(notice.reads.values_list("user_id", "read_at"))
    names = {r.code[:unit_length]: r.name for r in audience_units(notice.publisher_scope)}
    rows = {}
    for user in users:
        unit = user.region_scope[:unit_length] if len(user.region_scope) >= unit_length else ""
        row = rows.setdefault(unit, {"code": unit, "name": names.get(unit, unit) if unit else None,
                                     "read": [], "unread": []})
        (row["read"] if user.pk in read_at else row["unread"]).append(
            {"user": user, "read_at": read_at.get(user.pk)})
    return [rows[k] for k in sorted(rows)]
