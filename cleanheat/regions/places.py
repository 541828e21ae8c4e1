"""Finding townships and villages by name within a user's scope (the place picker and the
household list's region box).

Method: a name matches a region whose official name (奇村村委会) or short name (奇村) equals it;
failing that, whose names contain it. Only regions whose code starts with the user's scope prefix
are ever searched, so a place outside the area is neither listed nor hinted at.
"""
from django.db.models import Q

from .codes import CITY, COUNTY, TOWNSHIP, VILLAGE
from .models import Region
from .scope import NOTHING, user_prefix

PICKER_LEVELS = (TOWNSHIP, VILLAGE)
MAX_RESULTS = 20        # what the picker lists at most
RESOLVE_LEVELS = (CITY, COUNTY, TOWNSHIP, VILLAGE)  # the region box also takes 忻府区
MIN_QUERY_LENGTH = 1    # one Chinese character already narrows 3,000 villages to a few dozen


def _scoped(user, levels):
    prefix = user_prefix(user)
    if prefix == NOTHING:
        return Region.objects.none()
    qs = Region.objects.filter(level__in=levels)
    return qs.filter(code__startswith=prefix) if prefix else qs


def search(user, text: str, levels=PICKER_LEVELS, limit: int = MAX_RESULTS) -> list[Region]:
    """Regions of `levels` in the user's scope whose names equal, start with or contain `text`,
    in that order, then by code; each with its township (`parent`) loaded."""
    text = (text or "").strip()
    if len(text) < MIN_QUERY_LENGTH:
        return []
    qs = _scoped(user, levels).filter(Q(name__contains=text) | Q(short_name__contains=text)) \
        .select_related("parent__parent")[:500]

    def rank(region):
        names = (region.name, region.short_name or region.name)
        exact = text in names
        starts = any(n.startswith(text) for n in names)
        return (not exact, not starts, region.code)
    return sorted(qs, key=rank)[:limit]


def exact_matches(user, text: str, levels=PICKER_LEVELS) -> list[Region]:
    """Regions in scope whose official or short name is exactly `text`."""
    return list(_scoped(user, levels).filter(Q(name=text) | Q(short_name=text)).select_related("parent__parent"))


def resolve(user, text: str) -> list[Region]:
    """The places a name in the region box means: those named exactly so, else those whose name
    contains it (any level from county down). One region is an answer; several or none call for a hint."""
    text = (text or "").strip()
    if not text:
        return []
    found = exact_matches(user, text, RESOLVE_LEVELS)
    if not found:
        found = list(_scoped(user, RESOLVE_LEVELS).filter(Q(name__contains=text) | Q(short_name__contains=text))
                     .select_related("parent__parent")[:MAX_RESULTS + 1])
    return found



def trail(region: Region) -> str:
    """Where a place lies, for telling two of the same name apart: 奇村镇 · 忻府区 (parents up to the county)."""
    parents, node = [], region.parent
    while node is not None and node.level >= COUNTY:
        parents.append(node.name)
        node = node.parent if node.level > COUNTY else None
    return " · ".join(parents)
