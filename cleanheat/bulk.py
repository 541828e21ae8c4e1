"""Fast inserts for the large writes (imports, the demo): COPY on PostgreSQL, executemany on
SQLite, with values prepared once per column instead of through Django's per-value compiler.

Used only inside a transaction by code that has already validated every row; it sets auto_now
fields and primary keys like bulk_create would.
"""
from contextlib import contextmanager

from django.db import connection, models

NEEDS_PREP = (models.DateTimeField, models.DateField, models.DecimalField, models.JSONField, models.UUIDField)


def allocate_ids(model, n: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
            return [row[0] for row in cur.fetchall()]
        # SQLite: the transaction holds the write lock (IMMEDIATE), so nobody else takes these ids
        cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        start = cur.fetchone()[0] + 1
        return list(range(start, start + n))


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
            return
        placeholders = ", ".join(["%s"] * len(columns))
        cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({placeholders})', rows)


def insert_columns(model, columns: dict[str, list]) -> None:
    """insert_rows for values given column by column in Python form (dates, datetimes, decimals):
    where the backend needs them converted, each distinct value is converted once."""
    data = []
    for attname, values in columns.items():
        field = model._meta.get_field(attname)
        if connection.vendor != "postgresql" and isinstance(field, NEEDS_PREP):  # psycopg adapts these itself
            memo = {}
            for value in set(values):
                memo[value] = field.get_db_prep_save(value, connection)
            values = [memo[v] for v in values]
        data.append(values)
    insert_rows(model, list(columns), zip(*data))


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
