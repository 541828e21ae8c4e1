"""Five-level rollups: households by heating path × lifecycle state, computed from the ledger."""
from collections import defaultdict

from django.db.models import Count
from django.db.models.functions import Substr

from cleanheat.ledger.models import Household

from .scope import code_q


def add_counts(rows):
    """rows: (unit, path, state, n) → {unit: {(path, state): n}} — pure, for reuse and tests."""
    result = defaultdict(lambda: defaultdict(int))
    for unit, path, state, n in rows:
        result[unit][(path, state)] += n
    return result


def counts_by_unit(prefix: str, unit_length: int):
    """Counts of active households under `prefix`, grouped by the first `unit_length` code digits."""
    qs = Household.objects.filter(code_q("village_id", prefix), archived=False)
    qs = qs.annotate(unit=Substr("village_id", 1, unit_length))
    rows = qs.values_list("unit", "heating_path", "state").annotate(n=Count("id")).order_by()
    return add_counts(rows)


def total(counts: dict) -> int:
    return sum(counts.values())
