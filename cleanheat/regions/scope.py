"""Area scope: which part of the hierarchy a user may see and change, as a code prefix.

Every list, detail and write path asks here, so the rule lives in one place.
"""
from django.db.models import Q
from django.http import Http404

from .codes import prefix_upper_bound

NOTHING = "-"  # a prefix no code starts with


def user_prefix(user) -> str:
    """'' means the whole database; NOTHING means no rows."""
    if not user or not user.is_authenticated:
        return NOTHING
    if user.is_superuser:
        return ""
    return user.region_scope or NOTHING


def code_q(field: str, prefix: str) -> Q:
    """Rows whose `field` (a 12-digit code) starts with `prefix`, as an index-friendly range."""
    if not prefix:
        return Q()
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix_upper_bound(prefix)})


def in_scope(user, code: str) -> bool:
    return code.startswith(user_prefix(user))


def require_in_scope(user, code: str) -> None:
    """Outside the scope answers 404: its existence is not revealed."""
    if not in_scope(user, code):
        raise Http404("未找到")


def narrowing_prefix(prefix: str) -> str:
    """The prefix to filter by, or '' when it already covers every region in the database (a
    city-wide user of a single-city installation): an all-covering range filter only misleads the
    query planner into sorting the whole ledger."""
    from .models import Region
    if prefix and prefix != NOTHING and len(prefix) <= 4 and \
            not Region.objects.exclude(code__startswith=prefix).exists():
        return ""
    return prefix
