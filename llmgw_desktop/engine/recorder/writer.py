"""The flight recorder's flush: pending rows written in one transaction, or kept safe.

Every flush takes what is pending (`pending.py`), puts it in stored form (redacted) on the
database thread and writes it in one transaction, with anything the spill file or the last
run's journal still holds. A flush the store refuses (a full disk, a damaged file) loses
nothing: the batch goes to the spill file (`spill.py`), or stays in memory, bounded, if that
cannot be written either. A spill file is replayed by the next flush that reaches the store, in
bounded transactions (`REPLAY_CHUNK`). Journal segments (`journal.py`) are deleted once what
they hold is durable elsewhere. Failing flushes back off (`flush_forever`), and `status()` says
what is pending, spilled and dropped. On SQLite, once `INDEX_BATCH` rows have been inserted, the
flush that brought them there has the search index take them (`search.catch_up`, schema 20),
after their own transaction, not in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.outage import Outage
from llmgw_desktop.engine.recorder.journal import RecorderJournal
from llmgw_desktop.engine.recorder.journal_replay import DamagedSegment
from llmgw_desktop.engine.recorder.pending import PendingBatch, PendingRows
from llmgw_desktop.engine.recorder.rows import Entry, write_entries, write_order
from llmgw_desktop.engine.recorder.search import INDEX_BATCH, INDEX_MOST, catch_up
from llmgw_desktop.engine.recorder.spill import RecorderSpill
from llmgw_desktop.engine.recorder.stored_form import ROW_DEFAULTS, stored_form
from llmgw_desktop.engine.store import Database, StoreError, StoreUnavailable
from llmgw_desktop.engine.store.sql import is_postgresql
from llmgw_desktop.engine.tasks import to_its_end

__all__ = ["RecorderWriter", "flush_forever"]

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.25
# A flush that failed is tried again after twice the last wait: at least 1 s, at most 5 s.
FAILED_FLUSH = Backoff(first_s=1.0, longest_s=5.0)
# Entries per transaction when the spill file is replayed (`_write_batch` says why): about a
# tenth of a second of the database thread each on PostgreSQL here.
REPLAY_CHUNK = 1000
ERROR_CHARS = 200


class RecorderWriter:
    """Writes the pending rows to the store, or to the spill file when the store refuses."""

    def __init__(
        self,
        db: Database,
        pending: PendingRows,
        *,
        max_pending: int,
        spill: RecorderSpill | None = None,
        journal: RecorderJournal | None = None,
    ) -> None:
        """`max_pending`: rows kept in memory when neither the store nor the spill file takes
        them, beyond which the oldest are dropped (counted)."""
        self._db = db
        self._pending = pending
        self.max_pending = max_pending
        self._spill = spill
        self._journal = journal
        self._spilled_shown = 0  # the spill file's rows as `status()` reports them
        # Rows in stored form that neither the store nor the spill file took (both failing).
        self._held: list[Entry] = []
        # Rows of the batch a flush is writing: still waiting, as `/health` counts them (it
        # read 0 pending in the middle of an outage while 50,000 were being written again).
        self._writing = 0
        self.dropped = 0
        # Rows still only in memory when the gateway stopped (counted in `dropped` too): a
        # stop that lost some is not a clean one (`shell/exit_codes.EXIT_ROWS_LOST`).
        self.lost_at_stop = 0
        self.last_error: str | None = None
        self._outage = Outage()  # the failing flushes of one stretch: said at its start and end
        self._flush_lock = asyncio.Lock()
        self.written = 0
        # Rows this writer inserted that the search index may not hold yet (SQLite).
        self._unindexed = 0
        # Segments of the last run's journal with unreadable lines (kept aside, reported).
        self.journal_damage: list[DamagedSegment] = []

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._held) + self._writing

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
        """Write everything pending (and anything spilled or journaled earlier) in one
        transaction on the database thread; False when the store refused it or could not be
        reached (the rows are kept, see above)."""
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
            idle = not len(self._pending) and not self._held and not replay
            if idle and not journaled:
                if journal is not None:  # their rows are stored already (or there are none)
                    await self._retire(journal, segments, damaged)
                return True
            held, self._held = self._held, []
            with self._pending.taken() as batch:
                try:
                    written = await self._write_batch(
                        batch, held, journal, (segments, damaged), journaled, replay
                    )
                finally:
                    self._writing = 0
            if written and self._unindexed >= INDEX_BATCH:
                await self._index()
            return written

    async def _write_batch(
        self,
        batch: PendingBatch,
        held: list[Entry],
        journal: RecorderJournal | None,
        retired: tuple[list[Path], list[DamagedSegment]],
        journaled: list[Entry],
        replay: bool,
    ) -> bool:
        """The flush's write of one batch, under the flush lock (see `flush`); `retired`: the
        journal segments its writing makes durable elsewhere, whole and damaged."""
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
                                "insert": batch.prepared.get(record_id)
                                or stored_form(ROW_DEFAULTS | row, batch.texts)
                            }
                            for record_id, row in batch.new.items()
                        ),
                        *(
                            {"update": record_id, "fields": stored_form(fields, batch.texts)}
                            for record_id, fields in batch.updates.items()
                        ),
                    ]
                )
            return built[0]

        replayed = replay and spill is not None
        # Rows kept in memory through an outage come back all at once: as many as a spill.
        large = len(journaled) + len(held) + len(batch.new) + len(batch.updates) > REPLAY_CHUNK
        ordered: list[Entry] = []
        stored = 0  # of `ordered`, the entries whose chunks were committed
        self._writing = len(held) + len(batch.new)
        try:
            if replayed or large:
                # Everything at once would be one transaction holding the database thread for
                # as long as tens of thousands of spilled rows take (job ends and progress
                # queue behind it), and needing room on the disk for all of them before any is
                # kept (a disk with a little room again took none of 24,879 held rows): bounded
                # chunks instead, in the one transaction's write order, each awaited, so what
                # was queued meanwhile runs in between. A chunk that fails leaves the file and
                # the batch whole; written again they give the same rows.
                ordered = await asyncio.to_thread(
                    lambda: write_order(
                        [*(spill.read() if replayed and spill is not None else ()), *entries()]
                    )
                )
                inserted = 0
                for start in range(0, len(ordered), REPLAY_CHUNK):
                    chunk = ordered[start : start + REPLAY_CHUNK]
                    inserted += await self._db.run(partial(self._write, chunk))
                    stored = start + len(chunk)
            else:
                inserted = await self._db.run(lambda: self._write(entries()))
        except StoreError as exc:  # the store is not open: keep the rows as they were
            self._pending.put_back(batch)
            self._held = held + self._held
            self._failed(exc)
            return False
        except Exception as exc:
            # Refused, or never reached (the connect failed, or the commit did): the rows
            # go to the spill file, or stay in memory (bounded) if that fails too. Of chunks
            # of held rows, only those not yet committed (a replay's stay in its file whole).
            left = entries if replayed or not stored else lambda: ordered[stored:]
            await self._keep(left, journal, retired, exc)
            return False
        if replayed and spill is not None:
            try:
                await asyncio.to_thread(spill.clear)
            except OSError:  # replayed again next time: harmless, it is idempotent
                log.warning("could not empty the recorder's spill file")
        if journal is not None:
            await self._retire(journal, *retired)
            journal.resume()
        self._show_spill()
        self.written += len(batch.new)
        self._unindexed += inserted
        end = self._outage.recovered()
        if end is not None:
            log.warning("flight recorder writes again (%s)", end.describe())
        self.last_error = None
        self._db.health.clear("recorder", "store")
        return True

    async def _keep(
        self,
        entries: Callable[[], list[Entry]],
        journal: RecorderJournal | None,
        retired: tuple[list[Path], list[DamagedSegment]],
        exc: BaseException,
    ) -> None:
        """What a flush the store refused could not write: to the spill file, or kept in
        memory (bounded) if that fails too; said where the store's problems show."""
        kept = await asyncio.to_thread(self._spill_or_keep, entries)
        if not kept and journal is not None:  # in the spill file now
            await self._retire(journal, *retired)
        self._held = kept + self._held
        self._bound_held()
        self._failed(exc)
        self._show_spill()

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

    def _write(self, entries: list[Entry]) -> int:
        """Write `entries` in one transaction; on the database thread. How many were inserts
        (a row already there counts too: it only brings the next catch-up early)."""
        write_entries(self._db.models.database, entries)
        return sum(1 for entry in entries if "insert" in entry)

    async def _index(self) -> None:
        """Have the search index take the rows written since it last did, `INDEX_MOST` at most a
        transaction, so a page read or a flush queued meanwhile waits for one batch at most. A
        failure leaves them to the next flush, or to the next search, which catches up first."""
        database = self._db.models.database
        if is_postgresql(database):  # its generated column keeps itself up to date
            self._unindexed = 0
            return
        try:
            while await self._db.run(partial(catch_up, database, INDEX_MOST)) >= INDEX_MOST:
                pass
        except Exception as exc:
            self._db.log_failure(log, "flight recorder: the search index did not catch up", exc)
            return
        self._unindexed = 0

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

    def closed(self, flushed: bool) -> None:
        """The gateway stops after its final flush (`flushed`: whether the store took it):
        the journal closes, and what the store refused is said, kept or counted lost."""
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
            self.lost_at_stop = lost
            self._held.clear()
            self._pending.clear()
            log.error("flight recorder: %d row(s) lost at stop (%s)", lost, self.last_error)


async def flush_forever(flush: Callable[[], Awaitable[bool]], wake: asyncio.Event) -> None:
    """Call `flush` every `FLUSH_EVERY_S`, at once when `wake` is set, until cancelled; after a
    failed flush, wait twice as long as before (within `FAILED_FLUSH`)
    instead of retrying four times a second. Cancelled (the gateway stops) during a flush, it
    lets that flush end first: one cut between its spill and its bookkeeping left rows in the
    spill file that neither the log nor the final flush knew of (a CI run, 2026-11-25)."""
    delay = FLUSH_EVERY_S
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), delay)
        wake.clear()
        try:
            ok = await to_its_end(flush())  # cancelled, the flush under way ends first
        except Exception:  # a bug, not the store: keep the loop alive
            log.exception("flight recorder flush failed")
            ok = False
        delay = FLUSH_EVERY_S if ok else FAILED_FLUSH.after(delay)
