"""Fast inserts for the large writes (imports, the demo): COPY on PostgreSQL, executemany on
SQLite, with values prepared once per column instead of through Django's per-value compiler.

Used only inside a transaction by code that has already validated every row; it sets auto_now
fields and primary keys like bulk_create would.
"""
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


def insert_rows(model, attnames: list[str], rows, *, prepare=False) -> None:
    """INSERT plain tuples into `model`'s table (columns `attnames`; the primary key is left to
    the database when not named). For batch results written as arrays, where building model
    instances would cost more than the work itself. Values are in database form, or Python
    values of the fields with prepare=True (dates, datetimes, decimals converted once per
    distinct value, where the backend needs it)."""
    table = model._meta.db_table
    fields = [model._meta.get_field(a) for a in attnames]
    columns = [f.column for f in fields]
    if prepare and connection.vendor != "postgresql":  # psycopg adapts these itself
        rows = _prepared(fields, rows)
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({placeholders})', rows)


def _prepared(fields, rows):
    preps = [(i, f, {}) for i, f in enumerate(fields) if isinstance(f, NEEDS_PREP)]
    for row in rows:
        if preps:
            row = list(row)
            for i, f, memo in preps:
                value = row[i]
                try:
                    row[i] = memo[value]
                except KeyError:
                    row[i] = memo[value] = f.get_db_prep_save(value, connection)
                except TypeError:  # not hashable
                    row[i] = f.get_db_prep_save(value, connection)
        yield row
