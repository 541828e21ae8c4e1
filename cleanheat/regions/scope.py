"""Area scope: which part of the hierarchy a user may see and change, as a code prefix.

Every list, detail and write path asks here, so the rule lives in one place.
"""
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404

from .codes import COUNTY, PREFIX_LENGTH, PROVINCE, full_code, prefix_upper_bound
from .models import Region

NOTHING = "-"  # a prefix no code starts with
NAMED_LENGTHS = {n for level, n in PREFIX_LENGTH.items() if level != PROVINCE}  # city … village


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
    query planner into sorting the whole ledger. The province row above the city holds no households."""
    if prefix and prefix != NOTHING and len(prefix) <= 4 and \
            not Region.objects.exclude(code__startswith=prefix).exclude(level=PROVINCE).exists():
        return ""
    return prefix


def region_named(user, code: str):
    """The region a request names by its 12-digit code or its prefix (140902 for 140902000000),
    checked before anything is started for it; None (the whole database) for a city-wide superuser
    who names none. A malformed code is refused (ValidationError on "region"); an unknown one and one
    outside the scope answer alike, 404, so that neither reveals what lies outside the scope."""
    code = (code or "").strip() or user_prefix(user)
    if code == NOTHING:
        raise Http404("未找到")
    if not code:
        return None
    if not (code.isascii() and code.isdigit() and len(code) in NAMED_LENGTHS):
        raise ValidationError({"region": [f"区划代码“{code[:20]}”应为12位数字（或其4、6、9位前缀）"]})
    region = Region.objects.filter(code=full_code(code)).first()
    if region is None or code not in (region.code, region.prefix) or not in_scope(user, region.code):
        raise Http404("未找到该区划，或不在您的管辖范围内")
    return region


def counties_for(user) -> list:
    """The counties within the user's scope (the county pickers of the ledger and procurement pages)."""
    prefix = user_prefix(user)
    return [r for r in Region.objects.filter(level=COUNTY)
            if r.code.startswith(prefix[:6]) and prefix != NOTHING]
