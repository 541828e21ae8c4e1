"""Counts as of a past day, from the maintained `ProgressDelta` table instead of the lifecycle history.

Every write that changes which state an active household was in on some day — a lifecycle event, a
change of village, plan year or heating path, archiving, restoring, a region change, a bulk import —
calls `kept` (or `added` for new households) inside its own transaction: the households' rows are
computed from the ledger before and after the write (`steps.state_steps`) and the difference is added
to the table, so it never drifts. `rebuild` recomputes the whole table in a few set-based statements
(after a bulk load, a migration or a restore); `counts_on` answers exactly what
`rollup.counts_on_from_ledger` answers (tests/test_asof.py compares them after random edits).
"""
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import date

from django.db import connections, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Substr

from cleanheat.regions.scope import code_q

from .models import Household, LifecycleEvent, ProgressDelta
from .steps import state_steps

VILLAGE_DAY, COUNTY_DAY, COUNTY_MONTH = 0, 1, 2
COUNTY = 6          # digits of a county code: the coarse grains' unit
IN_CHUNK = 500      # household ids per IN (…) list


# ---- reading

def counts_on(prefix: str, unit_length: int, on: date, year: int | None = None) -> dict:
    """{unit: {(path, state): n}} of active households under `prefix` (plan year `year`, or all) as
    of the end of day `on`, grouped by the first `unit_length` code digits."""
    if unit_length <= COUNTY and len(prefix) <= COUNTY:
        first = on.replace(day=1)   # the counties' months before on's month, then its days up to on
        span = Q(grain=COUNTY_MONTH, day__lt=first) | Q(grain=COUNTY_DAY, day__gte=first, day__lte=on)
    else:
        span = Q(grain=VILLAGE_DAY, day__lte=on)
    rows = ProgressDelta.objects.filter(span, code_q("unit", prefix))  # one statement: one snapshot
    if year is not None:
        rows = rows.filter(plan_year=year)
    rows = rows.annotate(u=Substr("unit", 1, unit_length)).values_list("u", "heating_path", "state")
    out = defaultdict(dict)
    for unit, path, state, n in rows.annotate(total=Sum("n")).order_by():
        if n:
            out[unit][(path, state)] = n
    return dict(out)


def entered_by_day(prefix: str, unit_length: int, on: date, states, year: int | None = None) -> dict:
    """{unit: {day: n}}: by how many the active households under `prefix` that were in one of `states`
    changed on each day up to `on` (negative when more left than entered, by a step back), so
    that their running sum is the number in those states as of any day."""
    coarse = unit_length <= COUNTY and len(prefix) <= COUNTY
    rows = ProgressDelta.objects.filter(code_q("unit", prefix), grain=COUNTY_DAY if coarse else VILLAGE_DAY,
                                        day__lte=on, state__in=list(states))
    if year is not None:
        rows = rows.filter(plan_year=year)
    out = defaultdict(dict)
    for unit, day, n in (rows.annotate(u=Substr("unit", 1, unit_length)).values_list("u", "day")
                         .annotate(total=Sum("n")).order_by()):
        if n:
            out[unit][day] = n
    return dict(out)


# ---- keeping the table in step with the ledger

def contributions(household_ids, using: str = "default") -> Counter:
    """What the households (as stored now) add to the table: {(grain, unit, day, year, path, state): n}."""
    out, ids = Counter(), sorted(set(household_ids))
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start:start + IN_CHUNK]
        units = {pk: rest for pk, *rest in Household.objects.using(using).filter(pk__in=chunk, archived=False)
                 .values_list("pk", "village_id", "plan_year", "heating_path")}
        events = defaultdict(list)
        for hh, pk, to_state, day in LifecycleEvent.objects.using(using).filter(household_id__in=list(units)) \
                .values_list("household_id", "id", "to_state", "occurred_on").order_by():
            events[hh].append((pk, to_state, day))
        for hh, unit in units.items():
            _add_steps(out, *unit, events[hh])
    return out


def _add_steps(out: Counter, village: str, year: int, path: str, events) -> None:
    for day, entered, left in state_steps(events):
        for state, n in ((entered, 1), (left, -1)):
            if state is not None:
                for key in _keys(village, year, path, state, day):
                    out[key] += n


def _keys(village, year, path, state, day):
    county = village[:COUNTY]
    return ((VILLAGE_DAY, village, day, year, path, state), (COUNTY_DAY, county, day, year, path, state),
            (COUNTY_MONTH, county, day.replace(day=1), year, path, state))


def apply(delta: Counter, using: str = "default") -> None:
    """Add `delta` to the table (an upsert: concurrent writers add, never overwrite)."""
    rows = sorted((*key, n) for key, n in delta.items() if n)  # one order for all writers: no deadlock
    if not rows:
        return
    connection = connections[using]
    table = connection.ops.quote_name(ProgressDelta._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (grain, unit, day, plan_year, heating_path, state, n) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (grain, unit, day, plan_year, heating_path, state) "
            f"DO UPDATE SET n = {table}.n + excluded.n",
            [(g, u, adapt(d), y, p, s, n) for g, u, d, y, p, s, n in rows])


@contextmanager
def kept(household_ids, using: str = "default"):
    """Around a write to these (existing, locked) households: the table follows it, in its transaction."""
    ids = list(household_ids)
    with transaction.atomic(using=using):
        before = contributions(ids, using)
        yield
        after = contributions(ids, using)
        after.subtract(before)
        apply(after, using)


# ---- rebuilding from the ledger, set-based (a bulk load, a migration, a restore, 5 M households)

# Each household's state at the end of each of its event days (the latest-id event so far: a running
# MAX over the days), kept where it differs from the day before; +1 for the state entered, −1 for the
# one left. Window functions: SQLite ≥ 3.25 and PostgreSQL alike. {where}: which events.
MOVES = """
WITH tops AS (
    SELECT household_id, occurred_on AS day,
           MAX(id) OVER (PARTITION BY household_id ORDER BY occurred_on) AS top
    FROM {events} {where}
), days AS (
    SELECT DISTINCT household_id, day, top FROM tops
), states AS (
    SELECT d.household_id, d.day, e.to_state AS state,
           LAG(e.to_state) OVER (PARTITION BY d.household_id ORDER BY d.day) AS prev
    FROM days d JOIN {events} e ON e.id = d.top
), moves AS (
    SELECT household_id, day, state, 1 AS n FROM states WHERE prev IS NULL OR prev <> state
    UNION ALL
    SELECT household_id, day, prev, -1 FROM states WHERE prev IS NOT NULL AND prev <> state
)
"""
# The moves of active households summed per village and day, into {into} (the table, or a scratch
# table for households added to a filled one).
VILLAGE_ROWS = MOVES + """
INSERT INTO {into} (grain, unit, day, plan_year, heating_path, state, n)
SELECT {grain}, h.village_code, m.day, h.plan_year, h.heating_path, m.state, SUM(m.n)
FROM moves m JOIN {households} h ON h.id = m.household_id
WHERE h.archived = %s
GROUP BY h.village_code, m.day, h.plan_year, h.heating_path, m.state
HAVING SUM(m.n) <> 0
"""
# The village rows of {source} summed per county ({unit}) and day or month ({day}), into the table
# ({upsert}: added to rows already there; SQLite's parser needs the WHERE before an ON CONFLICT).
GRAIN_ROWS = """
INSERT INTO {table} (grain, unit, day, plan_year, heating_path, state, n)
SELECT %s, {unit}, {day}, plan_year, heating_path, state, SUM(n)
FROM {source} WHERE grain = %s
GROUP BY {unit}, {day}, plan_year, heating_path, state
HAVING SUM(n) <> 0 {upsert}
"""
UPSERT = "ON CONFLICT (grain, unit, day, plan_year, heating_path, state) DO UPDATE SET n = {table}.n + excluded.n"
SCRATCH = "asof_added"
MONTH = {"postgresql": "CAST(DATE_TRUNC('month', {}) AS date)", "sqlite": "DATE({}, 'start of month')"}
SET_BASED_FROM = 2000  # new households in one run of consecutive ids: added by SQL rather than in Python


def _names(connection) -> dict:
    q = connection.ops.quote_name
    return {"table": q(ProgressDelta._meta.db_table), "events": q(LifecycleEvent._meta.db_table),
            "households": q(Household._meta.db_table), "county": COUNTY}


def _village_sql(connection, into: str, where: str = "") -> str:
    return VILLAGE_ROWS.format(into=into, grain=VILLAGE_DAY, where=where, **_names(connection))


def _grain_sql(connection, grain: int, source: str, upsert: bool) -> str:
    """The statement writing `grain`'s rows from the village rows of `source` (params: grain, VILLAGE_DAY)."""
    names = _names(connection)
    unit = "unit" if grain == VILLAGE_DAY else f"SUBSTR(unit, 1, {COUNTY})"
    day = MONTH[connection.vendor].format("day") if grain == COUNTY_MONTH else "day"
    return GRAIN_ROWS.format(unit=unit, day=day, source=source, upsert=UPSERT.format(**names) if upsert else "",
                             **names)


def _runs(ids: list[int]):
    """Sorted distinct ids → runs of consecutive ids, as (first, last)."""
    first = last = None
    for pk in ids:
        if last is not None and pk == last + 1:
            last = pk
            continue
        if first is not None:
            yield first, last
        first = last = pk
    if first is not None:
        yield first, last


def added(household_ids, using: str = "default") -> None:
    """New households (with their lifecycle events) join the table: a long run of consecutive ids (an
    import's block) set-based — the range holds exactly those households — the rest in Python."""
    connection, few = connections[using], []
    for first, last in _runs(sorted(set(household_ids))):
        if last - first + 1 < SET_BASED_FROM:
            few += range(first, last + 1)
            continue
        _add_range(connection, first, last)
    apply(contributions(few, using), using)


def added_written(households: dict, events) -> None:
    """New households from what a bulk insert has just written, without reading it back:
    households {pk: (village, plan year, path)}; events (household_id, to_state, occurred_on) in the
    order they were inserted (so in id order)."""
    per = defaultdict(list)
    for order, (hh, to_state, day) in enumerate(events):
        per[hh].append((order, to_state, day))
    out = Counter()
    for hh, unit in households.items():
        _add_steps(out, *unit, per[hh])
    apply(out)


def _add_range(connection, first: int, last: int) -> None:
    """The households with ids first…last (all new): their village rows once into a scratch table,
    then each grain's rows from it added to the table."""
    table, scratch = _names(connection)["table"], connection.ops.quote_name(SCRATCH)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {scratch} AS SELECT * FROM {table} WHERE 1 = 0")
        cursor.execute(_village_sql(connection, scratch, "WHERE household_id BETWEEN %s AND %s"), [first, last, False])
        for grain in (VILLAGE_DAY, COUNTY_DAY, COUNTY_MONTH):
            cursor.execute(_grain_sql(connection, grain, scratch, upsert=True), [grain, VILLAGE_DAY])
        cursor.execute(f"DROP TABLE {scratch}")  # on an error the transaction's rollback takes it away


def rebuild(using: str = "default", progress=None) -> int:
    """Recompute the whole table from the ledger (in one transaction; the old rows stay until it
    commits). progress(step, steps) after each of its four statements. Returns the rows written."""
    connection = connections[using]
    names = _names(connection)
    statements = [
        (f"DELETE FROM {names['table']}", []),
        (_village_sql(connection, names["table"]), [False]),
        (_grain_sql(connection, COUNTY_DAY, names["table"], upsert=False), [COUNTY_DAY, VILLAGE_DAY]),
        (_grain_sql(connection, COUNTY_MONTH, names["table"], upsert=False), [COUNTY_MONTH, VILLAGE_DAY]),
    ]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for step, (sql, params) in enumerate(statements, 1):
            cursor.execute(sql, params)
            if progress:
                progress(step, len(statements))
    return ProgressDelta.objects.using(using).count()
