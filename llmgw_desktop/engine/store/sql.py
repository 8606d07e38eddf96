"""Hand-written SQL that runs on either engine: one placeholder style, written once.

The store's few hand-written statements (recorder rows, refusal counters, search, migrations)
are written with SQLite's `?` placeholders. PostgreSQL's driver (psycopg) takes `%s`, and reads
a literal `%` as the start of one, so `portable` rewrites a statement for the engine it runs
on. Statements hold no quoted `?` (a test would see it fail on PostgreSQL), so the rewrite is a
plain substitution.
"""

from __future__ import annotations

import peewee

__all__ = ["is_postgresql", "portable"]


def is_postgresql(database: peewee.Database) -> bool:
    """True when `database` is a PostgreSQL one (any peewee flavour of it)."""
    return isinstance(database, peewee.PostgresqlDatabase)


def portable(database: peewee.Database, statement: str) -> str:
    """`statement` (written with `?` placeholders) in the placeholder style of `database`."""
    if not is_postgresql(database):
        return statement
    return statement.replace("%", "%%").replace("?", "%s")
