"""Fast inserts for the large writes (imports, the demo): COPY on PostgreSQL, executemany on
SQLite, with values prepared once per column instead of through Django's per-value compiler.

Used only inside a transaction by code that has already validated every row; it sets auto_now
fields and primary keys like bulk_create would.
"""
import itertools
import threading
from queue import Full, Queue
from contextlib import contextmanager

from django.db import connection, models

from cleanheat.figures import watch

NEEDS_PREP = (models.DateTimeField, models.DateField, models.DecimalField, models.JSONField, models.UUIDField)
RESERVE_IN_BACKGROUND = 10000  # ids; fewer are quicker to take than a second connection is to open


def allocate_ids(model, n: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT min(v), max(v) FROM (SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS v "
                        "FROM generate_series(1, %s)) taken", [table, n])
            low, high = cur.fetchone()
            if high - low + 1 == n:  # one block: nobody took ids in between (the usual case)
                return list(range(low, high + 1))
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
            return [row[0] for row in cur.fetchall()]
        # SQLite: the transaction holds the write lock (IMMEDIATE), so nobody else takes these ids
        cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        start = cur.fetchone()[0] + 1
        return list(range(start, start + n))


def reserve_ids(model, n: int):
    """allocate_ids, started now; call the result to get them. On PostgreSQL the ids are taken
    from the sequence on a second connection while this one goes on (a sequence is outside
    transactions, so ids of an import that is then refused are only a gap); SQLite takes them
    in the writing transaction."""
    if connection.vendor != "postgresql" or n < RESERVE_IN_BACKGROUND:
        taken = allocate_ids(model, n) if n else []
        return lambda: taken
    result = {}

    def take():
        try:
            result["ids"] = allocate_ids(model, n)
        except Exception as exc:  # handed to the caller
            result["error"] = exc
        finally:
            connection.close()  # this thread's own connection

    worker = threading.Thread(target=take, name="reserve-ids")
    worker.start()

    def ids():
        worker.join()
        if "error" in result:
            raise result["error"]
        return result["ids"]
    return ids


def insert(model, objs: list) -> None:
    """INSERT every object of `objs` (unsaved instances of `model`) and give each its id."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields]
    if isinstance(model._meta.pk, models.AutoField):  # else the caller set the key (one-to-one)
        for obj, pk in zip(objs, allocate_ids(model, len(objs))):
            obj.pk = pk
    for f in fields:  # auto_now / auto_now_add, as save() would
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = f.pre_save(objs[0], add=True)
            for obj in objs[1:]:
                setattr(obj, f.attname, value)
    table = model._meta.db_table
    columns = [f.column for f in fields]
    attnames = [f.attname for f in fields]
    if connection.vendor == "postgresql":
        cols = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cur:
            with cur.cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for obj in objs:
                    copy.write_row([getattr(obj, a) for a in attnames])
        _copied(table)
        return
    preps = [(i, f) for i, f in enumerate(fields) if isinstance(f, NEEDS_PREP)]
    rows = []
    for obj in objs:
        row = [getattr(obj, a) for a in attnames]
        for i, f in preps:
            row[i] = f.get_db_prep_save(row[i], connection)
        rows.append(row)
    placeholders = ", ".join(["%s"] * len(columns))
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cur:
        cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({placeholders})', rows)


def _copied(table: str) -> None:
    """COPY goes past Django's cursor, where cached figures notice writes: tell them."""
    if watch.writes_source(f'INSERT INTO "{table}"'):
        watch.changed(connection)


def insert_rows(model, attnames: list[str], rows) -> None:
    """INSERT plain tuples, already in database form, into `model`'s table (columns `attnames`;
    the primary key is left to the database when not named). For batch results written as
    arrays, where building model instances would cost more than the work itself."""
    table = model._meta.db_table
    columns = [model._meta.get_field(a).column for a in attnames]
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter  # sends from a thread while we prepare more rows
            raw = cur.cursor
            with raw.copy(f'COPY "{table}" ({cols}) FROM STDIN', writer=QueuedLibpqWriter(raw)) as copy:
                for row in rows:
                    copy.write_row(row)
            _copied(table)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({placeholders})', rows)


def insert_columns(model, columns: dict[str, list]) -> None:
    """insert_rows for values given column by column in Python form (dates, datetimes, decimals):
    where the backend needs them converted, each distinct value is converted once."""
    insert_chunks(model, [columns])


def insert_chunks(model, chunks) -> None:
    """insert_columns for a stream of chunks (dicts of equal-length columns, the same keys in
    each), in one statement: the next chunk can be prepared while the database stores this one."""
    chunks = _ahead(chunks)
    first = next(chunks, None)
    if first is None:
        return
    attnames = list(first)
    fields = [model._meta.get_field(a) for a in attnames]
    preps = [(k, f, {}) for k, f in enumerate(fields)
             if connection.vendor != "postgresql" and isinstance(f, NEEDS_PREP)]  # psycopg adapts these itself

    def rows():
        for chunk in itertools.chain([first], chunks):
            data = [chunk[a] for a in attnames]
            for k, field, memo in preps:
                for value in set(data[k]) - memo.keys():
                    memo[value] = field.get_db_prep_save(value, connection)
                data[k] = [memo[v] for v in data[k]]
            yield from zip(*data)

    insert_rows(model, attnames, rows())


def _ahead(items, depth: int = 2):
    """Iterate `items` in a thread, up to `depth` ahead: making the next chunk (encrypting, say)
    overlaps with the database storing this one (SQLite and psycopg release the GIL meanwhile)."""
    queue, done, stop = Queue(maxsize=depth), object(), threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.2)
                return True
            except Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put(item):
                    return  # the consumer gave up (the write failed)
        except BaseException as exc:  # handed to the consumer
            put(_Failed(exc))
        put(done)

    threading.Thread(target=produce, name="bulk-ahead", daemon=True).start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()


class _Failed:
    def __init__(self, error):
        self.error = error


@contextmanager
def large_write(cache_mb: int = 256):
    """SQLite keeps at most 2 MB of pages in memory by default: a write touching every index of
    a large table then re-reads pages all the time. Give this connection a larger page cache for
    the duration of the write (PostgreSQL manages its own buffers)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        before = cur.fetchone()[0]
        cur.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = {int(before)}")
