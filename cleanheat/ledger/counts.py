"""Reading, folding and rebuilding the maintained household counts (ledger.HouseholdCount).

The triggers of migration 0007 keep the counts exact on every write to the household table; the
rollups read them for any unit down to the township (a province's 5 M households become a few
hundred thousand summed rows). Villages are counted from the ledger itself (a township is small).
"""
from django.db import connection
from django.db.models import Sum
from django.db.models.functions import Substr

from cleanheat.regions.codes import PREFIX_LENGTH, TOWNSHIP, prefix_upper_bound
from cleanheat.regions.scope import code_q

from .models import HouseholdCount

DEEPEST = PREFIX_LENGTH[TOWNSHIP]  # the counts' key: the first 9 digits of the village code
TABLE = HouseholdCount._meta.db_table
KEY = "township_code, plan_year, heating_path, state"


def covers(prefix: str, unit_length: int) -> bool:
    """Whether counts grouped by `unit_length` digits under `prefix` can be read from the table."""
    return unit_length <= DEEPEST and len(prefix) <= DEEPEST


def rows(prefix: str, unit_length: int, year: int | None = None):
    """(unit, path, state, n) of active households under `prefix`, as the ledger's GROUP BY gives them."""
    qs = HouseholdCount.objects.filter(code_q("township_code", prefix))
    if year is not None:
        qs = qs.filter(plan_year=year)
    summed = (qs.annotate(unit=Substr("township_code", 1, unit_length))
              .values_list("unit", "heating_path", "state").annotate(total=Sum("n")).order_by())
    return [row for row in summed if row[3]]  # a key whose households all moved on sums to 0


def total(prefix: str, year: int | None = None) -> int:
    """Active households under `prefix` (of one plan year, or all)."""
    qs = HouseholdCount.objects.filter(code_q("township_code", prefix))
    if year is not None:
        qs = qs.filter(plan_year=year)
    return qs.aggregate(total=Sum("n"))["total"] or 0


def compact() -> None:
    """Fold the signed rows PostgreSQL's triggers added into one row per key. Safe beside writers:
    one statement deletes exactly the rows it folds (rows of transactions still open are not seen,
    so not touched). Run after large loads and nightly; SQLite's table is always folded."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute(f"WITH gone AS (DELETE FROM {TABLE} RETURNING {KEY}, n) "
                    f"INSERT INTO {TABLE} ({KEY}, n) SELECT {KEY}, sum(n) FROM gone "
                    f"GROUP BY {KEY} HAVING sum(n) <> 0")


def rebuild(prefix: str = "") -> None:
    """Recount the households under `prefix` from the ledger (after a load that ran with triggers
    off, or to repair): the counts of that range (a city or wider) are replaced in this transaction."""
    low, high = prefix, prefix_upper_bound(prefix)
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE township_code >= %s AND township_code < %s", [low, high])
        cur.execute(f"INSERT INTO {TABLE} ({KEY}, n) SELECT substr(village_code, 1, 9), plan_year, heating_path, "
                    f"state, count(*) FROM ledger_household WHERE NOT archived AND village_code >= %s "
                    f"AND village_code < %s GROUP BY 1, 2, 3, 4", [low, high])
