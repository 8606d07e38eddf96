"""Moving up: copy a laptop's SQLite store into a PostgreSQL database, verified by row counts.

`copy_store` opens both stores the way the app does (`Database.open`, so both are migrated to
the current schema first: an SQLite file left by an older version copies as well, and a newer
one is refused untouched), then copies every table of that schema except the migrations'
own record (`schema_migrations`: the target keeps its own). Rows are copied as they are:
primary keys, times, and the vault's sealed records byte for byte (they are bound to their
record id, not to the database, so the same master key opens them on the server).

The copy runs on the target's database thread as one PostgreSQL transaction: the refusal of a
non-empty target, the emptying `force` asks for, and every row commit together or not at all.
Rows move in batches of `BATCH_ROWS` (memory stays bounded at any store size), read from one
SQLite read transaction, so every table is copied from the same moment. Columns PostgreSQL
fills itself (the recorder's generated search vector) are left to it; the recorder's `rowid`
identity takes SQLite's rowid, so "oldest first" keeps its order, and every identity sequence
is moved past the highest copied value so new rows do not collide. After the commit the rows
are counted again on both sides: the report says, per table, whether they agree.

Nothing here knows whether a gateway is writing the SQLite file meanwhile: the caller (the
`db copy` command) holds the data dir's instance lock for that.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from llmgw_desktop.engine.errors import first_line
from llmgw_desktop.engine.store.db import Database
from llmgw_desktop.engine.store.errors import StoreError
from llmgw_desktop.engine.store.location import redacted_url
from llmgw_desktop.engine.store.orm import peewee

__all__ = [
    "BATCH_ROWS",
    "TARGET_SCHEMES",
    "CopyRefused",
    "CopyReport",
    "TableCount",
    "copy_store",
    "target_url_problem",
]

log = logging.getLogger(__name__)

BATCH_ROWS = 1000  # rows read and inserted at a time: bounds the memory a copy needs
TARGET_SCHEMES = ("postgresql", "postgres")
# The target's own record of the migrations it ran; copying the source's would lie about it.
NOT_COPIED = frozenset({"schema_migrations"})
_SOURCE_BUSY_TIMEOUT_MS = 5000


class CopyRefused(StoreError):
    """The copy was not made (nothing was written); the message says why and what to do."""


@dataclass(frozen=True)
class TableCount:
    """One table's rows on each side after the copy."""

    table: str
    source_rows: int
    target_rows: int

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows


@dataclass(frozen=True)
class CopyReport:
    """What `copy_store` did: where from and to (no password), and the counts per table."""

    source: str
    target: str
    schema_version: int
    tables: tuple[TableCount, ...]
    emptied: tuple[str, ...]  # tables that held rows and `force` emptied first

    @property
    def mismatched(self) -> tuple[str, ...]:
        """The tables whose counts differ (empty when the copy is verified)."""
        return tuple(t.table for t in self.tables if not t.matches)

    @property
    def ok(self) -> bool:
        return not self.mismatched


def target_url_problem(url: str) -> str | None:
    """Why `url` cannot be a copy's target, or None when it names a PostgreSQL database."""
    parts = urlsplit(url)
    if parts.scheme not in TARGET_SCHEMES:
        # Only the scheme is shown: a string that is no URL may hold a password anywhere.
        return f"must be a postgresql:// URL (not {parts.scheme or 'a URL'!r})"
    if not parts.hostname and "host=" not in parts.query:
        return "must name the server: postgresql://user@host:port/database"
    if not parts.path.strip("/"):
        return "must name the database: postgresql://user@host:port/database"
    return None


async def copy_store(
    source_path: Path, target_url: str, *, force: bool = False, batch_rows: int = BATCH_ROWS
) -> CopyReport:
    """Copy the SQLite store at `source_path` into the PostgreSQL database at `target_url`.

    Raises:
        CopyRefused: a bad target URL, no source file, or a target holding rows without `force`.
        StoreError: either store cannot be opened, or the copy failed (and was rolled back).
    """
    if (problem := target_url_problem(target_url)) is not None:
        raise CopyRefused(f"the target {problem}")
    if not await asyncio.to_thread(source_path.is_file):
        raise CopyRefused(f"there is no SQLite store at {source_path}: nothing to copy")
    where = redacted_url(target_url)
    source = Database(source_path)
    await source.open()  # migrates an older file, refuses a newer one
    version = source.schema_version
    await source.close()  # folds the WAL in: the copy reads the file on its own connection
    target = Database(source_path, url=target_url)
    await target.open()
    try:
        if target.schema_version != version:
            raise CopyRefused(
                f"the target {where} is at schema {target.schema_version}, the source at "
                f"{version}: copy with the version of llmgw-desktop that wrote the target"
            )
        database = target.models.database
        log.info("copying the store %s into %s", source_path, where)
        try:
            copied = await target.run(
                lambda: _copy_all(database, source_path, force=force, batch_rows=batch_rows)
            )
        except (peewee.DatabaseError, psycopg.Error, sqlite3.Error) as exc:
            raise StoreError(
                f"the copy into {where} failed and was rolled back: {first_line(exc)}"
            ) from None
        emptied, source_counts = copied
        target_counts = await target.run(lambda: _count(database, list(source_counts)))
    finally:
        await target.close()
    tables = tuple(
        TableCount(name, source_counts[name], target_counts[name]) for name in source_counts
    )
    report = CopyReport(str(source_path), where, version, tables, emptied)
    log.info(
        "copied %d rows into %s; %s",
        sum(t.source_rows for t in tables),
        where,
        "counts agree" if report.ok else f"counts differ in {', '.join(report.mismatched)}",
    )
    return report


def _copy_all(
    target: peewee.Database, source_path: Path, *, force: bool, batch_rows: int
) -> tuple[tuple[str, ...], dict[str, int]]:
    """Inside the target's transaction: refuse or empty, copy every table, move identities.

    Returns the tables emptied first and each table's row count in the source snapshot.
    """
    tables = _tables_in_copy_order(target)
    occupied = tuple(t for t in tables if _has_rows(target, t))
    if occupied and not force:
        raise CopyRefused(
            f"the target already holds rows (in {', '.join(occupied)}); nothing was copied. "
            "Copy into an empty database, or pass --force to empty these tables first."
        )
    if occupied:
        # All at once: a table may only be emptied together with those referencing it.
        target.execute_sql(f"TRUNCATE {', '.join(_quoted(t) for t in tables)}")
        log.warning("emptied %s in the target before copying (--force)", ", ".join(occupied))
    source = sqlite3.connect(str(source_path), isolation_level=None)
    try:
        source.execute(f"PRAGMA busy_timeout = {_SOURCE_BUSY_TIMEOUT_MS}")
        source.execute("PRAGMA query_only = 1")
        source.execute("BEGIN")  # one snapshot: every table as of the same moment
        counts = {t: _copy_table(source, target, t, batch_rows) for t in tables}
        source.execute("COMMIT")
    finally:
        source.close()
    return occupied, counts


def _copy_table(
    source: sqlite3.Connection, target: peewee.Database, table: str, batch_rows: int
) -> int:
    """Copy one table in batches; returns its row count in the source (0: not in the source)."""
    source_columns = [row[1] for row in source.execute(f"PRAGMA table_info({_quoted(table)})")]
    if not source_columns:
        return 0  # a table only the server has (nothing on a laptop to fill it with)
    writable, counters = _target_columns(target, table)
    unplaced = [c for c in source_columns if c not in writable]
    if unplaced:
        raise StoreError(f"the target's {table} has no column {', '.join(unplaced)}")
    columns = [c for c in writable if c in source_columns]
    selected = list(columns)
    # SQLite's own rowid (not a declared column) fills the server's copy of it.
    if "rowid" in counters and "rowid" not in columns and _has_rowid(source, table):
        columns.append("rowid")
        selected.append("rowid")
    names = ", ".join(_quoted(c) for c in columns)
    overriding = " OVERRIDING SYSTEM VALUE" if set(columns) & set(counters) else ""
    insert = (
        f"INSERT INTO {_quoted(table)} ({names}){overriding}"  # noqa: S608 - names from the schema
        f" VALUES ({', '.join(['%s'] * len(columns))})"
    )
    order = " ORDER BY rowid" if "rowid" in selected else ""
    rows = source.execute(
        f"SELECT {', '.join(_quoted(c) for c in selected)} FROM {_quoted(table)}{order}"  # noqa: S608
    )
    with target.cursor() as cursor:
        while batch := rows.fetchmany(batch_rows):
            cursor.executemany(insert, batch)
    for column in counters:
        # Past the highest copied value, so the next row the server numbers is new.
        target.execute_sql(
            f"SELECT setval(pg_get_serial_sequence(%s, %s),"  # noqa: S608
            f" coalesce(max({_quoted(column)}), 0) + 1, false) FROM {_quoted(table)}",
            (table, column),
        )
    return int(source.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0])  # noqa: S608


def _tables_in_copy_order(target: peewee.Database) -> list[str]:
    """The target's tables to copy, each after the tables its foreign keys point to."""
    cursor = target.execute_sql(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    tables = sorted(row[0] for row in cursor.fetchall() if row[0] not in NOT_COPIED)
    cursor = target.execute_sql(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
    )
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in cursor.fetchall():
        if child in parents and parent != child:
            parents[child].add(parent)
    return _parents_first(parents)


def _parents_first(parents: dict[str, set[str]]) -> list[str]:
    """The tables ordered so that each comes after every table it references."""
    ordered: list[str] = []
    placed: set[str] = set()
    for _ in range(len(parents)):
        ready = [t for t in sorted(parents) if t not in placed and parents[t] <= placed]
        if not ready:
            break
        ordered.extend(ready)
        placed.update(ready)
    # A cycle cannot be ordered; PostgreSQL will name the key that fails.
    return ordered + sorted(set(parents) - placed)


def _target_columns(target: peewee.Database, table: str) -> tuple[list[str], set[str]]:
    """The columns of `table` a copy may write, in order, and which of them a sequence numbers
    (identity or serial columns)."""
    cursor = target.execute_sql(
        "SELECT column_name, is_identity = 'YES' OR coalesce(column_default, '') LIKE 'nextval(%%'"
        " FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position",
        (table,),
    )
    rows = cursor.fetchall()
    return [name for name, _ in rows], {name for name, numbered in rows if numbered}


def _has_rows(target: peewee.Database, table: str) -> bool:
    row = target.execute_sql(f"SELECT EXISTS (SELECT 1 FROM {_quoted(table)})").fetchone()  # noqa: S608
    return bool(row[0])


def _has_rowid(source: sqlite3.Connection, table: str) -> bool:
    """False for a `WITHOUT ROWID` table."""
    try:
        source.execute(f"SELECT rowid FROM {_quoted(table)} LIMIT 0")  # noqa: S608
    except sqlite3.OperationalError:
        return False
    return True


def _count(target: peewee.Database, tables: Iterable[str]) -> dict[str, int]:
    """Each table's rows as committed in the target."""
    return {
        t: int(target.execute_sql(f"SELECT count(*) FROM {_quoted(t)}").fetchone()[0])  # noqa: S608
        for t in tables
    }


def _quoted(name: str) -> str:
    """A table or column name as an SQL identifier (names come from the schema, not a user)."""
    return '"' + name.replace('"', '""') + '"'
