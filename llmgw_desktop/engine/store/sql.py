"""Hand-written SQL that runs on either engine: one placeholder style, and the few functions
each engine spells its own way (JSON fields, substring search, a table's columns).

The store's few hand-written statements (recorder rows, refusal counters, search, migrations)
are written with SQLite's `?` placeholders. PostgreSQL's driver (psycopg) takes `%s`, and reads
a literal `%` as the start of one, so `portable` rewrites a statement for the engine it runs
on. Statements hold no quoted `?` (a test would see it fail on PostgreSQL), so the rewrite is a
plain substitution.
"""

from __future__ import annotations

from llmgw_desktop.engine.store.orm import peewee

__all__ = [
    "column_types",
    "contains",
    "is_postgresql",
    "json_field",
    "json_number",
    "portable",
    "store_time",
    "writable_columns",
]


def is_postgresql(database: peewee.Database) -> bool:
    """True when `database` is a PostgreSQL one (any peewee flavour of it)."""
    return isinstance(database, peewee.PostgresqlDatabase)


def portable(database: peewee.Database, statement: str) -> str:
    """`statement` (written with `?` placeholders) in the placeholder style of `database`."""
    if not is_postgresql(database):
        return statement
    return statement.replace("%", "%%").replace("?", "%s")


def writable_columns(database: peewee.Database, table: str) -> set[str]:
    """The columns of `table` a row may be written into (PostgreSQL: not generated ones)."""
    if not is_postgresql(database):
        return {row[1] for row in database.execute_sql(f"PRAGMA table_info({table})")}
    # The catalog itself, not information_schema: its view costs a millisecond or more, and
    # the recorder asks on every flush. A table that is not there has no columns.
    cursor = database.execute_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0"
        " AND NOT attisdropped AND attgenerated = '' AND attidentity = ''",
        (table,),
    )
    return {row[0] for row in cursor.fetchall()}


def store_time(database: peewee.Database) -> float | None:
    """PostgreSQL: the server's clock (Unix seconds), the one time every process sharing the
    store agrees on; None elsewhere (an SQLite file is one machine's, so its clock is ours)."""
    if not is_postgresql(database):
        return None
    row = database.execute_sql("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    return float(row[0])


def column_types(database: peewee.Database, table: str) -> dict[str, str]:
    """PostgreSQL: each column of `table` with its type as SQL spells it (`double precision`,
    `bigint`, `text` ...), for casts a statement needs to type its parameters."""
    cursor = database.execute_sql(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (table,),
    )
    return {name: kind for name, kind in cursor.fetchall()}


def json_field(database: peewee.Database, column: str, *path: str) -> str:
    """SQL for the value at `path` in the JSON text of `column` (None where it is missing)."""
    if not is_postgresql(database):
        return f"json_extract({column}, '$.{'.'.join(path)}')"
    return f"({column}::json #>> '{{{','.join(path)}}}')"


def json_number(database: peewee.Database, column: peewee.Field, *path: str) -> peewee.ColumnBase:
    """A peewee expression for the number at `path` in the JSON text of `column`."""
    if not is_postgresql(database):
        return peewee.fn.json_extract(column, "$." + ".".join(path))
    # `path` names come from the caller's constants, never from a request.
    steps = peewee.SQL("#>> '{" + ",".join(path) + "}'")
    return peewee.Cast(peewee.NodeList((peewee.Cast(column, "json"), steps)), "numeric")


def contains(database: peewee.Database, column: peewee.Node, needle: str) -> peewee.Node:
    """`column` holds `needle` (lower case), ignoring case; a substring test with no wildcards
    to escape in what the person typed (SQLite's `instr`, PostgreSQL's `strpos`)."""
    find = peewee.fn.strpos if is_postgresql(database) else peewee.fn.instr
    return find(peewee.fn.lower(column), needle) > 0
