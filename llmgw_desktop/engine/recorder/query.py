"""Reading the flight recorder for the desk: filtered pages, counts, one row's detail, export.

The dashboard browses up to a million rows, newest or oldest first. Pages are fetched by keyset
on (`started_at`, `id`), never by offset, so page 3,000 costs what page 1 costs and rows
arriving meanwhile never shift a page; the time index reads as quickly either way, so the two
orders cost the same. No other order is offered: sorting by any other column would need an
index per column and a keyset on it, and sorting only the loaded rows would show a false order.
Every filter column has an index ending in `started_at` (provider, model, state, caller and
principal since schema 8; error code, HTTP status and project since schema 14), so a filtered
page reads a few hundred index entries and each filter box lists its values by a skip scan of
its index. "Failed only" (several states) reads each state's index range apart and merges
them, so it costs a page per state, not a sort of every failure. The search box goes through the
full-text index (`search.py`: the only SQL on `requests_fts`).

Everything runs on the database thread. This is the desk's view: every principal's rows, with
the principal as a filter. Rows hold no prompt text; a row made by a job points at it, and the
detail reads the job's prompt and answer, which the job store keeps redacted.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple, TextIO

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.recorder.bodies import KeptBodies
from llmgw_desktop.engine.recorder.cost_breakdown import (
    CostBreakdown,
    CostDimension,
    read_cost_breakdown,
)
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.lanes import AgentLanes, read_lanes
from llmgw_desktop.engine.recorder.search import (
    catch_up,
    count_hits,
    search_condition,
    search_expression,
)
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import is_postgresql, portable

__all__ = [
    "EXPORT_COLUMNS",
    "PAGE_SIZE",
    "UNSUCCESSFUL_STATES",
    "CellFormatter",
    "ExportFormat",
    "PageCursor",
    "RecordDetail",
    "RecordSummary",
    "RecorderFilters",
    "RecorderPage",
    "RecorderQuery",
]

PAGE_SIZE = 300
EXPORT_CHUNK = 5000
CHOICES_LIMIT = 200

# The states of a request that ended without an answer: what "failed only" keeps and what the
# desk marks. (`started` is still running; `deduped` points at another row's job.)
UNSUCCESSFUL_STATES = (
    RecordState.FAILED.value,
    RecordState.INTERRUPTED.value,
    RecordState.CANCELED.value,
    RecordState.REFUSED.value,
    RecordState.DENIED.value,
)

ExportFormat = Literal["jsonl", "csv"]

# Every column, in schema order: what an export writes.
EXPORT_COLUMNS = (
    "id",
    "started_at",
    "finished_at",
    "duration_ms",
    "owner_principal",
    "caller",
    "transport",
    "tool",
    "provider",
    "model",
    "requested_model",
    "project",
    "state",
    "job_id",
    "correlation_id",
    "session_id",
    "provider_session_id",
    "error_code",
    "exit_code",
    "http_status",
    "attempts",
    "fallback_used",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "prefix_hash",
    "prefix_tokens",
    "approval_json",
    "optimization_json",
    "route_json",
)
_JSON_COLUMNS = {
    "approval_json": "approval",
    "optimization_json": "optimization",
    "route_json": "route",
}
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
}
# Choice columns holding numbers: no empty text to leave out (PostgreSQL refuses `int != ''`).
_NUMERIC_CHOICES = frozenset({"http_status"})
# A page's order by `oldest_first`: the keyset's two columns, both the same way.
_ORDER = {False: " ORDER BY started_at DESC, id DESC", True: " ORDER BY started_at ASC, id ASC"}


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

    @property
    def unsuccessful(self) -> bool:
        """The request ended without an answer (failed, interrupted, canceled, refused...)."""
        return self.state in UNSUCCESSFUL_STATES


_SUMMARY_SQL = (
    "id, started_at, provider, model, state, caller, owner_principal, duration_ms, "
    "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, job_id, "
    "error_code, http_status, project"
)


@dataclass(frozen=True)
class RecorderFilters:
    """What the person narrowed the list to; None or empty means any."""

    provider: str | None = None
    model: str | None = None
    state: str | None = None
    caller: str | None = None
    principal: str | None = None
    error_code: str | None = None
    http_status: int | None = None
    project: str | None = None
    failed_only: bool = False  # only `UNSUCCESSFUL_STATES`
    since: float | None = None  # started at or after (epoch seconds)
    until: float | None = None  # started before
    text: str = ""


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts: just after this row, in the order the page was read in."""

    started_at: float
    id: str


@dataclass(frozen=True)
class RecorderPage:
    rows: list[RecordSummary]
    next: PageCursor | None  # None: this was the last page
    # Each row's text as the caller's `cells` formatted it on the DB thread (empty without).
    cells: list[tuple[str, ...]] = field(default_factory=list)


# Turns a row into the text a table shows, one string per column.
CellFormatter = Callable[[RecordSummary], tuple[str, ...]]


@dataclass(frozen=True)
class RecordDetail:
    """One row in full, with its job's redacted prompt and answer when a job made it, its
    kept bodies when `recorder.capture` kept them, and the rows that replayed it."""

    record: dict[str, Any]
    job_found: bool = False
    job_state: str | None = None
    prompt: str | None = None
    response: str | None = None
    job_error: dict[str, Any] | None = None
    bodies: KeptBodies | None = None
    # The body capture policy now, in words ("off", "on for providers ..."), for the detail.
    capture: str = "off"
    # Rows whose route says `replayOf` this one (the playground's "Compare with…").
    replays: tuple[str, ...] = ()


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
            sql, params = self._page_sql(_SUMMARY_SQL, filters, after, oldest_first, limit + 1)
            rows = self._execute(sql, params).fetchall()
            summaries = [RecordSummary(*row) for row in rows[:limit]]
            last = summaries[-1] if len(rows) > limit else None
            cursor = PageCursor(last.started_at, last.id) if last else None
            formatted = [cells(row) for row in summaries] if cells is not None else []
            return RecorderPage(summaries, cursor, formatted)

        # The desk's reads take the read lane: a page over a million rows never holds up the
        # recorder's own writes or a job's (on SQLite the lane is the one thread, as before).
        return await self._db.read(read)

    async def count(self, filters: RecorderFilters) -> int:
        """How many rows match (a whole index range at worst: run it beside the first page)."""

        def read() -> int:
            expression = self._search_expression(filters.text)
            if expression is not None and _only_text(filters):
                catch_up(self._db.models.database)
                return count_hits(self._db.models.database, expression)
            where, params = self._where(filters, limited=False)
            sql = f"SELECT count(*) FROM requests{_clause(where)}"  # noqa: S608
            return int(self._execute(sql, params).fetchone()[0])

        return await self._db.read(read)

    async def detail(self, record_id: str) -> RecordDetail | None:
        """The row in full (JSON fields parsed), plus its job's prompt and answer if any."""
        if self._recorder is not None:
            await self._recorder.flush()
        detail = await self._db.read(lambda: self._read_detail(record_id))
        bodies = None if self._recorder is None else self._recorder.bodies
        if detail is None or bodies is None:
            return detail
        kept = await bodies.read(record_id)
        return replace(detail, bodies=kept, capture=bodies.policy.describe())

    async def costs(
        self, by: CostDimension, window_s: float, *, now: float | None = None
    ) -> CostBreakdown:
        """What the last `window_s` seconds cost, grouped `by` provider, model, project, agent or
        principal (`cost_breakdown.py`: the biggest groups and the true total, on the read lane).

        Raises:
            ValueError: `by` is not one of `COST_DIMENSIONS`.
        """
        if self._recorder is not None:
            await self._recorder.flush()
        since = (time.time() if now is None else now) - window_s
        database = self._db.models.database
        return await self._db.read(
            lambda: read_cost_breakdown(database, by=by, since=since, window_s=window_s)
        )

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
        """Write every matching row to `path` (JSON Lines or CSV), newest first; the count.

        Streams in chunks, each one read and written on the read lane, so the recorder's
        writes get their turn between chunks (on SQLite: between chunks; on PostgreSQL: beside
        them). The file appears whole or not at all.

        Raises:
            OSError: the file cannot be written.
        """
        if self._recorder is not None:
            await self._recorder.flush()
        part = path.with_name(path.name + ".part")
        out = await asyncio.to_thread(part.open, "w", encoding="utf-8", newline="")
        written, cursor = 0, None
        try:
            csv_out = csv.writer(out) if fmt == "csv" else None
            if csv_out is not None:
                csv_out.writerow(EXPORT_COLUMNS)
            while True:
                count, cursor = await self._db.read(
                    functools.partial(self._export_chunk, filters, cursor, out, csv_out)
                )
                written += count
                if on_progress is not None:
                    on_progress(written)
                if cursor is None:
                    break
            await asyncio.to_thread(out.close)
            await asyncio.to_thread(os.replace, part, path)
        except BaseException:
            out.close()
            part.unlink(missing_ok=True)
            raise
        return written

    # -- on the DB thread ---------------------------------------------------------------------

    def _execute(self, sql: str, params: list[Any]) -> Any:
        database = self._db.models.database
        return database.execute_sql(portable(database, sql), params)

    def _search_expression(self, text: str) -> str | None:
        return search_expression(text, postgresql=is_postgresql(self._db.models.database))

    def _page_sql(
        self,
        columns: str,
        filters: RecorderFilters,
        after: PageCursor | None,
        oldest_first: bool,
        limit: int,
    ) -> tuple[str, list[Any]]:
        """The SQL and its parameters for one keyset page of `columns` under `filters`, in
        time order either way."""
        where, params = self._where(filters, split_states=True)
        if after is not None:
            if oldest_first:
                where.append("started_at >= ? AND (started_at > ? OR id > ?)")
            else:
                where.append("started_at <= ? AND (started_at < ? OR id < ?)")
            params += [after.started_at, after.started_at, after.id]
        order = _ORDER[oldest_first]
        states = _failed_only_states(filters)
        if not states:
            sql = f"SELECT {columns} FROM requests{_clause(where)}{order} LIMIT ?"  # noqa: S608
            return sql, [*params, limit]
        # One page from each state's index range (each already in time order), then the best
        # of those: a page per state read, where `state IN (...)` would sort every failure.
        parts, every = [], []
        for number, state in enumerate(states):
            part_where = ["state = ?", *where]
            parts.append(
                f"SELECT * FROM (SELECT {columns} FROM requests{_clause(part_where)}"  # noqa: S608
                f"{order} LIMIT ?) AS s{number}"
            )
            every += [state, *params, limit]
        sql = f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS failures{order} LIMIT ?"  # noqa: S608
        return sql, [*every, limit]

    def _where(
        self, filters: RecorderFilters, *, limited: bool = True, split_states: bool = False
    ) -> tuple[list[str], list[Any]]:
        """The conditions for `filters`; `limited`: for a read of a page, not every row;
        `split_states`: leave out the states "failed only" keeps (the page reads them apart)."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("provider", filters.provider),
            ("model", filters.model),
            ("state", filters.state),
            ("caller", filters.caller),
            ("owner_principal", filters.principal),
            ("error_code", filters.error_code),
            ("project", filters.project),
        ):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if filters.http_status is not None:
            where.append("http_status = ?")
            params.append(filters.http_status)
        states = _failed_only_states(filters)
        if states == ():
            where.append("1 = 0")  # "failed only" and a state that is not a failure
        elif states is not None and not split_states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params += states
        if filters.since is not None:
            where.append("started_at >= ?")
            params.append(filters.since)
        if filters.until is not None:
            where.append("started_at < ?")
            params.append(filters.until)
        expression = self._search_expression(filters.text)
        if expression is not None:
            database = self._db.models.database
            catch_up(database)
            where.append(search_condition(database, expression, limited=limited))
            params.append(expression)
        return where, params

    def _distinct(self, column: str) -> list[str]:
        # A skip scan over the column's index: one seek per distinct value, not one per row.
        # Column names come from `_CHOICE_COLUMNS`, never from a caller.
        not_empty = "" if column in _NUMERIC_CHOICES else " AND value != ''"
        sql = (
            f"WITH RECURSIVE seen(value) AS (SELECT min({column}) FROM requests"  # noqa: S608
            f" UNION ALL SELECT (SELECT min({column}) FROM requests WHERE {column} > value)"
            " FROM seen WHERE value IS NOT NULL)"
            f" SELECT value FROM seen WHERE value IS NOT NULL{not_empty} LIMIT ?"
        )
        return [str(row[0]) for row in self._execute(sql, [CHOICES_LIMIT]).fetchall()]

    def _export_chunk(
        self,
        filters: RecorderFilters,
        after: PageCursor | None,
        out: TextIO,
        csv_out: Any,
    ) -> tuple[int, PageCursor | None]:
        """Read the next chunk of matching rows and write it; the count and where to go on."""
        columns = ", ".join(EXPORT_COLUMNS)
        sql, params = self._page_sql(columns, filters, after, False, EXPORT_CHUNK)
        rows = self._execute(sql, params).fetchall()
        for row in rows:
            if csv_out is not None:
                csv_out.writerow(row)
            else:
                out.write(jsonio.dumps_text(_public(row)) + "\n")
        if len(rows) < EXPORT_CHUNK:
            return len(rows), None
        return len(rows), PageCursor(rows[-1][1], rows[-1][0])

    def _read_detail(self, record_id: str) -> RecordDetail | None:
        sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM requests WHERE id = ?"  # noqa: S608
        row = self._execute(sql, [record_id]).fetchone()
        if row is None:
            return None
        record = _public(row)
        replays = self._replays_of(record_id, record["started_at"])
        detail = self._read_job(record)
        return replace(detail, replays=replays) if replays else detail

    def _replays_of(self, record_id: str, since: float) -> tuple[str, ...]:
        """Rows started since `since` whose route names `record_id` as what they replay (a
        text match: record ids are hex, and the time index bounds the rows read)."""
        rows = self._execute(
            "SELECT id FROM requests WHERE started_at >= ? AND route_json LIKE ? "
            "ORDER BY started_at LIMIT 20",
            [since, f'%"replayOf":"{record_id}"%'],
        ).fetchall()
        return tuple(str(row[0]) for row in rows)

    def _read_job(self, record: dict[str, Any]) -> RecordDetail:
        job_id = record.get("job_id")
        if not job_id:
            return RecordDetail(record)
        job = self._execute(
            "SELECT state, request_json, output, result_json, error_json FROM jobs WHERE id = ?",
            [job_id],
        ).fetchone()
        if job is None:
            return RecordDetail(record)
        state, request_json, output, result_json, error_json = job
        request = _loads(request_json) or {}
        result = _loads(result_json) or {}
        response = result.get("text") if isinstance(result.get("text"), str) else None
        return RecordDetail(
            record,
            job_found=True,
            job_state=state,
            prompt=_prompt_text(request),
            response=response if response is not None else (output or None),
            job_error=_loads(error_json),
        )


def _only_text(filters: RecorderFilters) -> bool:
    return filters == RecorderFilters(text=filters.text)


def _failed_only_states(filters: RecorderFilters) -> tuple[str, ...] | None:
    """The states "failed only" keeps; None when it is off or the state filter already says
    which, () when the state filter names one that is not a failure."""
    if not filters.failed_only:
        return None
    if filters.state:
        return None if filters.state in UNSUCCESSFUL_STATES else ()
    return UNSUCCESSFUL_STATES


def _clause(where: list[str]) -> str:
    return (" WHERE " + " AND ".join(where)) if where else ""


def _public(row: Any) -> dict[str, Any]:
    """A row as a dict with its JSON columns parsed (`approval`, `optimization`, `route`)."""
    out: dict[str, Any] = {}
    for column, value in zip(EXPORT_COLUMNS, row, strict=True):
        if column in _JSON_COLUMNS:
            out[_JSON_COLUMNS[column]] = _loads(value)
        elif column == "fallback_used":
            out[column] = bool(value)
        else:
            out[column] = value
    # How the cost was found rides in the route's JSON (no column for it in this schema):
    # lifted out as `cost_source` ("cli" or "table") and `cost_prices` (the table's date).
    route = out.get("route")
    cost = route.pop("cost", None) if isinstance(route, dict) else None
    if isinstance(route, dict) and not route:
        out["route"] = None  # a CLI row whose route held only its cost note
    out["cost_source"] = cost.get("source") if isinstance(cost, dict) else None
    out["cost_prices"] = cost.get("prices") if isinstance(cost, dict) else None
    return out


def _loads(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return jsonio.loads(raw)
    except ValueError:
        return None


def _prompt_text(request: dict[str, Any]) -> str | None:
    """The prompt as the job was asked it: the parts (system, context, task) when given."""
    parts = request.get("promptParts")
    if isinstance(parts, dict):
        sections = [
            f"[{name}]\n{parts[name]}"
            for name in ("system", "tools", "context", "task")
            if isinstance(parts.get(name), str) and parts[name]
        ]
        if sections:
            return "\n\n".join(sections)
    prompt = request.get("prompt")
    return prompt if isinstance(prompt, str) else None
