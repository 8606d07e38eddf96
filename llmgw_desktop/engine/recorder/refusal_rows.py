"""The SQL of the `refusals` table (schema 11), by hand, and why.

The table has no peewee model: it is written only as counters added in place, an upsert that
adds to the stored count (`count = refusals.count + excluded.count`, the table named because
PostgreSQL finds a bare `count` ambiguous), which reads plainly as SQL and is the same
statement in SQLite and PostgreSQL (placeholders through `store.sql.portable`). Every function
runs on the database thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import portable

__all__ = ["RefusalRow", "add_counts", "counts_since", "delete_before", "recorded_since"]

# minute, who, path group, status, code, count
RefusalRow = tuple[int, str, str, int, str, int]


def add_counts(database: peewee.Database, rows: Sequence[RefusalRow]) -> None:
    """Add each row's count to its stored counter (made when new), in one transaction."""
    with database.atomic():
        database.cursor().executemany(
            portable(
                database,
                "INSERT INTO refusals (minute, who, path_group, status, code, count)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT"
                " (minute, who, path_group, status, code)"
                " DO UPDATE SET count = refusals.count + excluded.count",
            ),
            rows,
        )


def delete_before(database: peewee.Database, cutoff: float) -> int:
    """Drop the counters of minutes before `cutoff`; how many rows went."""
    sql = portable(database, "DELETE FROM refusals WHERE minute < ?")
    cursor = database.execute_sql(sql, (cutoff,))
    return int(cursor.rowcount)


def counts_since(database: peewee.Database, floor: int) -> list[RefusalRow]:
    """Every stored counter from the minute `floor` on."""
    sql = "SELECT minute, who, path_group, status, code, count FROM refusals WHERE minute >= ?"
    cursor = database.execute_sql(portable(database, sql), (floor,))
    return [tuple(row) for row in cursor.fetchall()]


def recorded_since(
    database: peewee.Database, states: Sequence[str], since: float
) -> list[tuple[str, str | None, int]]:
    """The recorder's rows in `states` started at or after `since`, counted by principal and
    error code (one index range per state: `requests_state_started`)."""
    marks = ", ".join("?" * len(states))
    sql = (
        "SELECT owner_principal, error_code, count(*) FROM requests"  # noqa: S608
        f" WHERE state IN ({marks}) AND started_at >= ? GROUP BY owner_principal, error_code"
    )
    cursor = database.execute_sql(portable(database, sql), (*states, since))
    return [(str(who), code, int(n)) for who, code, n in cursor.fetchall()]
