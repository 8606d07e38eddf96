"""Reading the flight recorder for the desk: filtered pages, counts, one row's detail, export.

The dashboard browses up to a million rows, newest or oldest first, a keyset page at a time
(`filters.py`: the filters and the SQL of a page). No other order is offered: sorting by any
other column would need an index per column and a keyset on it, and sorting only the loaded
rows would show a false order. Every filter column has an index ending in `started_at`
(provider, model, state, caller and principal since schema 8; error code, HTTP status and
project since schema 14), and each filter box lists its values by a skip scan of its index.
One row in full is `detail.py`, the file an export writes `export.py`.

Everything runs on the database thread. This is the desk's view: every principal's rows, with
the principal as a filter.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from llmgw_desktop.engine.recorder.cost_breakdown import (
    CostBreakdown,
    CostDimension,
    read_cost_breakdown,
)
from llmgw_desktop.engine.recorder.detail import RecordDetail, read_detail
from llmgw_desktop.engine.recorder.export import ExportFormat, export_rows
from llmgw_desktop.engine.recorder.filters import (
    UNSUCCESSFUL_STATES,
    PageCursor,
    RecorderFilters,
    count_sql,
    failed_over_sql,
    only_text,
    page_sql,
    text_expression,
)
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.kinds import REQUEST_KINDS, kind_of
from llmgw_desktop.engine.recorder.lanes import AgentLanes, read_lanes
from llmgw_desktop.engine.recorder.rows import FROM_CACHE_SQL
from llmgw_desktop.engine.recorder.search import catch_up, count_hits
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import is_postgresql, portable

__all__ = ["PAGE_SIZE", "CellFormatter", "RecordSummary", "RecorderPage", "RecorderQuery"]

PAGE_SIZE = 300
CHOICES_LIMIT = 200

# The columns the filter boxes offer values for, keyed by the filter's name.
_CHOICE_COLUMNS = {
    "provider": "provider",
    "model": "model",
    "state": "state",
    "caller": "caller",
    "principal": "owner_principal",
    "error_code": "error_code",
    "http_status": "http_status",
    "project": "project",
    "client_session": "client_session",
}
# Choice columns holding numbers: no empty text to leave out (PostgreSQL refuses `int != ''`).
_NUMERIC_CHOICES = frozenset({"http_status"})


class RecordSummary(NamedTuple):
    """One row of the list: what the table shows, nothing more."""

    id: str
    started_at: float
    provider: str
    model: str | None
    state: str
    caller: str
    principal: str
    duration_ms: float | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None
    job_id: str | None
    error_code: str | None
    http_status: int | None
    project: str | None
    # Body capture kept its request and response (`bodies.py`): it can be replayed.
    body_kept: bool = False
    # The response cache answered it (`gateway/recording.finish_cached`): no provider asked.
    from_cache: bool = False
    # An attempt that failed and whose request went on to another target (`attempts.py`):
    # a provider's call, not a request its client got no answer for.
    failed_over: bool = False

    @property
    def unsuccessful(self) -> bool:
        """The request ended without an answer (failed, interrupted, canceled, refused...);
        not an attempt that failed over (its request went on)."""
        return self.state in UNSUCCESSFUL_STATES and not self.failed_over


# `body_kept` is one primary-key probe a row into the (small, pruned) bodies table.
# `from_cache` is a text match on the rows of one page (`rows.FROM_CACHE_SQL`), where a column
# would need a migration on both stores.
_SUMMARY_SQL = (
    "id, started_at, provider, model, state, caller, owner_principal, duration_ms, "  # noqa: S608
    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, job_id, "
    "error_code, http_status, project, "
    "EXISTS (SELECT 1 FROM request_bodies WHERE request_bodies.record_id = requests.id) "
    f"AS body_kept, {FROM_CACHE_SQL} AS from_cache, failed_over"
)


@dataclass(frozen=True)
class RecorderPage:
    rows: list[RecordSummary]
    next: PageCursor | None  # None: this was the last page
    # Each row's text as the caller's `cells` formatted it on the DB thread (empty without).
    cells: list[tuple[str, ...]] = field(default_factory=list)


# Turns a row into the text a table shows, one string per column.
CellFormatter = Callable[[RecordSummary], tuple[str, ...]]


class RecorderQuery:
    """The recorder as the dashboard reads it. All methods run their SQL on the DB thread."""

    def __init__(self, db: Database, recorder: FlightRecorder | None = None) -> None:
        self._db = db
        self._recorder = recorder

    async def page(
        self,
        filters: RecorderFilters,
        after: PageCursor | None = None,
        limit: int = PAGE_SIZE,
        *,
        oldest_first: bool = False,
        cells: CellFormatter | None = None,
    ) -> RecorderPage:
        """Up to `limit` rows newest first (or oldest first), starting after `after` (or at
        the newest, or oldest, row).

        `cells`, when given, formats each row on the DB thread too, so the loop thread that
        paints the table only looks the strings up.
        """
        if after is None and self._recorder is not None:
            await self._recorder.flush()  # the first page shows what just finished

        def read() -> RecorderPage:
            database = self._db.models.database
            sql, params = page_sql(database, _SUMMARY_SQL, filters, after, oldest_first, limit + 1)
            rows = self._execute(sql, params).fetchall()
            # SQLite answers EXISTS and LIKE with 0 or 1, PostgreSQL with a boolean; a row
            # without a route, NULL.
            summaries = [
                RecordSummary._make((*row[:-3], bool(row[-3]), bool(row[-2]), bool(row[-1])))
                for row in rows[:limit]
            ]
            last = summaries[-1] if len(rows) > limit else None
            cursor = PageCursor(last.started_at, last.id) if last else None
            formatted = [cells(row) for row in summaries] if cells is not None else []
            return RecorderPage(summaries, cursor, formatted)

        # The desk's reads take the read lane: a page over a million rows never holds up the
        # recorder's own writes or a job's (on SQLite the lane is the one thread, as before).
        return await self._db.read(read)

    async def count(self, filters: RecorderFilters) -> int:
        """How many rows match (a whole index range at worst: run it beside the first page),
        what just finished included, as in the first page: asked at the same moment, the two
        must agree (the recorder page counts again only when another request finishes)."""
        if self._recorder is not None:
            await self._recorder.flush()

        def read() -> int:
            database = self._db.models.database
            expression = text_expression(database, filters.text)
            if expression is not None and only_text(filters):
                catch_up(database)
                return count_hits(database, expression)
            sql, params = count_sql(database, filters)
            return int(self._execute(sql, params).fetchone()[0])

        return await self._db.read(read)

    async def count_failed_over(self, filters: RecorderFilters) -> int:
        """How many of the rows `count` counts are attempts that failed over to another
        target: the rows less these are the requests clients sent (`attempts.py`). Asked after
        `count`, whose flush it reads."""

        def read() -> int:
            sql, params = failed_over_sql(self._db.models.database, filters)
            return int(self._execute(sql, params).fetchone()[0])

        return 0 if filters.failed_only else await self._db.read(read)

    async def detail(self, record_id: str) -> RecordDetail | None:
        """The row in full (JSON fields parsed), plus its job's prompt and answer if any."""
        if self._recorder is not None:
            await self._recorder.flush()
        detail = await self._db.read(lambda: read_detail(self._execute, record_id))
        bodies = None if self._recorder is None else self._recorder.bodies
        if detail is None or bodies is None:
            return detail
        kept = await bodies.read(record_id)
        return replace(detail, bodies=kept, capture=bodies.policy.describe())

    async def costs(
        self,
        by: CostDimension,
        window_s: float,
        *,
        now: float | None = None,
        finished_before: float | None = None,
    ) -> CostBreakdown:
        """What the last `window_s` seconds cost, grouped `by` provider, model, project, agent,
        principal or client session (`cost_breakdown.py`: the biggest groups and the true
        total, on the read lane);
        with `finished_before`, only the requests that finished before it (a reader that adds
        the later ones from `RequestFinished` counts none twice).

        Raises:
            ValueError: `by` is not one of `COST_DIMENSIONS`.
        """
        if self._recorder is not None:
            await self._recorder.flush()
        since = (time.time() if now is None else now) - window_s
        database = self._db.models.database
        return await self._db.read(
            lambda: read_cost_breakdown(
                database, by=by, since=since, window_s=window_s, finished_before=finished_before
            )
        )

    async def kind_counts(self, window_s: float, *, now: float | None = None) -> dict[str, int]:
        """How many requests of each kind (`kinds.py`: chat, embedding, completion) began in
        the last `window_s` seconds (one grouped read on the read lane)."""
        if self._recorder is not None:
            await self._recorder.flush()
        since = (time.time() if now is None else now) - window_s

        def read() -> dict[str, int]:
            counts = dict.fromkeys(REQUEST_KINDS, 0)
            sql = "SELECT tool, COUNT(*) FROM requests WHERE started_at >= ? GROUP BY tool"
            for tool, count in self._execute(sql, [since]).fetchall():
                counts[kind_of(tool)] += int(count)
            return counts

        return await self._db.read(read)

    async def choices(self) -> dict[str, list[str]]:
        """The values each filter box can offer (at most a couple of hundred each)."""
        if self._recorder is not None:
            await self._recorder.flush()

        def read() -> dict[str, list[str]]:
            return {name: self._distinct(column) for name, column in _CHOICE_COLUMNS.items()}

        return await self._db.read(read)

    async def lanes(self, window_s: float, *, now: float | None = None) -> AgentLanes:
        """Each agent's requests, errors, tokens, cost and live jobs per project over the last
        `window_s` seconds, busiest first (one grouped read: see `lanes.py`)."""
        if self._recorder is not None:
            await self._recorder.flush()  # the lanes count what just finished
        since = (time.time() if now is None else now) - window_s
        postgresql = is_postgresql(self._db.models.database)
        return await self._db.read(
            functools.partial(
                read_lanes, self._execute, since, UNSUCCESSFUL_STATES, postgresql=postgresql
            )
        )

    async def export(
        self,
        filters: RecorderFilters,
        path: Path,
        fmt: ExportFormat,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Write every matching row to `path` (JSON Lines or CSV), newest first; the count
        (`export.py`: in chunks on the read lane, the file whole or not at all).

        Raises:
            OSError: the file cannot be written.
        """
        if self._recorder is not None:
            await self._recorder.flush()
        return await export_rows(
            self._db, self._execute, filters, path, fmt, on_progress=on_progress
        )

    # -- on the DB thread ---------------------------------------------------------------------

    def _execute(self, sql: str, params: list[Any]) -> Any:
        database = self._db.models.database
        return database.execute_sql(portable(database, sql), params)

    def _distinct(self, column: str) -> list[str]:
        # A skip scan over the column's index: one seek per distinct value, not one per row.
        # `IS NOT NULL` lets a partial index (schema 21) give the smallest value too.
        # Column names come from `_CHOICE_COLUMNS`, never from a caller.
        not_empty = "" if column in _NUMERIC_CHOICES else " AND value != ''"
        sql = (
            f"WITH RECURSIVE seen(value) AS (SELECT min({column}) FROM requests"  # noqa: S608
            f" WHERE {column} IS NOT NULL"
            f" UNION ALL SELECT (SELECT min({column}) FROM requests WHERE {column} > value)"
            " FROM seen WHERE value IS NOT NULL)"
            f" SELECT value FROM seen WHERE value IS NOT NULL{not_empty} LIMIT ?"
        )
        return [str(row[0]) for row in self._execute(sql, [CHOICES_LIMIT]).fetchall()]
