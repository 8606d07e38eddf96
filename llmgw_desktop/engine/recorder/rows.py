"""The only SQL the recorder writes by hand on its `requests` table, and why.

Everything else reads and writes the table through the peewee models (`store/models.py`). These
statements stay hand-written because the ORM cannot say them, or says them too slowly:

- the batch write (`write_entries`): one `BEGIN IMMEDIATE` ... `COMMIT` around the inserts
  and updates, by hand because after SQLITE_FULL SQLite has already rolled back and the ORM's
  own rollback would hide the real error (on PostgreSQL, a savepoint inside the call's own
  transaction); rows replayed from the spill file are data, so their column names are checked
  against the table first; on both engines the rows go in as one multi-row `INSERT` and one
  `UPDATE ... FROM (VALUES ...)` per column set (`_write_sqlite`, `_write_sets`): on
  PostgreSQL a third quicker than a statement a row, even pipelined, on SQLite half the cost
  (`_write_sqlite` says why);
- closing the rows an earlier run left open (`close_interrupted`): two correlated `UPDATE`s
  that take each row's ending from its job;
- pruning (`principal_counts`, `newest_start_over_share`, `newest_start_over_cap`,
  `delete_oldest`): a bounded `DELETE` by rowid, so a prune holds the database thread for one
  small batch at a time;
- the metrics rebuild (`past_traffic`): one grouped aggregate over the last day.

The desk's reads (pages, counts, full-text search) are `search.py` and
`query.py`. Statements are written with `?` and run through `store.sql.portable`, so they are
the same on both engines; the JSON lookup and the bucketing are each engine's own. Every
function here runs on the database thread.
"""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.recorder.attempts import FAILED_OVER_SQL
from llmgw_desktop.engine.states import ENDINGS, RecordState
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import (
    column_types,
    is_postgresql,
    json_field,
    portable,
    writable_columns,
)

__all__ = [
    "FROM_CACHE_SQL",
    "Entry",
    "NotAsked",
    "apply_entries",
    "close_interrupted",
    "delete_oldest",
    "newest_start_over_cap",
    "newest_start_over_share",
    "past_calls",
    "past_traffic",
    "principal_counts",
    "write_entries",
    "write_order",
]

Entry = dict[str, Any]  # {"insert": row} or {"update": id, "fields": {...}}


def write_entries(database: peewee.Database, entries: list[Entry]) -> None:
    """Apply `entries` in one transaction. By hand, not `atomic()`: after SQLITE_FULL SQLite has
    already rolled back, and the ORM's own rollback would then hide the real error."""
    if is_postgresql(database):
        # The call already runs in a transaction (`Database.run`); a savepoint undoes only this.
        with database.atomic():
            apply_entries(database, entries)
        return
    connection = database.connection()
    connection.execute("BEGIN IMMEDIATE")
    try:
        apply_entries(database, entries)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.rollback()
        raise


def write_order(entries: Iterable[Entry]) -> list[Entry]:
    """`entries` as `apply_entries` writes them: every insert in order, then one update a row
    with its fields merged in order. Cut anywhere and written piece by piece in this order, they
    give the rows one `apply_entries` of them all gives (a replay too long for one transaction).
    Pure; entries of neither kind are left out."""
    inserts: list[Entry] = []
    updates: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if "insert" in entry:
            inserts.append(entry)
        elif isinstance(entry.get("update"), str):
            fields = entry.get("fields")
            merged = updates.setdefault(entry["update"], {})
            merged.update(fields if isinstance(fields, dict) else {})
    return [*inserts, *({"update": rid, "fields": f} for rid, f in updates.items())]


def apply_entries(database: peewee.Database, entries: Iterable[Entry]) -> int:
    """Write `entries` into `requests` (inside the caller's transaction); the inserts' count.
    Inserts first, then every row's updates merged in order, each with one prepared statement
    per column set. Column names are checked against the table: the file is data, not code."""
    known = _requests_columns(database)
    if not known:  # never report success for rows that went nowhere
        raise peewee.OperationalError("no such table: requests")
    postgresql = is_postgresql(database)
    inserts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    updates: dict[str, dict[str, Any]] = {}
    # A row's keys -> what reads its values of the columns the table has (sorted), and the
    # rows of those columns they join: the rows of a batch share a few shapes, so each is
    # sorted, checked for its id and given its list once (a hash of 34 names less a row), and
    # a row's values are read in C by an `itemgetter` (a third of the instructions of
    # `map(row.__getitem__, ...)`; a generator a cell cost 1,200 each in 3.11).
    shapes: dict[tuple[str, ...], _InsertShape] = {}
    for entry in entries:
        if "insert" in entry:
            row = entry["insert"]
            keys = tuple(row)
            shape = shapes.get(keys)
            if shape is None:
                shape = shapes[keys] = _insert_shape(keys, known, inserts)
            values_of, rows = shape
            if values_of is not None:
                values = values_of(row)
                if postgresql:  # SQLite binds a flag as its 0/1 itself
                    values = tuple(map(_cell, values))
                rows.append(values)
        elif isinstance(entry.get("update"), str):
            fields = {k: v for k, v in entry.get("fields", {}).items() if k in known and k != "id"}
            updates.setdefault(entry["update"], {}).update(fields)
    by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for record_id, fields in updates.items():
        if fields:
            columns = tuple(sorted(fields))
            by_columns.setdefault(columns, []).append(
                (*(_cell(fields[c]) for c in columns), record_id)
            )
    if postgresql:
        return _write_sets(database, inserts, by_columns)
    return _write_sqlite(database, inserts, by_columns)


# What reads an inserted row's values (None: a row without an id, not written) and the list of
# rows of its columns they join (`apply_entries`).
_InsertShape = tuple[Callable[[Entry], tuple[Any, ...]] | None, list[tuple[Any, ...]]]


def _insert_shape(
    keys: tuple[str, ...], known: set[str], inserts: dict[tuple[str, ...], list[tuple[Any, ...]]]
) -> _InsertShape:
    """The shape of an inserted row of `keys`: its columns the table has (`known`), sorted,
    and its rows' list in `inserts`, by those columns."""
    columns = tuple(sorted(k for k in keys if k in known))
    if "id" not in columns:
        return None, []
    if len(columns) == 1:  # `itemgetter` of one name gives the value, not a 1-tuple
        return lambda row: (row["id"],), inserts.setdefault(columns, [])
    return operator.itemgetter(*columns), inserts.setdefault(columns, [])


# The columns of SQLite's `requests` as last read, and on which connection at which schema
# version: every flush asked the table (`PRAGMA table_info`, about 40 rows of six cells, 7,000
# instructions a request at the flushes' pace of `bench/request_instructions.py`), where the
# schema's version number is one cell, and changes with any change of any table.
_sqlite_columns: tuple[object, int, set[str]] | None = None


def _requests_columns(database: peewee.Database) -> set[str]:
    """`writable_columns` of `requests`, read again on SQLite only when the schema changed
    (a migration, a table dropped or made again) or the connection is another one."""
    global _sqlite_columns
    if is_postgresql(database):
        return writable_columns(database, "requests")
    connection = database.connection()
    version = connection.execute("PRAGMA schema_version").fetchone()[0]
    cached = _sqlite_columns
    if cached is not None and cached[0] is connection and cached[1] == version:
        return cached[2]
    known = writable_columns(database, "requests")
    _sqlite_columns = (connection, version, known)
    return known


def _write_sqlite(
    database: peewee.Database,
    inserts: dict[tuple[str, ...], list[tuple[Any, ...]]],
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]],
) -> int:
    """SQLite: each column set's rows in a few multi-row statements of fixed sizes; the
    inserts' count. Column names are the table's own (checked above).

    Not a prepared statement run a row at a time (`executemany`): the table's triggers (the
    search index's notes, schema 8) make SQLite keep a statement journal for every statement
    inside the transaction, and a row's statement dirties about seventeen pages (its indexes),
    more than the journal keeps in memory, so each row wrote them all to a temporary file (39
    writes a row). One statement journals each page once. 82 -> 39 us a row inserted, 39 -> 34
    updated, in batches of 250 (docs/PERFORMANCE.md). Since schema 20 an insert meets
    no trigger (the index takes new rows in batches) and updates of indexed rows still do;
    whether inserts alone would now be as cheap a row at a time was not measured.

    Nor one statement of exactly the batch's rows: its text differs from flush to flush, so
    SQLite compiled it anew every time (the insert with its sixteen indexes and triggers, a
    column's expressions per row: about 1.5 M instructions a flush of twenty rows, a fifth of
    the database thread's work). A batch goes in statements of `_STATEMENT_ROWS` sizes, largest
    first, whose texts repeat, so the connection's statement cache keeps them compiled."""
    limit = min(
        _MAX_PARAMETERS, database.connection().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    )
    cursor = database.cursor()
    count = 0
    for columns, values in inserts.items():
        for chunk in _sized_chunks(values, len(columns), limit):
            cursor.execute(_insert_sql(columns, len(chunk)), _flat(chunk))
            count += len(chunk)
    for columns, values in updates.items():
        # Each id once (`apply_entries` merged a row's updates), so each row takes one set.
        for chunk in _sized_chunks(values, len(columns) + 1, limit):
            cursor.execute(_update_sql(columns, len(chunk)), _flat(chunk))
    return count


# The row counts of SQLite's batch statements (`_write_sqlite`): any batch is a sum of these,
# one statement of each at most (beyond the largest, as many of it as it takes).
_STATEMENT_ROWS = (256, 128, 64, 32, 16, 8, 4, 2, 1)


def _sized_chunks(
    values: list[tuple[Any, ...]], width: int, most: int
) -> Iterable[list[tuple[Any, ...]]]:
    """`values` cut into pieces of `_STATEMENT_ROWS` sizes, largest first, each within `most`
    parameters of `width` a row."""
    start, left = 0, len(values)
    for size in _STATEMENT_ROWS:
        if size * width > most:
            continue
        while left >= size:
            yield values[start : start + size]
            start, left = start + size, left - size


def _flat(chunk: list[tuple[Any, ...]]) -> list[Any]:
    return list(itertools.chain.from_iterable(chunk))


@functools.lru_cache(maxsize=64)
def _insert_sql(columns: tuple[str, ...], rows: int) -> str:
    """SQLite's insert of `rows` rows of `columns` (the same string object each time, so the
    statement cache finds it without hashing the text again)."""
    row = "(" + ", ".join("?" * len(columns)) + ")"
    return (
        f"INSERT INTO requests ({', '.join(columns)})"  # noqa: S608
        f" VALUES {', '.join([row] * rows)} ON CONFLICT(id) DO NOTHING"
    )


@functools.lru_cache(maxsize=64)
def _update_sql(columns: tuple[str, ...], rows: int) -> str:
    """SQLite's update of `rows` rows' `columns`, each row's values then its id."""
    names = ", ".join((*columns, "id"))
    row = "(" + ", ".join("?" * (len(columns) + 1)) + ")"
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    return (
        f"WITH v ({names}) AS (VALUES {', '.join([row] * rows)})"  # noqa: S608
        f" UPDATE requests SET {assignments} FROM v WHERE requests.id = v.id"
    )


def _write_sets(
    database: peewee.Database,
    inserts: dict[tuple[str, ...], list[tuple[Any, ...]]],
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]],
) -> int:
    """PostgreSQL: each column set's rows in one statement (or a few, under the server's
    parameter limit); the inserts' count. Column names are the table's own (checked above)."""
    count = 0
    for columns, values in inserts.items():
        for chunk in _chunks(values, len(columns)):
            rows = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
            sql = (
                f"INSERT INTO requests ({', '.join(columns)}) VALUES {rows}"  # noqa: S608
                " ON CONFLICT(id) DO NOTHING"
            )
            database.cursor().execute(sql, [cell for row in chunk for cell in row])
            count += len(chunk)
    types = column_types(database, "requests") if updates else {}
    for columns, values in updates.items():
        names = ", ".join((*columns, "id"))
        # Each value cast to its column's own type: a VALUES list types its columns from what
        # it holds, and a column NULL in every row (an unpriced request's cost) is then text,
        # which the number column refuses. (An empty typed SELECT in a UNION did not help:
        # PostgreSQL types the VALUES side first.)
        placeholders = "(" + ", ".join(f"%s::{types[c]}" for c in (*columns, "id")) + ")"
        for chunk in _chunks(values, len(columns) + 1):
            sql = (
                f"UPDATE requests AS r SET {', '.join(f'{c} = v.{c}' for c in columns)}"  # noqa: S608
                f" FROM (VALUES {', '.join([placeholders] * len(chunk))}) AS v ({names})"
                " WHERE r.id = v.id"
            )
            database.cursor().execute(sql, [cell for row in chunk for cell in row])
    return count


# PostgreSQL takes at most 65,535 parameters a statement (SQLite as many as its build says).
_MAX_PARAMETERS = 60_000


def _chunks(
    values: list[tuple[Any, ...]], width: int, most: int = _MAX_PARAMETERS
) -> Iterable[list[tuple[Any, ...]]]:
    step = max(1, most // width)
    for start in range(0, len(values), step):
        yield values[start : start + step]


def _cell(value: Any) -> Any:
    """A flag as the 0/1 the columns hold on both engines (`FlagField`): SQLite took Python's
    True as 1, PostgreSQL refuses a boolean for an integer column (rows and spill files hold
    True/False)."""
    return int(value) if isinstance(value, bool) else value


def close_interrupted(
    database: peewee.Database, now: float, *, scope: tuple[str, tuple[Any, ...]] = ("", ())
) -> int:
    """End every row still `started`: with its job's ending when the job has ended, else as
    `interrupted` at `now`; how many rows were closed. `scope` narrows the rows: an SQL
    condition starting with ` AND ` and its parameters (the lease reaper's dead owners)."""
    where, where_params = scope
    # Written into the SQL, not bound: only then can either engine's planner use the index of
    # open rows (its condition names the literal state; a parameter could be anything).
    started = f"'{RecordState.STARTED.value}'"
    endings = tuple(ENDINGS)
    marks = ", ".join("?" * len(endings))
    # Assembled from the constants here, never from anything a caller sent.
    ended_job = "SELECT {} FROM jobs WHERE jobs.id = requests.job_id AND jobs.state IN (%s)"
    ended_job %= marks
    job_error_code = json_field(database, "jobs.error_json", "code")
    from_jobs = (
        "UPDATE requests SET"  # noqa: S608
        f" state = ({ended_job.format('state')}),"
        f" error_code = coalesce(error_code, ({ended_job.format(job_error_code)})),"
        f" finished_at = coalesce(finished_at, ({ended_job.format('finished_at')}))"
        f" WHERE state = {started} AND EXISTS ({ended_job.format('1')}){where}"
    )
    the_rest = (
        "UPDATE requests SET state = ?, error_code = coalesce(error_code, ?),"  # noqa: S608
        f" finished_at = coalesce(finished_at, ?) WHERE state = {started}{where}"
    )
    interrupted = RecordState.INTERRUPTED.value
    with database.atomic():
        by_job = database.execute_sql(
            portable(database, from_jobs), (*endings * 3, *endings, *where_params)
        )
        rest = database.execute_sql(
            portable(database, the_rest), (interrupted, interrupted, now, *where_params)
        )
        return int(by_job.rowcount) + int(rest.rowcount)


def newest_start_over_cap(database: peewee.Database, max_rows: int) -> float | None:
    """The newest start time that is over the row cap (None: under it): one index walk."""
    count = database.execute_sql("SELECT count(*) FROM requests").fetchone()[0]
    if count <= max_rows:
        return None
    row = database.execute_sql(
        portable(
            database, "SELECT started_at FROM requests ORDER BY started_at DESC LIMIT 1 OFFSET ?"
        ),
        (max_rows,),
    ).fetchone()
    return None if row is None else float(row[0])


def principal_counts(database: peewee.Database) -> dict[str, int]:
    """How many rows each principal has (read from the principal index alone)."""
    cursor = database.execute_sql(
        "SELECT owner_principal, count(*) FROM requests GROUP BY owner_principal"
    )
    return {str(row[0]): int(row[1]) for row in cursor.fetchall()}


def newest_start_over_share(database: peewee.Database, principal: str, keep: int) -> float | None:
    """The newest start time of `principal`'s rows beyond its newest `keep` (None: none)."""
    row = database.execute_sql(
        portable(
            database,
            "SELECT started_at FROM requests WHERE owner_principal = ?"
            " ORDER BY started_at DESC LIMIT 1 OFFSET ?",
        ),
        (principal, keep),
    ).fetchone()
    return None if row is None else float(row[0])


def delete_oldest(
    database: peewee.Database,
    before: float,
    *,
    inclusive: bool,
    batch: int,
    principal: str | None = None,
) -> int:
    """Delete at most `batch` rows started before `before` (or at it), oldest first, of
    `principal` alone when given; how many."""
    compare = "<=" if inclusive else "<"
    whose = " AND owner_principal = ?" if principal is not None else ""
    # `compare` and `whose` are constants above.
    sql = (
        "DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests"  # noqa: S608
        f" WHERE started_at {compare} ?{whose} ORDER BY started_at LIMIT ?)"
    )
    params = (before, principal, batch) if principal is not None else (before, batch)
    with database.atomic():
        return int(database.execute_sql(portable(database, sql), params).rowcount)


# A row the response cache answered: the route's JSON as `finish_cached` writes it (`"hit"`
# first, compact). No client text can pass for it: a quote inside a JSON string is always
# escaped, and here the quote after `cache` stands bare.
FROM_CACHE_SQL = 'route_json LIKE \'%"cache":{"hit":true%\''
# A row whose answer had begun (its first token reached the client): the recorder keeps that
# wait in its route (`firstTokenMs`), as `RequestFinished.first_token_s` carries it.
ANSWER_BEGAN_SQL = "route_json LIKE '%\"firstTokenMs\":%'"
# The route's item that says the row's tokens are the gateway's estimate (the upstream reported
# no usage, so no cache figures either): `RequestRecords.finish` writes it, and
# `RequestFinished.usage_estimated` carries it.
USAGE_ESTIMATED = "usageEstimated"
USAGE_ESTIMATED_SQL = f"route_json LIKE '%\"{USAGE_ESTIMATED}\":true%'"
# The route's item on a row whose output is counted at what its hard budget held for it (an
# answer with no usage that a budget held for, or one that did not end by itself: the most the
# vendor could bill, a reasoning model's unsent thinking included), with the tokens held.
USAGE_AT_HOLD = "outputAtHold"
# The outcome counts beside the sums: refused (the gateway said no), asked (a provider was asked
# and answered or failed) and failed (asked, and it failed), as `LiveMetrics` and the health
# count them live (`health.asked_provider`): not a key being tried (`{callers}`), a failure
# that says nothing of the provider (`{codes}`), a row ended as its client saw an upstream's
# refusal of the request itself (`{rejected}`: `upstream_rejected` with one of its statuses,
# the code its attempt's `upstream_404` became), nor an answer of the response cache; a row
# canceled once its answer had begun was asked (and did not fail), one canceled before is
# "canceled". Then the prompt tokens of the rows whose tokens the upstream reported: the
# prompt-cache hit rate's denominator (`Totals.measured_prompt_tokens`), and the attempts that
# failed over (`attempts.py`).
_ASKED = (
    f"{{callers}} AND NOT coalesce({FROM_CACHE_SQL}, FALSE)"
    " AND ((state IN ('completed', 'failed') AND {codes} AND {rejected})"
    f" OR (state = 'canceled' AND coalesce({ANSWER_BEGAN_SQL}, FALSE)))"
)
_OUTCOMES = (
    "sum(CASE WHEN state IN ('refused', 'denied') THEN 1 ELSE 0 END),"
    f" sum(CASE WHEN {_ASKED} THEN 1 ELSE 0 END),"
    f" sum(CASE WHEN state = 'failed' AND {_ASKED} THEN 1 ELSE 0 END),"
    f" sum(CASE WHEN state = 'canceled' AND NOT ({_ASKED}) THEN 1 ELSE 0 END),"
    f" sum(CASE WHEN coalesce({USAGE_ESTIMATED_SQL}, FALSE) THEN 0 ELSE"
    " coalesce(input_tokens, 0) + coalesce(cache_read_tokens, 0)"
    " + coalesce(cache_write_tokens, 0) END),"
    f" {FAILED_OVER_SQL}"
)
# `_OUTCOMES` is a constant above, its only values `?` placeholders.
_PAST_TRAFFIC = (
    "SELECT max(finished_at), provider, model, count(*), sum(input_tokens), sum(output_tokens),"  # noqa: S608
    " sum(cache_read_tokens), sum(cache_write_tokens), total(cost_usd), " + _OUTCOMES + ""
    " FROM requests WHERE started_at >= ? AND finished_at >= ? AND finished_at < ?"
    " GROUP BY provider, model, CAST(finished_at / ? AS INTEGER)"
)
# PostgreSQL has no total() (a sum that is 0.0 over nothing), its sum of integers is numeric,
# and its CAST rounds where SQLite's truncates: the same figures, spelled its way.
_PAST_TRAFFIC_POSTGRESQL = (
    "SELECT max(finished_at), provider, model, count(*), sum(input_tokens)::bigint,"  # noqa: S608
    " sum(output_tokens)::bigint, sum(cache_read_tokens)::bigint,"
    " sum(cache_write_tokens)::bigint, coalesce(sum(cost_usd), 0.0), " + _OUTCOMES + ""
    " FROM requests WHERE started_at >= ? AND finished_at >= ? AND finished_at < ?"
    " GROUP BY provider, model, floor(finished_at / ?)"
)


# `_ASKED` is a constant above, its only values `?` placeholders. A call canceled once its
# answer had begun has no latency of the provider's (its client cut it short): NULL.
# A row ended as its client saw it (`all_routes_failed`, the request's own code) keeps its
# attempt's outcome in its route (its last attempt): the provider's own, what its health says.
_ANSWERED_AS = ErrorCode.ALL_ROUTES_FAILED.value
_PAST_CALLS = (
    "SELECT provider, finished_at, state = 'failed', error_code,"  # noqa: S608
    " CASE WHEN state = 'canceled' THEN NULL ELSE coalesce(duration_ms, 0.0) END,"
    f" CASE WHEN error_code = '{_ANSWERED_AS}' THEN route_json ELSE NULL END"
    f" FROM requests WHERE started_at >= ? AND finished_at >= ? AND finished_at < ?"
    f" AND {_ASKED} ORDER BY finished_at DESC LIMIT ?"
)


class NotAsked(NamedTuple):
    """What `_ASKED` leaves out: the callers that try keys, the codes of failures that say
    nothing of the provider, and the statuses of an upstream's refusal of the request itself
    (`metrics/health.py` has them all)."""

    callers: Sequence[str] = ()
    codes: Sequence[str] = ()
    rejected: Sequence[int] = ()

    def sql(self, template: str) -> tuple[str, tuple[Any, ...]]:
        """`template` with `_ASKED`'s placeholders filled, and its parameters in order."""
        tests = (
            ("callers", "coalesce(caller, '') NOT IN ({})", tuple(self.callers)),
            ("codes", "coalesce(error_code, '') NOT IN ({})", tuple(self.codes)),
            (
                "rejected",
                "NOT (coalesce(error_code, '') = 'upstream_rejected'"
                " AND coalesce(http_status, 0) IN ({}))",
                tuple(self.rejected),
            ),
        )
        params: tuple[Any, ...] = ()
        for name, test, values in tests:
            # NOT IN () is not SQL: with nothing to leave out, a test that always holds.
            marks = ", ".join("?" * len(values))
            template = template.replace(f"{{{name}}}", test.format(marks) if values else "1 = 1")
            params += values
        return template, params


_ALL_ASKED = NotAsked()


def past_calls(
    database: peewee.Database,
    *,
    started_from: float,
    start: float,
    end: float,
    limit: int,
    not_asked: NotAsked = _ALL_ASKED,
) -> list[tuple[str, float, bool, str | None, float | None]]:
    """The calls a provider was asked, as `past_traffic` counts them, that finished in
    [start, end) and started from `started_from`, the newest `limit`, oldest first: (provider,
    finished at, failed, error code, duration in ms: None for a call its client cut short).
    The error code is the provider's own outcome (`upstream_500`), not the request's where the
    row was ended as its client saw it (`all_routes_failed`)."""
    sql, asked = not_asked.sql(_PAST_CALLS)
    params = (started_from, start, end, *asked, limit)
    cursor = database.execute_sql(portable(database, sql), params)
    return [
        (
            str(row[0]),
            float(row[1]),
            bool(row[2]),
            _attempts_code(row[5]) or row[3],
            None if row[4] is None else float(row[4]),
        )
        for row in reversed(cursor.fetchall())
    ]


def _attempts_code(route: object) -> str | None:
    """The error code of the last attempt a row's route lists (`upstream_500`: its own
    attempt's), or None where it lists none that failed."""
    try:
        # Text on SQLite; PostgreSQL's driver may hand a JSON column back parsed.
        data = jsonio.loads(route) if isinstance(route, str | bytes) else route
    except ValueError:
        return None
    attempts = data.get("attempts") if isinstance(data, dict) else None
    last = attempts[-1] if isinstance(attempts, list) and attempts else None
    outcome = last.get("outcome") if isinstance(last, dict) else None
    if not isinstance(outcome, str) or not outcome or outcome == "ok":
        return None
    return f"upstream_{outcome}"


def past_traffic(
    database: peewee.Database,
    *,
    started_from: float,
    start: float,
    end: float,
    span_s: float,
    not_asked: NotAsked = _ALL_ASKED,
) -> list[tuple[Any, ...]]:
    """Rows finished in [start, end) and started from `started_from`, summed per provider,
    model and `span_s` bucket: (last finish, provider, model, requests, input, output,
    cache read, cache write tokens, cost, refused, asked, failed, canceled, prompt tokens the
    upstream reported, failed over: `attempts.py`), asked as `not_asked` leaves out."""
    template = _PAST_TRAFFIC_POSTGRESQL if is_postgresql(database) else _PAST_TRAFFIC
    sql, asked = not_asked.sql(template)
    params = (*asked, *asked, *asked, started_from, start, end, span_s)
    cursor = database.execute_sql(portable(database, sql), params)
    return [tuple(row) for row in cursor]
