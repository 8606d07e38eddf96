"""The desk's filters on the recorder, and the SQL of one keyset page under them.

Pages are fetched by keyset on (`started_at`, `id`), never by offset, so page 3,000 costs what
page 1 costs and rows arriving meanwhile never shift a page; the time index reads as quickly
either way, so the two orders cost the same. Every filter column has an index ending in
`started_at`, so a filtered page reads a few hundred index entries. "Failed only" (several
states) reads each state's index range apart and merges them, so it costs a page per state, not
a sort of every failure. "Unanswered only" leaves out the attempts that failed over to another
target (`attempts.py`: a provider's call, not a request its client lost): the failed state's
read skips them on the rows it reads anyway, and a count takes them out by a read of their own
small index (schema 28), never a walk of the failures' rows. The search box goes through the
full-text index (`search.py`: the only SQL on `requests_fts`). Runs on the database thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.recorder.kinds import kind_condition
from llmgw_desktop.engine.recorder.search import catch_up, search_condition, search_expression
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.store.sql import is_postgresql

__all__ = [
    "UNSUCCESSFUL_STATES",
    "PageCursor",
    "RecorderFilters",
    "clause",
    "count_sql",
    "failed_over_sql",
    "only_text",
    "page_sql",
    "text_expression",
    "where",
]

# The states of a request that ended without an answer: what "failed only" keeps (less the
# attempts that failed over, which end failed: `attempts.py`) and what the desk marks.
# (`started` is still running; `deduped` points at another row's job.)
UNSUCCESSFUL_STATES = (
    RecordState.FAILED.value,
    RecordState.INTERRUPTED.value,
    RecordState.CANCELED.value,
    RecordState.REFUSED.value,
    RecordState.DENIED.value,
)
# A row that is not an attempt that failed over (`attempts.py`): what "failed only" adds.
_ANSWERED = "failed_over = 0"
# Schema 28's index of the rows marked `failed_over` alone.
FAILED_OVER_INDEX = "requests_failed_over_started"
# A page's order by `oldest_first`: the keyset's two columns, both the same way.
_ORDER = {False: " ORDER BY started_at DESC, id DESC", True: " ORDER BY started_at ASC, id ASC"}


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
    client_session: str | None = None  # the session its client named (Claude Code's ...)
    failed_only: bool = False  # only `UNSUCCESSFUL_STATES`, less the attempts failed over
    kind: str | None = None  # chat, embedding or completion (`kinds.py`)
    since: float | None = None  # started at or after (epoch seconds)
    until: float | None = None  # started before
    text: str = ""


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts: just after this row, in the order the page was read in."""

    started_at: float
    id: str


def text_expression(database: Any, text: str) -> str | None:
    """The full-text expression the search box's `text` makes on this store, if any."""
    return search_expression(text, postgresql=is_postgresql(database))


def page_sql(
    database: Any,
    columns: str,
    filters: RecorderFilters,
    after: PageCursor | None,
    oldest_first: bool,
    limit: int,
) -> tuple[str, list[Any]]:
    """The SQL and its parameters for one keyset page of `columns` under `filters`, in
    time order either way."""
    conditions, params = where(database, filters, split_states=True)
    if after is not None:
        if oldest_first:
            conditions.append("started_at >= ? AND (started_at > ? OR id > ?)")
        else:
            conditions.append("started_at <= ? AND (started_at < ? OR id < ?)")
        params += [after.started_at, after.started_at, after.id]
    order = _ORDER[oldest_first]
    states = _failed_only_states(filters)
    if not states:
        sql = f"SELECT {columns} FROM requests{clause(conditions)}{order} LIMIT ?"  # noqa: S608
        return sql, [*params, limit]
    # One page from each state's index range (each already in time order), then the best
    # of those: a page per state read, where `state IN (...)` would sort every failure.
    parts, every = [], []
    for number, state in enumerate(states):
        # Only a failed row can have failed over: the other states' reads need no look at it.
        answered = [_ANSWERED] if state == RecordState.FAILED else []
        part_where = ["state = ?", *answered, *conditions]
        parts.append(
            f"SELECT * FROM (SELECT {columns} FROM requests{clause(part_where)}"  # noqa: S608
            f"{order} LIMIT ?) AS s{number}"
        )
        every += [state, *params, limit]
    sql = f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS failures{order} LIMIT ?"  # noqa: S608
    return sql, [*every, limit]


def where(
    database: Any,
    filters: RecorderFilters,
    *,
    limited: bool = True,
    split_states: bool = False,
    failed_over_too: bool = False,
) -> tuple[list[str], list[Any]]:
    """The conditions for `filters`; `limited`: for a read of a page, not every row;
    `split_states`: leave out the states "failed only" keeps (the page reads them apart);
    `failed_over_too`: "failed only" keeps the attempts that failed over (a count takes
    them out by a read of their own: `count_sql`)."""
    conditions: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("provider", filters.provider),
        ("model", filters.model),
        ("state", filters.state),
        ("caller", filters.caller),
        ("owner_principal", filters.principal),
        ("error_code", filters.error_code),
        ("project", filters.project),
        ("client_session", filters.client_session),
    ):
        if value:
            conditions.append(f"{column} = ?")
            params.append(value)
    if filters.http_status is not None:
        conditions.append("http_status = ?")
        params.append(filters.http_status)
    if filters.kind:
        condition, values = kind_condition(filters.kind)
        conditions.append(condition)
        params += values
    states = _failed_only_states(filters)
    if states == ():
        conditions.append("1 = 0")  # "failed only" and a state that is not a failure
    elif states is not None and not split_states:
        conditions.append(f"state IN ({', '.join('?' * len(states))})")
        params += states
        if not failed_over_too:
            conditions.append(_ANSWERED)
    if filters.since is not None:
        conditions.append("started_at >= ?")
        params.append(filters.since)
    if filters.until is not None:
        conditions.append("started_at < ?")
        params.append(filters.until)
    expression = text_expression(database, filters.text)
    if expression is not None:
        catch_up(database)
        conditions.append(search_condition(database, expression, limited=limited))
        params.append(expression)
    return conditions, params


def count_sql(database: Any, filters: RecorderFilters) -> tuple[str, list[Any]]:
    """The SQL and its parameters counting the rows `filters` keep. Under "failed only": its
    states' rows (their (state, started_at) index alone) less the attempts among them that
    failed over (schema 28's index of those alone), where `failed_over = 0` would look at
    every failure's row."""
    if _failed_only_states(filters) is None:
        conditions, params = where(database, filters, limited=False)
        return f"SELECT count(*) FROM requests{clause(conditions)}", params  # noqa: S608
    conditions, params = where(database, filters, limited=False, failed_over_too=True)
    over = clause([*conditions, "failed_over = 1"])
    sql = (
        f"SELECT (SELECT count(*) FROM requests{clause(conditions)})"  # noqa: S608
        f" - (SELECT count(*) FROM requests{over})"
    )
    return sql, [*params, *params]


def failed_over_sql(database: Any, filters: RecorderFilters) -> tuple[str, list[Any]]:
    """The SQL and its parameters counting the attempts that failed over among the rows
    `filters` keep. "Failed only" keeps none of them.

    Read from schema 28's index of those rows alone (a few in a million): SQLite's planner,
    without statistics, would walk a filter's own index instead (every row of a provider,
    each read from the table to see its mark); PostgreSQL's statistics choose it."""
    conditions, params = where(database, filters, limited=False)
    index = "" if is_postgresql(database) else f" INDEXED BY {FAILED_OVER_INDEX}"
    where_over = clause([*conditions, "failed_over = 1"])
    return f"SELECT count(*) FROM requests{index}{where_over}", params  # noqa: S608


def only_text(filters: RecorderFilters) -> bool:
    """Whether the search box's text is the only filter (a count the index alone answers)."""
    return filters == RecorderFilters(text=filters.text)


def _failed_only_states(filters: RecorderFilters) -> tuple[str, ...] | None:
    """The states "failed only" keeps; None when it is off or the state filter already says
    which, () when the state filter names one that is not a failure."""
    if not filters.failed_only:
        return None
    if filters.state:
        return None if filters.state in UNSUCCESSFUL_STATES else ()
    return UNSUCCESSFUL_STATES


def clause(conditions: list[str]) -> str:
    """` WHERE` and the conditions joined, or nothing when there are none."""
    return (" WHERE " + " AND ".join(conditions)) if conditions else ""
