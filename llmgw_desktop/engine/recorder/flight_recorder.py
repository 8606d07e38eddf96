"""The flight recorder: one row per provider request, written in batches off the loop.

A request is recorded when it starts (who asked, through which door, which provider, the
approval decision, the stable-prefix hash) and completed when its job ends (tokens, cost,
state, error code). Both happen in memory at once; a background flush writes everything
pending in one transaction every quarter second, so a burst of requests costs one write.
Rows hold numbers, hashes and codes, never prompt or answer text. Every text a row holds is
redacted as it is written (`engine/redact.py`: model names, callers, projects, ids, routes,
notices, the approval's reasons), so a key sent as a model name or a caller's name never
reaches the file or its search index; the principal, an identity the edge decided, is kept as
is. Old rows are pruned by age and by a row cap, so the file stays bounded.

A flush the store refuses (a full disk, a damaged file) loses nothing: its rows, in the form
they would have been stored, go to the spill file (`spill.py`), replayed by the next flush
that succeeds or at the next start, in bounded transactions (`REPLAY_CHUNK`). Failing flushes
back off instead of retrying four times a second, and `status()` says what is pending, spilled
and (only if the spill file cannot be written either and memory is full) dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.events import RequestFinished
from llmgw_desktop.engine.outage import Outage
from llmgw_desktop.engine.recorder.bodies import BodyCapture
from llmgw_desktop.engine.recorder.journal import DamagedSegment, RecorderJournal
from llmgw_desktop.engine.recorder.prune import prune_rows
from llmgw_desktop.engine.recorder.rows import (
    Entry,
    close_interrupted,
    write_entries,
    write_order,
)
from llmgw_desktop.engine.recorder.spill import RecorderSpill
from llmgw_desktop.engine.recorder.stored_form import (
    JSON_FIELDS,
    ROW_DEFAULTS,
    BatchRedactor,
    stored_form,
)
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.store import Database, StoreError, StoreUnavailable

__all__ = ["FlightRecorder", "lookup_key", "new_record_id", "recorded_caller"]

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.25
# A flush that failed is tried again after twice the last wait, up to this.
FLUSH_BACKOFF_MAX_S = 5.0
MAX_PENDING_DEFAULT = 50_000
# Entries per transaction when the spill file is replayed (`_write_batch` says why): about a
# tenth of a second of the database thread each on PostgreSQL here.
REPLAY_CHUNK = 1000
ERROR_CHARS = 200
OPEN_RECORD_MAX_AGE_S = 86400.0
_CALLER = re.compile(r"[^\w .:/@+()-]")


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


def recorded_caller(caller: str) -> str:
    """`caller` as a row keeps it (and as `RequestFinished` names it)."""
    # Masked before the character filter, which could join a key to the word before it
    # (`key=sk-...` -> `keysk-...`) where the redactor would no longer see it.
    return _CALLER.sub("", redact(caller))[:120]


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
        on_finish: Callable[[RequestFinished], None] | None = None,
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
        self.max_pending = max_pending
        self._spill = spill
        self._journal = journal
        self._spilled_shown = 0  # the spill file's rows as `status()` reports them
        self._new: dict[str, dict[str, Any]] = {}
        self._updates: dict[str, dict[str, Any]] = {}
        # Rows in stored form that neither the store nor the spill file took (both failing).
        self._held: list[Entry] = []
        self.dropped = 0
        self.last_error: str | None = None
        self._outage = Outage()  # the failing flushes of one stretch: said at its start and end
        # Set when the buffer passes `max_pending`: flush now, whatever the back-off says.
        self._wake = asyncio.Event()
        # Records not finished yet: start time and who/what, so a finish never has to read the
        # row back (for its duration, or for the event below).
        self._open: dict[str, _Opened] = {}
        self._on_finish = on_finish
        self._trace_of = trace_of
        # Records whose answer began streaming: when its first piece came (for the event only).
        self._first_piece: dict[str, float] = {}
        self._flush_lock = asyncio.Lock()
        # Texts redacted since the last flush (the journal's, then the flush's, reuse them);
        # replaced at every flush, so nothing outlives the batch it was made for.
        self._texts = BatchRedactor()
        # The rows of the flush under way (their inserts not committed yet), for the journal.
        self._in_flight: dict[str, dict[str, Any]] = {}
        # New rows in stored form as the journal wrote them at their end: the flush inserts
        # these instead of preparing them again (dropped when a row changes after).
        self._prepared: dict[str, dict[str, Any]] = {}
        self.written = 0
        # Segments of the last run's journal with unreadable lines (kept aside, reported).
        self.journal_damage: list[DamagedSegment] = []

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
    ) -> str:
        """Record that a request began; returns its record id (`record_id` when the caller
        chose it first: the id a response already carries; `replay_of`: the row it re-sends,
        kept in its route as `replayOf`). Never blocks, never fails."""
        record_id = record_id or new_record_id()
        started_at = self._clock()
        caller = recorded_caller(caller)
        trace_id = self._trace_of() if self._trace_of is not None else None
        self._open[record_id] = _Opened(
            started_at, provider, model, principal, caller, project, transport, tool, trace_id
        )
        self._new[record_id] = {
            "id": record_id,
            "started_at": started_at,
            "owner_principal": principal,
            "provider": provider,
            "transport": transport[:40],
            "tool": tool[:80],
            "caller": caller,
            "model": model,
            "project": project,
            "correlation_id": correlation_id,
            "session_id": session_id,
            "prefix_hash": prefix_hash,
            "prefix_tokens": prefix_tokens,
            # Kept as data until written: strings inside are redacted one by one then.
            "approval_json": approval,
            "optimization_json": optimization,
            "route_json": _opening_route(trace_id, replay_of),
            "state": state,
            "owner_process": self._process_id,
        }
        if len(self._new) + len(self._updates) > self.max_pending:
            self._wake.set()
        return record_id

    def update(self, record_id: str, **fields: Any) -> None:
        """Add what became known later (job id, tokens, state); merged into the pending write."""
        self._prepared.pop(record_id, None)
        for name in JSON_FIELDS:
            if name in fields:
                fields[f"{name}_json"] = fields.pop(name)
        if "finished_at" in fields:
            opened = self._open.pop(record_id, None)
            if opened is not None and "duration_ms" not in fields:
                fields["duration_ms"] = round((fields["finished_at"] - opened.started_at) * 1000, 3)
        pending = self._new.get(record_id)
        if pending is not None:
            pending.update(fields)
        else:
            self._updates.setdefault(record_id, {}).update(fields)

    def first_token(self, record_id: str) -> None:
        """Note that the answer of an open record began to stream (its time to first token
        goes out with `RequestFinished`; rows do not keep it)."""
        if record_id in self._open:
            self._first_piece[record_id] = self._clock()

    def finish(self, record_id: str, *, state: str, **fields: Any) -> None:
        """Record the request's end; with a journal, on local disk before this returns (the
        answer's last bytes are sent after it)."""
        opened = self._open.get(record_id)
        first_piece = self._first_piece.pop(record_id, None)
        finished_at = self._clock()
        if opened is not None and opened.trace_id and isinstance(fields.get("route"), dict):
            fields["route"] = {**fields["route"], "traceId": opened.trace_id}
        self.update(record_id, state=state, finished_at=finished_at, **fields)
        if self._journal is not None:
            self._journal.append(self._journal_entries(record_id))
        if self._on_finish is not None and opened is not None:
            self._on_finish(
                RequestFinished(
                    record_id=record_id,
                    provider=opened.provider,
                    model=_redacted(fields.get("model") or opened.model),
                    state=state,
                    principal=opened.principal,
                    caller=opened.caller,
                    started_at=opened.started_at,
                    finished_at=finished_at,
                    input_tokens=int(fields.get("input_tokens") or 0),
                    output_tokens=int(fields.get("output_tokens") or 0),
                    cache_read_tokens=int(fields.get("cache_read_tokens") or 0),
                    cache_write_tokens=int(fields.get("cache_write_tokens") or 0),
                    cost_usd=fields.get("cost_usd"),
                    error_code=fields.get("error_code"),
                    project=fields.get("project", opened.project),
                    transport=opened.transport,
                    endpoint=opened.tool,
                    first_token_s=None
                    if first_piece is None
                    else max(0.0, first_piece - opened.started_at),
                )
            )

    def _journal_entries(self, record_id: str) -> list[Entry]:
        """The row's end as the journal keeps it: the whole row when its start is not written
        yet (an insert, then its fields again as an update, for a start stored meanwhile),
        else the fields to update."""
        texts = self._texts
        row = self._new.get(record_id)
        new = row is not None
        if row is None and record_id in self._in_flight:
            # Its start is in a flush not yet committed: a kill now would lose it too.
            row = self._in_flight[record_id] | self._updates.get(record_id, {})
        if row is not None:
            stored = stored_form(ROW_DEFAULTS | row, texts)
            if new:  # the next flush inserts it as it is now
                self._prepared[record_id] = stored
            fields = {k: v for k, v in stored.items() if k != "id"}
            return [{"insert": stored}, {"update": record_id, "fields": fields}]
        return [
            {"update": record_id, "fields": stored_form(self._updates.get(record_id, {}), texts)}
        ]

    @property
    def pending(self) -> int:
        return len(self._new) + len(self._updates) + len(self._held)

    def status(self) -> dict[str, Any]:
        """What `/health` shows: rows waiting in memory and in the spill file, rows lost."""
        return {
            "pending": self.pending,
            "spilled": self._spilled_shown,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }

    async def open(self) -> None:
        """Count the rows an earlier run spilled or journaled (the first flush replays them)."""
        if self._journal is not None:
            left = await asyncio.to_thread(self._journal.open)
            if left:
                log.info("the last run did not stop cleanly: replaying its recorder journal")
        if self._spill is not None:
            await asyncio.to_thread(self._spill.open)
            self._show_spill()
            if self._spill.rows:
                log.info("%d flight-recorder row(s) wait in the spill file", self._spill.rows)

    async def flush(self) -> bool:
        """Write everything pending (and anything spilled earlier) in one transaction on the
        database thread; False when the store refused it or could not be reached (the rows are
        kept, see above). Kept bodies follow in their own transaction."""
        flushed = await self._flush_rows()
        if self.bodies is not None:
            await self.bodies.flush()
        return flushed

    async def _flush_rows(self) -> bool:
        async with self._flush_lock:
            spill = self._spill
            replay = spill is not None and spill.entries > 0
            journal = self._journal
            # Ends journaled up to now are in this batch (or stored already): their segments
            # go once it is durable. An earlier run's segments are replayed with it.
            segments = [] if journal is None else journal.seal()
            journaled: list[Entry] = []
            damaged: list[DamagedSegment] = []
            if journal is not None and journal.replaying:
                earlier = await asyncio.to_thread(journal.take_replay)
                segments += earlier.whole
                journaled, damaged = earlier.entries, earlier.damaged
            idle = not self._new and not self._updates and not self._held and not replay
            if idle and not journaled:
                if journal is not None:  # their rows are stored already (or there are none)
                    await self._retire(journal, segments, damaged)
                return True
            new, self._new = self._new, {}
            prepared, self._prepared = self._prepared, {}
            updates, self._updates = self._updates, {}
            held, self._held = self._held, []
            texts, self._texts = self._texts, BatchRedactor()
            self._in_flight = new
            try:
                return await self._write_batch(
                    new,
                    updates,
                    held,
                    texts,
                    journal,
                    (segments, damaged),
                    journaled,
                    replay,
                    prepared,
                )
            finally:
                self._in_flight = {}

    async def _write_batch(
        self,
        new: dict[str, dict[str, Any]],
        updates: dict[str, dict[str, Any]],
        held: list[Entry],
        texts: BatchRedactor,
        journal: RecorderJournal | None,
        retired: tuple[list[Path], list[DamagedSegment]],
        journaled: list[Entry],
        replay: bool,
        prepared: dict[str, dict[str, Any]],
    ) -> bool:
        """The flush's write of one batch, under the flush lock (see `flush`); `retired`: the
        journal segments its writing makes durable elsewhere, whole and damaged; `prepared`: new
        rows the journal already put in stored form."""
        spill = self._spill
        built: list[list[Entry]] = []

        def entries() -> list[Entry]:
            """The batch in stored form (redacted), built once: on the database thread, or
            on a worker when the write never got there (the server could not be reached)."""
            if not built:
                built.append(
                    [
                        *journaled,
                        *held,
                        *(
                            {
                                "insert": prepared.get(record_id)
                                or stored_form(ROW_DEFAULTS | row, texts)
                            }
                            for record_id, row in new.items()
                        ),
                        *(
                            {"update": record_id, "fields": stored_form(fields, texts)}
                            for record_id, fields in updates.items()
                        ),
                    ]
                )
            return built[0]

        try:
            if replay and spill is not None:
                # Everything at once would be one transaction holding the database thread for
                # as long as tens of thousands of spilled rows take (job ends and progress
                # queue behind it): bounded chunks instead, in the one transaction's write
                # order, each awaited, so what was queued meanwhile runs in between. A chunk
                # that fails leaves the file whole; replayed again it gives the same rows.
                ordered = await asyncio.to_thread(lambda: write_order([*spill.read(), *entries()]))
                for start in range(0, len(ordered), REPLAY_CHUNK):
                    await self._db.run(partial(self._write, ordered[start : start + REPLAY_CHUNK]))
                replayed = True
            else:
                await self._db.run(lambda: self._write(entries()))
                replayed = False
        except StoreError as exc:  # the store is not open: keep the rows as they were
            self._new = new | self._new
            for record_id, fields in updates.items():
                self._updates.setdefault(record_id, {}).update(fields)
            self._held = held + self._held
            self._failed(exc)
            return False
        except Exception as exc:
            # Refused, or never reached (the connect failed, or the commit did): the rows
            # go to the spill file, or stay in memory (bounded) if that fails too.
            kept = await asyncio.to_thread(self._spill_or_keep, entries)
            if not kept and journal is not None:  # in the spill file now
                await self._retire(journal, *retired)
            self._held = kept + self._held
            self._bound_held()
            self._failed(exc)
            self._show_spill()
            return False
        if replayed and spill is not None:
            try:
                await asyncio.to_thread(spill.clear)
            except OSError:  # replayed again next time: harmless, it is idempotent
                log.warning("could not empty the recorder's spill file")
        if journal is not None:
            await self._retire(journal, *retired)
        self._show_spill()
        self.written += len(new)
        end = self._outage.recovered()
        if end is not None:
            log.warning("flight recorder writes again (%s)", end.describe())
        self.last_error = None
        self._db.health.clear("recorder", "store")
        return True

    async def _retire(
        self, journal: RecorderJournal, segments: list[Path], damaged: list[DamagedSegment]
    ) -> None:
        """What `segments` and `damaged` could give is durable now: delete the former, keep the
        latter aside for the person, and say so where the store's problems show (it stays
        until the next start: nothing repairs what was lost)."""
        if segments:
            await asyncio.to_thread(journal.drop, segments)
        if not damaged:
            return
        kept = await asyncio.to_thread(journal.set_aside, damaged)
        self.journal_damage = [*self.journal_damage, *damaged]
        lines = sum(segment.unreadable for segment in self.journal_damage)
        names = ", ".join(path.name for path in kept) or "(could not be renamed)"
        self._db.health.report(
            "journal",
            f"{lines} unreadable line(s) in {len(self.journal_damage)} recorder journal "
            f"segment(s) of the last run, those rows may be missing; kept as {names}",
        )

    def _write(self, entries: list[Entry]) -> None:
        """Write `entries` in one transaction; on the database thread."""
        write_entries(self._db.models.database, entries)

    def _spill_or_keep(self, entries: Callable[[], list[Entry]]) -> list[Entry]:
        """Append the batch to the spill file; what must stay in memory (all of it when there
        is no spill file or it cannot be written). Blocking: runs on a worker thread."""
        batch = entries()
        if self._spill is None:
            return batch
        try:
            self._spill.append(batch)
        except OSError as spill_failed:
            log.debug("spill failed too: %s", spill_failed)
            return batch
        return []

    def _show_spill(self) -> None:
        """Let `status()` count the spill file's rows: only once the flush's outcome is known
        here, so `/health` never shows rows spilled while it still says the store is fine (the
        file grows on the DB thread before the loop learns why)."""
        self._spilled_shown = 0 if self._spill is None else self._spill.rows

    def _failed(self, exc: BaseException) -> None:
        reason = " ".join(str(exc).split())[:ERROR_CHARS] or type(exc).__name__
        if self._outage.failed(reason):  # said once an outage, whatever words it changes to
            where = "memory" if self._spill is None else str(self._spill.path)
            log.warning("flight recorder cannot write (%s); rows are kept in %s", reason, where)
        self.last_error = reason
        self._db.health.report("recorder", f"cannot write ({reason})")
        if self._db.is_write_failure(exc) and not isinstance(exc, StoreUnavailable):
            self._db.health.report("store", reason)  # (the store reported its own outage)

    def _bound_held(self) -> None:
        """Memory is the last place rows can wait: beyond `max_pending` the oldest go, counted."""
        excess = len(self._held) - self.max_pending
        if excess > 0:
            del self._held[:excess]
            self.dropped += excess
            log.error(
                "flight recorder dropped %d row(s): neither the store nor disk takes them", excess
            )

    async def run_forever(self) -> None:
        """Flush on a short interval (longer while writes fail) until cancelled; a final flush
        happens in `close()`."""
        delay = FLUSH_EVERY_S
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            try:
                ok = await self.flush()
            except Exception:  # a bug, not the store: keep the loop alive
                log.exception("flight recorder flush failed")
                ok = False
            delay = FLUSH_EVERY_S if ok else min(FLUSH_BACKOFF_MAX_S, max(delay * 2, 1.0))

    async def close(self) -> None:
        """The final flush; never raises: what the store refuses is kept or counted, and said."""
        flushed = await self.flush()
        if self._journal is not None:
            self._journal.close()
        if flushed:
            return
        spilled = 0 if self._spill is None else self._spill.rows
        if spilled:
            log.warning(
                "flight recorder: %d row(s) could not be stored (%s); kept in %s, written at "
                "the next start",
                spilled,
                self.last_error,
                self._spill.path if self._spill is not None else "",
            )
        lost = self.pending
        if lost:
            self.dropped += lost
            self._held.clear()
            self._new.clear()
            self._updates.clear()
            log.error("flight recorder: %d row(s) lost at stop (%s)", lost, self.last_error)

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
        model = self._db.models.RecordedRequest
        row = await self._db.run(
            lambda: (
                model.select()
                .where(
                    (model.owner_principal == principal)
                    & (model.correlation_id == lookup_key(correlation_id))
                )
                .order_by(model.started_at.desc())
                .dicts()
                .first()
            )
        )
        return None if row is None else _public(row)

    async def recent(self, principal: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest records (all principals when `principal` is None: the desk's view)."""
        await self.flush()
        model = self._db.models.RecordedRequest
        query = model.select().order_by(model.started_at.desc()).limit(limit).dicts()
        if principal is not None:
            query = query.where(model.owner_principal == principal)
        rows = await self._db.run(lambda: [dict(r) for r in query.iterator()])
        return [_public(r) for r in rows]


def new_record_id() -> str:
    """A fresh recorder row id: what `x-gateway-request-id` and MCP `requestId` carry."""
    return uuid.uuid4().hex


def _redacted(value: str | None) -> str | None:
    return None if value is None else redact(value)


def lookup_key(value: str) -> str:
    """A caller-given id (correlation or session id) as the recorder stores it: look rows up
    by this, since a secret-looking id is kept redacted."""
    return redact(value)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in JSON_FIELDS:
        raw = out.pop(f"{name}_json", None)
        out[name] = json.loads(raw) if raw else None
    return out


def _opening_route(trace_id: str | None, replay_of: str | None) -> dict[str, Any] | None:
    """What a row's route holds from its start (a route written at its end replaces it)."""
    route = {"traceId": trace_id, "replayOf": replay_of}
    kept = {name: value for name, value in route.items() if value}
    return kept or None
