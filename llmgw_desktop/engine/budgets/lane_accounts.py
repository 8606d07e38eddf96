"""This process's accounts with the budget lanes the store counts (`lanes.py`): the calls it
admits there, and the settlements it owes the store.

A finished call's cost (from the recorder's `RequestFinished`) and the end of a call's hold
are kept in memory and written together in one transaction, soon after (a background flush)
and before this process's next admission, so a call admitted right after another has
finished sees that call's cost rather than its hold. Until a settlement is written the store
still has the hold, which is at least what the call may cost (`holds.py`): another process
sees more spent than there is, never less. A flush that fails is tried again, backing off; an
addition whose budget period is not counted in yet waits for it (`lanes.settle`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.budgets import lanes, reserves, transactions
from llmgw_desktop.engine.budgets.lanes import LaneKey, LaneState, Verdict
from llmgw_desktop.engine.budgets.reserves import Grant, Reserves, Taken
from llmgw_desktop.engine.budgets.transactions import Asked, BatchWritten, Owing
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.sql import store_time
from llmgw_desktop.engine.tasks import to_its_end

__all__ = ["LaneAccounts"]

log = logging.getLogger(__name__)

V = TypeVar("V", bound=Verdict)

# A flush the store refused is tried again after 0.5 s, doubling up to 5 s.
FAILED_FLUSH = Backoff(first_s=0.5, longest_s=5.0)
# What calls end within this is written in one transaction (the store keeps their holds
# meanwhile, and this process's next admission writes them first anyway).
FLUSH_AFTER_S = 0.05
# The figures are read back after a flush at most this often.
REREAD_EVERY_S = 1.0
# A lane is searched for dead processes' holds at most this often (a process is taken for
# dead only once its lease has run out, seconds after it died: searching every admission
# found nothing new almost every time).
RECLAIM_EVERY_S = 5.0
MAX_LANES_REMEMBERED = 10_000


class LaneAccounts:
    """Admits calls on their lanes in the store; owes it the costs and releases of calls."""

    def __init__(
        self,
        db: Database,
        *,
        process_id: str,
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        on_settled: Callable[[], Coroutine[Any, Any, None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`process_id` owns this process's holds (its lease id); `on_settled` runs after each
        flush that wrote something (the ledger reads its figures again)."""
        self._db = db
        self.process_id = process_id
        self._spawn = spawn
        self._on_settled = on_settled
        self._clock = clock
        self._adds: dict[LaneKey, float] = {}
        self._released: set[str] = set()
        # Additions whose budget period was not counted in when they were written.
        self._waiting: dict[LaneKey, float] = {}
        # Additions a flush is writing: still owed until it has (a read of the store meanwhile
        # may see it before the commit; counted twice for a moment rather than never).
        self._writing: dict[LaneKey, float] = {}
        # Flushes that wrote: a read of the store that one ended during may have been taken
        # before or after its commit (the ledger reads again then, `BudgetLedger._reread`).
        self.flushes_written = 0
        self._flushing = False
        # Set when a reserve runs low: the flush's wait ends at once.
        self._hurry = asyncio.Event()
        # Calls waiting for their admission, and whether a task is admitting them.
        self._asked: list[Asked] = []
        self._admitting = False
        self._reread_at = float("-inf")
        # When each lane was last searched for dead processes' holds (monotonic).
        self._reclaimed: dict[LaneKey, float] = {}
        # Room reserved on lanes, to admit calls in memory (`reserves.py`).
        self.reserves = Reserves()
        # The lanes as the flush last read them (on the database thread only).
        self._seen = lanes.SeenLanes()
        # When this process's marks of lanes wanted (`reserves.want`) have done their work
        # and are deleted, by the flush (monotonic; None: no mark).
        self._unmark_at: float | None = None
        # Calls refused where other processes' reserves held room (by hold id): asked again.
        self._contested: set[str] = set()
        # How many calls are being decided in the store on each lane: the flush grants their
        # reserves nothing meanwhile (the calls gave the spare back to be decided with it).
        self._asking: dict[LaneKey, int] = {}
        # Set when a hold of this process ends while calls wait for room (`hold_ended`); a
        # new one for the next wait. Nobody waiting, a hold's end costs one comparison.
        self._hold_ended = asyncio.Event()
        self._waiting_for_room = 0
        self.closed = False

    # -- what is owed ---------------------------------------------------------------------

    def add(self, key: LaneKey, amount: float) -> None:
        """A finished call's cost on one lane, written at the next flush."""
        self._adds[key] = self._adds.get(key, 0.0) + amount
        self._flush_soon()

    def release(self, hold_id: str) -> None:
        """A call the store admitted (`admit`) whose hold ends (its cost was added, or it
        failed); one admitted in memory ends with `end_hold`."""
        self._released.add(hold_id)
        self._flush_soon()
        if self._waiting_for_room:
            self._room_may_have_come()

    def owed(self, key: LaneKey) -> float:
        """What this process has yet to add to `key` (being written included)."""
        return self._adds.get(key, 0.0) + self._waiting.get(key, 0.0) + self._writing.get(key, 0.0)

    def take_adds(self, budget: str, period_start: float) -> dict[LaneKey, float]:
        """Take back what is owed to one budget's period (it is being counted in from the
        recorder's rows, which hold those calls already)."""
        taken: dict[LaneKey, float] = {}
        for table in (self._adds, self._waiting):
            for key in [k for k in table if k.budget == budget and k.period_start == period_start]:
                taken[key] = taken.get(key, 0.0) + table.pop(key)
        return taken

    def give_back(self, adds: Mapping[LaneKey, float]) -> None:
        """Owe `adds` again (a count that did not happen, or was another process's)."""
        for key, amount in adds.items():
            self._adds[key] = self._adds.get(key, 0.0) + amount
        self._flush_soon()

    def retain(self, period_starts: Iterable[float]) -> None:
        """Forget waiting additions of periods that are over (no budget counts them now)."""
        keep = set(period_starts)
        self._waiting = {k: v for k, v in self._waiting.items() if k.period_start in keep}

    def hold(
        self, lanes: Iterable[tuple[LaneKey, int, float | None]], amounts: Sequence[float]
    ) -> Taken | None:
        """Admit a call in memory from its lanes' reserves (`Reserves.hold` says `lanes` and
        `amounts`): what was taken, for `end_hold`, or None (the call is decided in the store:
        `admit`). A reserve running low is granted more at once, in the background."""
        if self.closed:
            return None
        taken = self.reserves.hold(lanes, amounts)
        if taken is not None and self.reserves.low:
            self._flush_soon(at_once=True)
        return taken

    async def waited_for_grant(self, lanes: Iterable[tuple[LaneKey, int, float | None]]) -> bool:
        """Wait for the room being granted to `lanes`' reserves to land; whether any was. A
        call that finds its reserves dry while they are topped up is asked again with the
        room that came (`BudgetLedger.reserve`): decided in the store, it would give that room
        back first, and every call after it would find them dry and do the same (under load,
        most calls went to the store so)."""
        keys = [key for key, _which, _limit in lanes]
        if not self.reserves.granting_to(keys):
            return False
        await self.reserves.settled(keys)
        return True

    def end_hold(self, taken: Taken) -> None:
        """A call admitted by `hold` ends (as `release` ends one the store admitted)."""
        self.reserves.end_hold(taken)
        self._flush_soon()
        if self._waiting_for_room:
            self._room_may_have_come()

    async def hold_ended(self, within_s: float) -> None:
        """Wait until a hold this process admitted ends, or `within_s` passes (a hold of
        another process sharing the store ends unseen here). The next admission writes the
        ended hold first (`_admit_batch`), so a call asked again sees its room."""
        ended = self._hold_ended
        self._waiting_for_room += 1
        try:
            async with asyncio.timeout(within_s):
                await ended.wait()
        except TimeoutError:
            pass
        finally:
            self._waiting_for_room -= 1

    def _room_may_have_come(self) -> None:
        self._hold_ended.set()
        self._hold_ended = asyncio.Event()

    # -- the store ------------------------------------------------------------------------

    async def admit(
        self,
        keys: list[LaneKey],
        decide: Callable[[dict[LaneKey, LaneState]], V],
        hold_id: str,
        *,
        needs: Mapping[LaneKey, float] | None = None,
        limits: Mapping[LaneKey, float] | None = None,
    ) -> tuple[V, dict[LaneKey, LaneState]]:
        """Write what is owed, then decide a call on `keys` and write its holds, on the
        database thread: with the calls asked meanwhile, in one transaction (`_admit_asked`).
        If it is admitted, its lanes' reserves are granted room for calls like it (`needs`,
        what it holds per lane if admitted as it asked; `limits`, each lane's limit; None: no
        reserve). This process's spare on its lanes is given back first, in the same
        transaction: a call is never refused, nor cut to a lower output limit, for room held
        idle here. Refused where other processes' reserves hold room, it waits for them to
        give it back and is asked again, up to `reserves.WANTED_ASKS` times (`reserves.want`).

        Raises:
            StoreUnavailable: the store cannot be reached (a retryable 503 for the call).
            peewee.DatabaseError: the store refused (full, read-only, damaged).
        """
        keys = list(keys)
        asking = self._asking
        for key in keys:
            asking[key] = asking.get(key, 0) + 1
        try:
            # Before the decision rather than after a refusal: a call the room does not pay
            # for whole is admitted with a lower limit, which a second asking could not undo.
            # A grant being written lands first, so its room is given back too.
            await self.reserves.settled(keys)
            self.reserves.give_back_spare(keys)
            verdict, states = await self._admit(keys, decide, hold_id, needs, limits)
            for _ in range(reserves.WANTED_ASKS):
                if hold_id not in self._contested:
                    break
                # Refused for room other processes reserve: they give it back (`reserves.want`)
                # at their next flushes, which a loaded machine can make late.
                self._contested.discard(hold_id)
                await asyncio.sleep(reserves.WAIT_FOR_WANTED_S)
                await self.reserves.settled(keys)
                self.reserves.give_back_spare(keys)
                verdict, states = await self._admit(keys, decide, hold_id, needs, limits)
            self._contested.discard(hold_id)  # refused each time: the refusal stands
            return verdict, states
        finally:
            for key in keys:
                if asking[key] <= 1:
                    del asking[key]
                else:
                    asking[key] -= 1

    async def _admit(
        self,
        keys: list[LaneKey],
        decide: Callable[[dict[LaneKey, LaneState]], V],
        hold_id: str,
        needs: Mapping[LaneKey, float] | None,
        limits: Mapping[LaneKey, float] | None,
    ) -> tuple[V, dict[LaneKey, LaneState]]:
        reclaim = self._reclaim_due(keys)
        asked = Asked(
            keys,
            decide,
            hold_id,
            reclaim,
            asyncio.get_running_loop().create_future(),
            needs or {},
            limits or {},
        )
        self._asked.append(asked)
        if not self._admitting:
            # None is being written: this one goes at once, written by a task of its own and
            # not in this caller's. The database thread writes its hold however the caller
            # ends; a caller cancelled meanwhile (its client hung up) has it released by the
            # writer (`_admit_batch`), where written in the caller's own task the cancellation
            # left it in the store, held for as long as the gateway ran.
            self._admitting = True
            self._pass_on()
        try:
            return await asked.answer
        except asyncio.CancelledError:
            self._left_with_answer(asked)
            raise

    def _left_with_answer(self, asked: Asked) -> None:
        """`asked`'s caller was cancelled after its answer was set but before it ran again: the
        writer took the answer as delivered, so the hold it wrote is released here (as the
        writer releases one whose caller left before, `_admit_batch`)."""
        answer = asked.answer
        delivered = answer.done() and not answer.cancelled() and answer.exception() is None
        if delivered and answer.result()[0].holds:
            self.release(asked.hold_id)

    def _pass_on(self) -> None:
        """After a batch: the calls asked meanwhile go in the next, written by a task of its
        own (their callers only wait)."""
        if not self._asked:
            self._admitting = False
            return
        try:
            self._spawn(self._admit_asked())
        except RuntimeError as exc:  # the engine is stopping: no task may start
            self._admitting = False
            asked, self._asked = self._asked, []
            for waiting in asked:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)

    async def _admit_asked(self) -> None:
        """Admit the calls asked, a batch at a time, until none waits. A batch is what was asked
        while the one before it was written: one hop to the database thread and one
        transaction for all of them, each decided in turn on the lanes as the ones before it
        left them (their holds included), as one call at a time would be."""
        try:
            while self._asked:
                batch = [a for a in self._asked if not a.answer.done()]  # not cancelled
                self._asked = []
                if batch:
                    await to_its_end(self._admit_batch(batch))
        finally:
            self._admitting = False
            for waiting in self._asked:  # cancelled (the engine stops) with these still asked
                waiting.answer.cancel()
            self._asked = []

    async def _admit_batch(self, batch: list[Asked]) -> None:
        adds, released = self._take()
        owed = self.reserves.owed()
        grants: dict[LaneKey, Grant] = {}
        for asked in batch:
            if not self.closed:
                for g in self.reserves.grants_for(asked.needs, asked.limits):
                    grants.setdefault(g.key, g)
        self.reserves.granting(grants.values(), on=True)
        work = functools.partial(
            transactions.admit_batch,
            self._db.models.database,
            self._db.engine.serialize,
            batch,
            Owing(adds, released, owed),
            grants,
            process=self.process_id,
            clock=self._clock,
            seen=self._seen,
        )
        try:
            written = await self._db.run(work)
        except BaseException as exc:
            # Nothing was written: what this batch took, owed and granted is as it was.
            self._give_back(adds, released)
            self.reserves.owe_again(owed)
            self.reserves.granting(grants.values(), on=False)
            for asked in batch:
                if not isinstance(exc, Exception):
                    asked.answer.cancel()  # cancelled itself (`to_its_end` shields the stop's)
                elif not asked.answer.done():
                    asked.answer.set_exception(exc)
            if isinstance(exc, Exception):
                return
            raise
        self._wait(written.kept)
        if written.marked:
            self._unmark_at = time.monotonic() + reserves.WANTED_S
        self.reserves.written(written.granted, grants.values(), written.gone)
        if self.reserves.active or written.marked:  # kept up (and given back, deleted) by the flush
            self._flush_soon()
        self._answer(batch, written)

    def _answer(self, batch: list[Asked], written: BatchWritten) -> None:
        """Each call of `batch` told how the transaction decided it."""
        if len(self._reclaimed) > MAX_LANES_REMEMBERED:
            self._reclaimed.clear()
        now_mono = time.monotonic()
        for asked, answer in zip(batch, written.decided, strict=True):
            self._reclaimed.update(dict.fromkeys(asked.reclaim, now_mono))
            if not asked.answer.done():
                if asked.hold_id in written.contested:
                    self._contested.add(asked.hold_id)
                asked.answer.set_result(answer)
            elif answer[0].holds:  # its caller left meanwhile: nothing will release its hold
                self.release(asked.hold_id)

    async def count_in(
        self, budget: str, period_start: float, spent_so_far: Callable[[], Mapping[str, float]]
    ) -> bool:
        """Count a budget's period in (`lanes.count_period`); whether this process did it.

        Raises:
            StoreUnavailable: the store cannot be reached.
        """
        database = self._db.models.database
        engine = self._db.engine

        def work() -> bool:
            self._seen.forget()  # a lane's spend counted in
            now = store_time(database) or self._clock()
            return lanes.count_period(
                database,
                lambda key: engine.serialize(database, key),
                budget,
                period_start,
                spent_so_far,
                now=now,
            )

        done = await self._db.run(work)
        # Additions that waited for a count may go now.
        self.give_back(self._waiting)
        self._waiting = {}
        return done

    async def count_at_least(
        self,
        budget: str,
        period_start: float,
        in_rows: Mapping[str, float],
        owed: Mapping[LaneKey, float],
    ) -> None:
        """Raise a counted period's lanes to what the recorder's rows say they spent
        (`lanes.count_at_least`), `owed` (taken back by `take_adds`) added first.

        Raises:
            StoreUnavailable: the store cannot be reached (nothing was written).
        """
        database = self._db.models.database
        mine = {key.lane: amount for key, amount in owed.items()}

        def work() -> None:
            self._seen.forget()  # lanes' spend raised
            lanes.count_at_least(database, budget, period_start, in_rows, mine)

        await self._db.run(work)

    async def read(self, periods: Mapping[str, float]) -> lanes.LanesRead:
        """Each lane of the budgets in `periods`: its spend, whether its period is counted in,
        and whether it refuses calls (`lanes.LanesRead`).

        Raises:
            StoreUnavailable: the store cannot be reached.
        """
        database = self._db.models.database
        return await self._db.read(lambda: lanes.read_lanes(database, periods))

    async def flush(self) -> bool:
        """Write what is owed now, and grant the reserves running low more room; whether it
        was written (else it stays owed)."""
        grants = [] if self.closed else self.reserves.upkeep(self._asking)
        due = self._reclaim_due(g.key for g in grants)
        adds, released = self._take()
        owed = self.reserves.owed()
        unmark_at = self._unmark_at
        unmark = unmark_at is not None and (self.closed or time.monotonic() >= unmark_at)
        if not adds and not released and not owed and not grants and not unmark:
            return True
        self.reserves.granting(grants, on=True)
        database = self._db.models.database
        engine = self._db.engine

        work = functools.partial(
            transactions.flush,
            database,
            engine.serialize,
            Owing(adds, released, owed),
            grants,
            due=due,
            unmark=unmark,
            closed=self.closed,
            process=self.process_id,
            clock=self._clock,
            seen=self._seen,
        )
        self._count_writing(adds, 1.0)
        try:
            written = await self._db.run(work)
        except Exception as exc:
            self._give_back(adds, released)
            self.reserves.owe_again(owed)
            self.reserves.granting(grants, on=False)
            self._db.log_failure(log, "budgets: could not write finished calls' spend", exc)
            return False
        finally:
            self._count_writing(adds, -1.0)
        self.flushes_written += 1
        self._wait(written.kept)
        if unmark and self._unmark_at == unmark_at:  # else marked again meanwhile: kept
            self._unmark_at = None
        self.reserves.written(written.granted, grants, written.gone)
        self._reclaimed.update(dict.fromkeys(due, time.monotonic()))
        return True

    async def close(self) -> None:
        """The last flush (at stop), the reserves' spare given back: what cannot be written
        stays in the store as holds, counted in full once this process's lease has run out."""
        self.closed = True
        self.reserves.close()
        if await self.flush() or not (self._adds or self._released):
            return
        # The only word of it: a failed flush is logged at DEBUG while the store's outage is.
        log.warning(
            "budgets: not written at stop (the store did not take it): the spend of finished "
            "calls (%.6f on %d lane(s)) and the release of %d hold(s); those calls' holds stay "
            "in the store, counted in full once this process's lease has run out",
            sum(self._adds.values()),
            len(self._adds),
            len(self._released),
        )

    # -- inside ---------------------------------------------------------------------------

    def _reclaim_due(self, keys: Iterable[LaneKey]) -> frozenset[LaneKey]:
        """The lanes of `keys` not searched for dead processes' holds for `RECLAIM_EVERY_S`."""
        now = time.monotonic()
        return frozenset(
            k for k in keys if now - self._reclaimed.get(k, float("-inf")) >= RECLAIM_EVERY_S
        )

    def _take(self) -> tuple[dict[LaneKey, float], set[str]]:
        adds, released = self._adds, self._released
        self._adds, self._released = {}, set()
        return adds, released

    def _count_writing(self, adds: Mapping[LaneKey, float], sign: float) -> None:
        """`adds` being written (`sign` 1) or written, or given back (-1)."""
        writing = self._writing
        for key, amount in adds.items():
            left = writing.get(key, 0.0) + sign * amount
            if abs(left) > 1e-12:
                writing[key] = left
            else:
                writing.pop(key, None)

    def _give_back(self, adds: Mapping[LaneKey, float], released: Iterable[str]) -> None:
        for key, amount in adds.items():
            self._adds[key] = self._adds.get(key, 0.0) + amount
        self._released.update(released)

    def _wait(self, kept: Mapping[LaneKey, float]) -> None:
        for key, amount in kept.items():
            self._waiting[key] = self._waiting.get(key, 0.0) + amount

    def _flush_soon(self, *, at_once: bool = False) -> None:
        """Flush soon (`at_once`: a reserve runs low, so without the wait for calls ending
        together, if no flush is under way)."""
        if self.closed:
            return
        if at_once:
            self._hurry.set()
        if self._flushing:
            return
        self._flushing = True
        try:
            self._spawn(self._flush_while_owed())
        except RuntimeError:
            # The engine is stopping and no task may start: what is owed stays owed for the
            # last flush (`close`). Raised, it failed a call that had taken its hold (which
            # nobody then ended) and left a batch decided in the store unanswered.
            self._flushing = False

    async def _flush_while_owed(self) -> None:
        wait = FAILED_FLUSH.first_s
        try:
            while (
                self._adds or self._released or self.reserves.active or self._unmark_at is not None
            ) and not self.closed:
                # One flush for the calls that end together (a reserve running low: at once).
                # A timer that sets the event, rather than `wait_for`: no task, no cancelled
                # wait and no TimeoutError raised for every flush.
                if not self._hurry.is_set():
                    wake = asyncio.get_running_loop().call_later(FLUSH_AFTER_S, self._hurry.set)
                    try:
                        await self._hurry.wait()
                    finally:
                        wake.cancel()
                self._hurry.clear()
                if await to_its_end(self.flush()):
                    wait = FAILED_FLUSH.first_s
                    if self._on_settled is not None and (
                        time.monotonic() - self._reread_at >= REREAD_EVERY_S
                    ):
                        self._reread_at = time.monotonic()
                        await self._on_settled()
                else:
                    await asyncio.sleep(wait)
                    wait = FAILED_FLUSH.after(wait)
        finally:
            self._flushing = False
