"""The flight recorder: one row per provider request, written in batches off the loop.

A request is recorded when it starts (who asked, through which door, which provider, the
approval decision, the stable-prefix hash) and completed when its job ends (tokens, cost,
state, error code). Both happen in memory at once (`pending.py`); a background flush writes
everything pending in one transaction every quarter second (`writer.py`), so a burst of
requests costs one write. Rows hold numbers, hashes and codes, never prompt or answer text.
Every text a row holds is redacted as it is written (`engine/redact.py`: model names, callers,
projects, ids, routes, notices, the approval's reasons), so a key sent as a model name or a
caller's name never reaches the file or its search index; the principal, an identity the edge
decided, is kept as is. Old rows are pruned by age and by a row cap, so the file stays bounded.

A flush the store refuses (a full disk, a damaged file) loses nothing: its rows go to the spill
file (`spill.py`), replayed by the next flush that succeeds or at the next start, and a row's
end is journaled before the answer completes (`journal.py`), its start before a stream's first
byte (`keep_start`). `status()` says what is pending,
spilled and dropped. This module is the recorder's face: recording a request's start and end,
its life with the gateway's (open, the flush loop, close, the rows an earlier run left open,
pruning), and the short reads back (`lookups.py`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.events import AttemptFailedOver, RequestFinished
from llmgw_desktop.engine.ids import random_hex
from llmgw_desktop.engine.recorder.bodies import BodyCapture
from llmgw_desktop.engine.recorder.journal import RecorderJournal
from llmgw_desktop.engine.recorder.lookups import newest_by_correlation, newest_rows
from llmgw_desktop.engine.recorder.pending import PendingRows
from llmgw_desktop.engine.recorder.prune import prune_rows
from llmgw_desktop.engine.recorder.rows import USAGE_ESTIMATED, close_interrupted
from llmgw_desktop.engine.recorder.spill import RecorderSpill
from llmgw_desktop.engine.recorder.stored_form import JSON_FIELDS, ROW_DEFAULTS
from llmgw_desktop.engine.recorder.writer import RecorderWriter, flush_forever
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.store import Database

__all__ = ["FlightRecorder", "new_record_id", "recorded_caller"]

log = logging.getLogger(__name__)

MAX_PENDING_DEFAULT = 50_000
# Failed rows remembered for the attempt that may take their request over (it opens within the
# same request, at once): a bound whatever fails, far above the requests failing at one time.
FAILED_KEPT = 1024
OPEN_RECORD_MAX_AGE_S = 86400.0
_CALLER = re.compile(r"[^\w .:/@+()-]")
# Compared for every request: module globals, not enum reads (`engine/states.py`).
_FAILED = RecordState.FAILED
# A started row's columns, in the order `start` fills them: the id first and every defaulted
# column, so the row's stored form is a copy of it (`pending.whole_row`), not a merge of
# three. `start` copies this and sets the rest one by one, about a third of what building the
# same dict from a display costs (20 k instructions).
_STARTED_ROW: dict[str, Any] = {
    "id": None,
    **ROW_DEFAULTS,
    **dict.fromkeys(
        (
            "started_at",
            "owner_principal",
            "provider",
            "model",
            "project",
            "correlation_id",
            "session_id",
            "prefix_hash",
            "prefix_tokens",
            "approval_json",
            "optimization_json",
            "route_json",
            "state",
            "owner_process",
            "chosen_because",
            "client_session",
        )
    ),
}


class _Opened(NamedTuple):
    started_at: float
    provider: str
    model: str | None
    principal: str
    caller: str
    project: str | None
    transport: str
    tool: str
    trace_id: str | None
    client_session: str | None = None


def recorded_caller(caller: str, masked: Callable[[str], str] = redact) -> str:
    """`caller` as a row keeps it (and as `RequestFinished` names it); `masked` is `redact`
    or a memo of it (`BatchRedactor.text`)."""
    # Masked before the character filter, which could join a key to the word before it
    # (`key=sk-...` -> `keysk-...`) where the redactor would no longer see it.
    return _CALLER.sub("", masked(caller))[:120]


class FlightRecorder:
    """Collects request records in memory and writes them to the store in batches."""

    def __init__(
        self,
        db: Database,
        *,
        retention_days: float = 30.0,
        max_rows: int = 200_000,
        max_pending: int = MAX_PENDING_DEFAULT,
        spill: RecorderSpill | None = None,
        journal: RecorderJournal | None = None,
        on_finish: Callable[[RequestFinished | AttemptFailedOver], None] | None = None,
        clock: Callable[[], float] = time.time,
        process_id: str | None = None,
        trace_of: Callable[[], str | None] | None = None,
        bodies: BodyCapture | None = None,
    ) -> None:
        """`on_finish` hears of every finished request (the engine publishes it as an event);
        `process_id` is this gateway process's lease id, kept on each row so a survivor can
        close the rows of a process that died (`engine/jobs/leases.py`); `trace_of` names the
        OpenTelemetry trace a request starts in (kept in the row's route as `traceId`);
        `bodies`, the request bodies a person chose to keep, written and pruned with the rows."""
        self._db = db
        self.bodies = bodies
        self._process_id = process_id
        self._clock = clock
        self.retention_days = retention_days
        self.max_rows = max_rows
        self._journal = journal
        self._pending = PendingRows()
        self._writer = RecorderWriter(
            db, self._pending, max_pending=max_pending, spill=spill, journal=journal
        )
        # Set when the buffer passes `max_pending`: flush now, whatever the back-off says.
        self._wake = asyncio.Event()
        # Records not finished yet: start time and who/what, so a finish never has to read the
        # row back (for its duration, or for the event below).
        self._open: dict[str, _Opened] = {}
        self._on_finish = on_finish
        self._trace_of = trace_of
        # Records whose answer began streaming: when its first piece came (for the event only).
        self._first_piece: dict[str, float] = {}
        # Rows that ended failed, oldest first, with their provider and start: the attempt that
        # takes one's request over marks it (`failed_over`). At most `FAILED_KEPT`.
        self._failed: dict[str, tuple[str, float]] = {}

    def start(
        self,
        *,
        principal: str,
        provider: str,
        transport: str = "",
        tool: str = "",
        caller: str = "",
        model: str | None = None,
        correlation_id: str | None = None,
        session_id: str | None = None,
        prefix_hash: str | None = None,
        prefix_tokens: int | None = None,
        approval: dict[str, Any] | None = None,
        optimization: dict[str, Any] | None = None,
        state: str = "started",
        record_id: str | None = None,
        project: str | None = None,
        replay_of: str | None = None,
        started_at: float | None = None,
        chosen_because: str | None = None,
        client_session: str | None = None,
    ) -> str:
        """Record that a request began; returns its record id (`record_id` when the caller
        chose it first: the id a response already carries; `replay_of`: the row it re-sends,
        kept in its route as `replayOf`; `started_at`: when it began, if not now;
        `chosen_because`: why its route tried this target; `client_session`: the session its
        client named). Never blocks, never fails."""
        record_id = record_id or new_record_id()
        if started_at is None:
            started_at = self._clock()
        # Redacted and filtered once a batch: a client sends the same name request after request.
        texts = self._pending.texts.current()
        recorded = texts.callers.get(caller)
        if recorded is None:
            recorded = texts.callers[caller] = recorded_caller(caller, texts.text)
        caller = recorded
        trace_id = self._trace_of() if self._trace_of is not None else None
        self._open[record_id] = _Opened(
            started_at,
            provider,
            model,
            principal,
            caller,
            project,
            transport,
            tool,
            trace_id,
            client_session,
        )
        row = _STARTED_ROW.copy()
        row["id"] = record_id
        row["started_at"] = started_at
        row["owner_principal"] = principal
        row["provider"] = provider
        row["transport"] = transport[:40]
        row["tool"] = tool[:80]
        row["caller"] = caller
        row["model"] = model
        row["project"] = project
        row["correlation_id"] = correlation_id
        row["session_id"] = session_id
        row["prefix_hash"] = prefix_hash
        row["prefix_tokens"] = prefix_tokens
        # Kept as data until written: strings inside are redacted one by one then.
        row["approval_json"] = approval
        row["optimization_json"] = optimization
        if trace_id or replay_of:
            row["route_json"] = _opening_route(trace_id, replay_of)
        row["state"] = state
        row["owner_process"] = self._process_id
        row["chosen_because"] = chosen_because
        row["client_session"] = client_session
        self._pending.add(record_id, row)
        if len(self._pending) > self._writer.max_pending:
            self._wake.set()
        return record_id

    def keep_start(self, record_id: str) -> None:
        """Put the start of open record `record_id` on local disk (the journal) unless the
        store holds it already: called before its answer's first byte goes out, so a crash
        from then on leaves the row, ended `interrupted` at the next start, never no row."""
        if self._journal is not None and record_id in self._open:
            lines = self._pending.start_lines(record_id)
            if lines:
                self._journal.append_lines(lines)

    def now(self) -> float:
        """The time on the recorder's clock, which its rows' times are read from."""
        return self._clock()

    def update(self, record_id: str, **fields: Any) -> None:
        """Add what became known later (job id, tokens, state); merged into the pending write."""
        opened = self._open.pop(record_id, None) if "finished_at" in fields else None
        self._pending.merge(record_id, _as_row(fields, opened))

    def first_token(self, record_id: str) -> None:
        """Note that the answer of an open record began to stream (its time to first token
        goes out with `RequestFinished`, and its row's route keeps it as `firstTokenMs`)."""
        if record_id in self._open:
            self._first_piece[record_id] = self._clock()

    def finish(self, record_id: str, *, state: str, **fields: Any) -> None:
        """Record the request's end; with a journal, on local disk before this returns (the
        answer's last bytes are sent after it)."""
        self.finish_row(record_id, state, fields)

    def finish_row(self, record_id: str, state: str, fields: dict[str, Any]) -> None:
        """`finish` with the row's fields in a dict made for this call, which becomes the row
        (changed in place, not copied): fourteen keywords passed into `**fields` cost about
        10 k instructions more than the same dict written out (`RequestRecords.finish`)."""
        opened = self._open.pop(record_id, None)
        first_piece = self._first_piece.pop(record_id, None)
        finished_at = self._clock()
        fields["state"] = state
        fields["finished_at"] = finished_at
        row = _as_row(fields, opened)
        if opened is not None and opened.trace_id and isinstance(row.get("route_json"), dict):
            row["route_json"] = {**row["route_json"], "traceId": opened.trace_id}
        if (
            opened is not None
            and first_piece is not None
            and isinstance(row.get("route_json"), dict)
        ):
            # Kept with the route: the row's duration and its first token on one clock, so a
            # reader never sets a first token measured elsewhere beside a shorter total.
            waited = round(max(0.0, first_piece - opened.started_at) * 1000, 3)
            row["route_json"] = {**row["route_json"], "firstTokenMs": waited}
        error_code = fields.get("error_code")
        failed_key = "" if error_code is None else _last_key(row.get("route_json"))
        if state == _FAILED and opened is not None:
            self._remember_failed(record_id, opened)
        self._pending.merge(record_id, row)
        if self._journal is not None:
            self._journal.append_lines(self._pending.journal_lines(record_id))
        if self._on_finish is not None and opened is not None:
            model = fields.get("model") or opened.model
            # Positional, in the event's field order: twenty keywords cost a lookup each.
            self._on_finish(
                RequestFinished(
                    record_id,
                    opened.provider,
                    None if model is None else self._pending.texts.text(model),
                    state,
                    opened.principal,
                    opened.caller,
                    opened.started_at,
                    finished_at,
                    int(fields.get("input_tokens") or 0),
                    int(fields.get("output_tokens") or 0),
                    int(fields.get("cache_read_tokens") or 0),
                    int(fields.get("cache_write_tokens") or 0),
                    fields.get("cost_usd"),
                    error_code,
                    fields.get("project", opened.project),
                    opened.transport,
                    opened.tool,  # the endpoint
                    None if first_piece is None else max(0.0, first_piece - opened.started_at),
                    _from_cache(row.get("route_json")),
                    opened.client_session,
                    failed_key,
                    _usage_estimated(row.get("route_json")),
                )
            )

    def _remember_failed(self, record_id: str, opened: _Opened) -> None:
        failed = self._failed
        if len(failed) >= FAILED_KEPT:
            del failed[next(iter(failed))]
        failed[record_id] = (opened.provider, opened.started_at)

    def failed_over(self, record_id: str) -> None:
        """Mark the failed row `record_id` as an attempt whose request went on to another
        (`recorder/attempts.py`), and tell it (`AttemptFailedOver`); nothing for a row that
        did not end failed, or was marked already."""
        found = self._failed.pop(record_id, None)
        if found is None:
            return
        self._pending.merge(record_id, {"failed_over": 1})
        if self._on_finish is not None:
            provider, started_at = found
            self._on_finish(AttemptFailedOver(record_id, provider, started_at, self._clock()))

    @property
    def pending(self) -> int:
        """Rows not yet written: in memory, or held there after the store refused them."""
        return self._writer.pending

    @property
    def last_error(self) -> str | None:
        """Why the last flush failed (None once one succeeds)."""
        return self._writer.last_error

    def status(self) -> dict[str, Any]:
        """What `/health` shows: rows waiting in memory and in the spill file, rows lost."""
        return self._writer.status()

    async def open(self) -> None:
        """Count the rows an earlier run spilled or journaled (the first flush replays them)."""
        await self._writer.open()

    async def flush(self) -> bool:
        """Write everything pending (and anything spilled earlier) in one transaction on the
        database thread; False when the store refused it or could not be reached (the rows are
        kept, see above). Kept bodies follow in their own transaction."""
        flushed = await self._writer.flush()
        if self.bodies is not None:
            await self.bodies.flush()
        return flushed

    async def run_forever(self) -> None:
        """Flush on a short interval (longer while writes fail) until cancelled; a final flush
        happens in `close()`."""
        await flush_forever(self.flush, self._wake)

    async def close(self) -> None:
        """The final flush; never raises: what the store refuses is kept or counted, and said."""
        self._writer.closed(await self.flush())

    @property
    def lost_at_stop(self) -> int:
        """Rows neither the store nor the disk took by the final flush (0 before it)."""
        return self._writer.lost_at_stop

    def interrupt_open(self) -> int:
        """End every row still open as `interrupted` (the gateway is stopping); how many."""
        open_ids = list(self._open)
        for record_id in open_ids:
            self.finish(record_id, state=RecordState.INTERRUPTED, error_code=ErrorCode.INTERRUPTED)
        return len(open_ids)

    async def close_interrupted(self, now: float) -> int:
        """Close the rows an earlier run left `started` (it crashed, or stopped before their
        end was written): a row whose job has ended takes the job's ending, any other becomes
        `interrupted`. For start-up, before any request is served; how many were closed."""
        await self.flush()
        closed = await self._db.run(lambda: close_interrupted(self._db.models.database, now))
        if closed:
            log.warning("closed %d flight-recorder row(s) an earlier run left open", closed)
        return closed

    async def prune(self) -> int:
        """Drop rows older than the retention period, then the oldest beyond the row cap, in
        small transactions so the recorder page and the flushes get the store in between."""
        cutoff = self._clock() - self.retention_days * 86400
        # A record never finished (a bug elsewhere) must not keep its start time forever.
        stale = self._clock() - OPEN_RECORD_MAX_AGE_S
        self._open = {k: v for k, v in self._open.items() if v.started_at >= stale}
        self._first_piece = {k: v for k, v in self._first_piece.items() if k in self._open}
        removed = await prune_rows(self._db, cutoff=cutoff, max_rows=self.max_rows)
        if self.bodies is not None:
            gone = await self.bodies.prune()
            if gone:
                log.info("pruned %d kept request body(ies) past their retention", gone)
        return removed

    async def by_correlation(self, principal: str, correlation_id: str) -> dict[str, Any] | None:
        """The newest record this principal tagged with `correlation_id`."""
        await self.flush()
        return await newest_by_correlation(self._db, principal, correlation_id)

    async def recent(self, principal: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest records (all principals when `principal` is None: the desk's view)."""
        await self.flush()
        return await newest_rows(self._db, principal, limit)


def _as_row(fields: dict[str, Any], opened: _Opened | None) -> dict[str, Any]:
    """`fields` (a dict of the caller's own, changed in place) as a row's columns: the data
    fields under their `_json` names, and the duration once it has a `finished_at` (`opened`:
    the record's start, where it was still open)."""
    for name in JSON_FIELDS:
        if name in fields:
            fields[f"{name}_json"] = fields.pop(name)
    if opened is not None and "finished_at" in fields and "duration_ms" not in fields:
        fields["duration_ms"] = round((fields["finished_at"] - opened.started_at) * 1000, 3)
    return fields


def _last_key(route: object) -> str:
    """The key source of the last attempt a row's route lists (`env:OPENAI_API_KEY`), or ""."""
    attempts = route.get("attempts") if isinstance(route, dict) else None
    last = attempts[-1] if isinstance(attempts, list) and attempts else None
    key = last.get("key") if isinstance(last, dict) else None
    return key if isinstance(key, str) else ""


def _from_cache(route: object) -> bool:
    """Whether a finished row's route says the response cache answered it
    (`gateway/recording.finish_cached`)."""
    cache = route.get("cache") if isinstance(route, dict) else None
    return isinstance(cache, dict) and bool(cache.get("hit"))


def _usage_estimated(route: object) -> bool:
    """Whether a finished row's route says its tokens are the gateway's estimate
    (`RequestRecords.finish`)."""
    return isinstance(route, dict) and route.get(USAGE_ESTIMATED) is True


def new_record_id() -> str:
    """A fresh recorder row id: what `x-gateway-request-id` and MCP `requestId` carry."""
    return random_hex()


def _opening_route(trace_id: str | None, replay_of: str | None) -> dict[str, Any] | None:
    """What a row's route holds from its start (a route written at its end replaces it)."""
    route = {"traceId": trace_id, "replayOf": replay_of}
    kept = {name: value for name, value in route.items() if value}
    return kept or None
