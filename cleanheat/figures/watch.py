"""Noticing every write to the tables figures are computed from, whatever path it takes: services,
imports (bulk inserts and updates), the system administration, management commands, data loaders.

Each database connection gets an execute wrapper that recognises INSERT, UPDATE, DELETE and TRUNCATE
statements on those tables (bulk COPY on PostgreSQL bypasses Django's cursor: cleanheat/bulk.py
reports it through changed()). Then:

- on SQLite, the token is replaced right after the write, inside its transaction (or the implicit
  one of an autocommit statement), so the new data and the new token become visible together
  (SQLite has one writer at a time, so this costs no concurrency);
- on PostgreSQL, it is replaced right after the transaction commits (replacing it inside would make
  every writer wait on that one row while, say, an import holds it for minutes); in the instant
  between commit and replacement a reader may still be given the figures of before the write, and
  whatever it stores under the old token is never asked for again;
- either way, the writing connection itself reads no cached figure until it commits
  (has_uncommitted_change), since it sees its own changes and no one else does yet.
"""
import re

from django.apps import apps
from django.db import connections
from django.db.backends.signals import connection_created

from . import services

# Apps whose tables the cached figures are computed from (their models, including m2m tables).
SOURCE_APPS = ("regions", "ledger", "rules", "plan", "procurement")
WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)
TRUNCATE = re.compile(r"\s*TRUNCATE\b", re.I)

_tables: frozenset | None = None


def source_tables() -> frozenset:
    global _tables
    if _tables is None:
        _tables = frozenset(model._meta.db_table for label in SOURCE_APPS
                            for model in apps.get_app_config(label).get_models(include_auto_created=True))
    return _tables


def writes_source(sql) -> bool:
    """Does this statement change a table figures are computed from?"""
    if not isinstance(sql, str):
        return False
    if match := WRITE.match(sql):
        return match.group(1) in source_tables()
    if TRUNCATE.match(sql):
        return any(table in sql for table in source_tables())
    return False


class _Committed:
    """Left in the transaction's on-commit hooks at its first such write: marks the connection as
    holding uncommitted changes, and on PostgreSQL replaces the token once they are committed."""

    def __init__(self, alias):
        self.alias = alias

    def __call__(self):
        if connections[self.alias].vendor != "sqlite":
            services.bump_quietly(self.alias)


def has_uncommitted_change(connection) -> bool:
    # run_on_commit holds (savepoint ids, callback, robust); Django drops the callbacks of a rolled
    # back savepoint or transaction, so a write undone is no longer counted here.
    return connection.in_atomic_block and any(isinstance(hook, _Committed) for _, hook, _ in connection.run_on_commit)


def changed(connection) -> None:
    """Data figures derive from has just been written on `connection`."""
    if not connection.in_atomic_block:
        services.bump_quietly(connection.alias)  # autocommit
        return
    if has_uncommitted_change(connection):
        return  # this transaction already counted
    if connection.vendor == "sqlite":
        services.bump_quietly(connection.alias)
    connection.on_commit(_Committed(connection.alias), robust=True)


def _watch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if writes_source(sql):
        changed(context["connection"])
    return result


def _install_on(connection, **kwargs):
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


def install() -> None:
    connection_created.connect(_install_on, dispatch_uid="cleanheat.figures.watch")
    for connection in connections.all(initialized_only=True):
        _install_on(connection)
