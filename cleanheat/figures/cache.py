"""Reading figures through the cache: cached(name, parts, compute) answers compute()'s value for the
ledger as it is now, computing it only when this generation of the data has not been asked before."""
from django.core.cache import caches
from django.db import connections
from django.utils import timezone

from . import services, watch

ALIAS = "figures"
TIMEOUT = 24 * 3600  # seconds; figures also carry the date, as some count days to a deadline
_MISSING = object()


def _key(name: str, parts: tuple, using: str) -> str | None:
    """The key for this figure now, or None when it must be computed afresh (this connection holds
    writes not yet committed)."""
    if watch.has_uncommitted_change(connections[using]):
        return None
    shown = "|".join(str(p) for p in parts)
    return f"{services.current(using)}:{timezone.localdate():%Y%m%d}:{name}:{shown}"


def cached(name: str, parts: tuple, compute, *, only_if_cached: bool = False, using: str = "default"):
    """compute()'s value (it must pickle), from the cache when this generation has it. With
    only_if_cached, None instead of computing (a page then loads the figure in a second request)."""
    key = _key(name, parts, using)
    if key is None:
        return None if only_if_cached else compute()
    cache = caches[ALIAS]
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        if only_if_cached:
            return None
        value = compute()
        cache.set(key, value, TIMEOUT)
    return value
