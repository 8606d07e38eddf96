"""Spend per budget and period, counted in the store every gateway process shares, and the
checks every call passes before it runs.

Admission: a call under a hard budget is admitted in the store (`lanes.py`), in one
transaction that reads its lanes' spend and what running calls (in any process) hold on them,
applies the rule (`admission.py`) and writes the call's hold: an upstream call when its target
is chosen, a CLI job when it leaves the queue. So N processes on one PostgreSQL database admit
against one figure, and a budget or key made by another process (the `llmgw-desktop keys` CLI,
another gateway) is held from the next request that names it. A call admitted is held at what
it may cost (`holds.py`), so a hard budget is not passed by calls running at once; where the
real cost passes the hold (a CLI's many turns, an input larger than its estimate) it can be.
A call whose holds fit whole in room this process reserved on its lanes, under the limits the
reserves were granted by, is admitted in memory instead (`reserves.py`): that room is held in
the store already, so the sums are the same.

Settlement: a finished call's cost (the recorder's `RequestFinished`) is added to its lanes in
the store and its hold deleted (`lane_accounts.py`). The first process to count a budget in a
period reads its spend so far from the recorder's rows (`spend.py`): at start, at a rollover,
when a budget or a key's budget is added. Each other process loading the period reads them too
and raises a lane that reads less than its rows (calls finished while no process had the
budget loaded), so a budget's spend is never below what its finished rows cost.

In memory: each lane's spend as this process last read it plus what it has yet to write, for
the desk, the tray's notices and the quick `check` (no I/O) that refuses a used-up budget
before a request is routed; the admission in the store is what counts.

Lanes: a budget keeps one total, except an agent budget and `principal=*`, which keep one per
principal (`Budget.lane`), so one principal's spend never uses up another's lane.

A call whose dollar cost cannot be known (a model the price table lacks, or a CLI's unnamed
default model: `tokens/pricing.CostBasis`) is refused outright under a hard dollar budget that
covers it, with `reason: "unpriced_model"`, since it would add nothing to the budget's total;
a used-up budget's refusal has `reason: "limit_reached"`, one refused because running calls
hold the rest `reason: "held_by_running_calls"` (retryable). Work the gateway cannot count at
all (OpenAI Responses `background: true`, answered before it runs) is refused under any hard
budget covering it, `reason: "uncounted"`, and so is a coding CLI's job the gateway could not
stop at its hold (`calls/cli_spend.unmetered`), `reason: "unmetered_cli"`. A store that cannot
take a hold refuses the calls hard budgets cover (503 `store_unavailable`, retryable): a budget
it cannot count is not open. A refusal is `BudgetExceeded` (HTTP 402: `refusals.py` says why).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import tzinfo
from typing import Any

from llmgw_desktop.config.budgets import PERIODS, Budget, Period
from llmgw_desktop.engine.budgets import spend
from llmgw_desktop.engine.budgets.admission import Covered, Decision, decide
from llmgw_desktop.engine.budgets.covers import NO_COVER, Cover, CoverTable
from llmgw_desktop.engine.budgets.definition import period_bounds
from llmgw_desktop.engine.budgets.holds import CallAsk, Hold
from llmgw_desktop.engine.budgets.lane_accounts import LaneAccounts
from llmgw_desktop.engine.budgets.lanes import LaneKey, LaneState
from llmgw_desktop.engine.budgets.notices import BudgetNotices
from llmgw_desktop.engine.budgets.refusals import (
    HELD_BY_RUNNING_CALLS,
    BudgetExceeded,
    BudgetStatus,
    limit_refusal,
    uncounted_refusal,
    unmetered_refusal,
    unpriced_refusal,
)
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.events import EventBus, RequestFinished
from llmgw_desktop.engine.ids import random_hex
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.recorder.flight_recorder import recorded_caller
from llmgw_desktop.engine.store import Database, StoreUnavailable
from llmgw_desktop.engine.tokens.pricing import CostBasis

__all__ = ["BudgetLedger"]

log = logging.getLogger(__name__)

# The check normalises the caller as the recorder does (redaction is a regex pass): the few
# agents calling are remembered.
_caller = functools.lru_cache(maxsize=256)(recorded_caller)
# How long a call that cannot retry (`reserve(waits=...)`) waits for room running calls
# hold: past a CLI's side call or a sibling sub-agent's turn, well under the 2 minutes of
# silence after which the desk calls a job stuck.
WAIT_FOR_ROOM_S = 60.0
# It is decided again when a hold of this process ends, and at least this often (the hold of
# another process sharing the store ends unseen here).
ROOM_POLL_S = 0.5
# Calls of one principal that may wait so at once: each is asked again in the store as holds
# end, so a prompted agent sending hundreds at once would keep the database thread busy for
# everyone. Past it a call is refused for now, as any caller's is.
WAITING_PER_PRINCIPAL = 8


class BudgetLedger:
    """Running totals per budget (and lane) for its current period, what running calls hold,
    and the hard-limit check."""

    def __init__(
        self,
        budgets: Iterable[Budget],
        *,
        store: Database,
        recorder: FlightRecorder,
        events: EventBus,
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        process_id: str = "",
        clock: Callable[[], float] = time.time,
        zone: tzinfo | None = None,
    ) -> None:
        """`spawn` starts the re-read at a rollover and the settlements in the background (the
        engine's tasks); `process_id` (this process's lease) owns the holds it writes; `zone`,
        the calendar periods are counted in (`definition.budget_zone`; None: local)."""
        self._zone = zone
        self._configured = tuple(budgets)
        # Budgets gateway keys carry (`principal=key:<name>`), kept in the store with the key
        # rather than in config.toml: set by `GatewayKeys`, never written to the file.
        self._from_keys: tuple[Budget, ...] = ()
        self._budgets = self._configured
        self._db = store
        self._recorder = recorder
        self._events = events
        self._spawn = spawn
        self._clock = clock
        self._spent: spend.Lanes = {}
        # The store's side: admissions, and the costs and releases this process owes it.
        self.accounts = LaneAccounts(
            store,
            process_id=process_id or f"process-{uuid.uuid4().hex[:12]}",
            spawn=spawn,
            on_settled=self._reread,
            clock=clock,
        )
        self._bounds: dict[Period, tuple[float, float]] = {}
        # Which budgets and lanes each caller counts on, until the budgets or periods change.
        self._covers = CoverTable()
        self._next_rollover = float("-inf")
        # The soft and hard limits' notices, each told once per period and lane.
        self._notices = BudgetNotices(events)
        # A hard budget's lane reached its limit, as far as this process knows (else `check`
        # and `reserve` need not look at a call's lanes): `spend.used_up`, kept by each write.
        self._used_up = False
        self._loading = asyncio.Lock()
        # (budget key, period start) whose lanes this process has read the recorder's rows
        # into (`spend.count_in`): loaded here since, each of its calls reached the lanes by
        # this process's events. A load during which the budgets changed (`_changes` moved)
        # marks none: one may have been unloaded and loaded again meanwhile.
        self._read_here: set[tuple[str, float]] = set()
        self._changes = 0
        # Calls waiting for room running calls hold (`reserve(waits=...)`), by principal.
        self._waiting: dict[str, int] = {}
        self._roll(clock(), reread=False)
        events.subscribe(RequestFinished, self._on_finished)

    @property
    def budgets(self) -> tuple[Budget, ...]:
        """The configured budgets (`[[budgets]]`), without the ones keys carry."""
        return self._configured

    def any_hard(self) -> bool:
        """Whether any hard budget is set, configured or a key's (no I/O)."""
        return any(b.hard is not None for b in (*self._configured, *self._from_keys))

    @property
    def key_budgets(self) -> tuple[Budget, ...]:
        """The budgets gateway keys carry, one `principal=key:<name>` each."""
        return self._from_keys

    # -- the check -----------------------------------------------------------------------

    def _cover(self, principal: str, caller: str, project: str | None) -> Cover:
        """The hard budgets covering a call, each with the lane it counts on this period."""
        if not self._budgets:
            return NO_COVER
        if (now := self._clock()) >= self._next_rollover:
            self._roll(now)
        who = (principal, caller, project)  # a `Cover` is a named tuple of five: never falsy
        return self._covers.known.get(who) or self._covers.cover(
            self._budgets, self._from_keys, self._bounds, who, _caller
        )

    def check(
        self, principal: str, caller: str, project: str | None, cost: CostBasis | None = None
    ) -> None:
        """Refuse a call a used-up hard budget covers, or (`cost` given and not priced) a call
        a hard dollar budget covers that it could not count; microseconds, no I/O.

        Raises:
            BudgetExceeded: the message names the budget, its limit, the spend and the reset
                (`reason` limit_reached), or the model and how to proceed (unpriced_model).
        """
        covering = self._cover(principal, caller, project).covered
        for c in covering if self._used_up else ():
            if self._spent_on(c.budget, c.key.lane) >= (c.budget.hard or 0.0):
                raise limit_refusal(self._status(c.budget, c.key.lane), of_key=c.of_key)
        if cost is not None and not cost.priced:
            for c in covering:
                if c.budget.unit == "usd":
                    raise unpriced_refusal(c.budget, cost)

    def expected_limit(
        self, principal: str, caller: str, project: str | None, ask: CallAsk
    ) -> int | None:
        """The output limit `reserve` gives a call (`Hold.send_limit`) if its lanes have room for
        all it asks, as they do but near a limit (None: none covers it), to build it with."""
        if not ask.can_limit or not self._cover(principal, caller, project).covered:
            return None
        return ask.wanted_output

    async def reserve(
        self,
        principal: str,
        caller: str,
        project: str | None,
        ask: CallAsk,
        *,
        waits: Callable[[bool], None] | None = None,
    ) -> Hold:
        """Admit a call in the store on the lanes of the hard budgets covering it, holding
        what it may cost until the hold is released (`admission.py` says the rule).

        A caller that cannot act on a retryable refusal (an agent the gateway runs, whose CLI
        fails on a 402) gives `waits`: it is not refused for room running calls hold, but
        waits for a hold to end and is decided again, for up to `WAIT_FOR_ROOM_S`; `waits` is
        told True as the wait begins and False as it ends (its job says so meanwhile).

        Raises:
            BudgetExceeded: a budget is used up or has too little left (`limit_reached`), or
                running calls hold the rest of it (`held_by_running_calls`, retryable).
            StoreUnavailable: the store cannot take the hold (nothing was sent).
        """
        waiting = self._waiting
        try:
            return await self._reserve(principal, caller, project, ask)
        except BudgetExceeded as refusal:
            if (
                waits is None
                or refusal.details.get("reason") != HELD_BY_RUNNING_CALLS
                or waiting.get(principal, 0) >= WAITING_PER_PRINCIPAL
            ):
                raise
        waiting[principal] = waiting.get(principal, 0) + 1
        try:
            waits(True)
            return await self._reserve_when_room(principal, caller, project, ask)
        finally:
            waits(False)
            if waiting[principal] <= 1:
                del waiting[principal]
            else:
                waiting[principal] -= 1

    async def _reserve_when_room(
        self, principal: str, caller: str, project: str | None, ask: CallAsk
    ) -> Hold:
        """`reserve` again each time a hold ends (or every `ROOM_POLL_S`) until it is admitted,
        refused for another reason, or `WAIT_FOR_ROOM_S` has passed."""
        deadline = time.monotonic() + WAIT_FOR_ROOM_S
        while True:
            await self.accounts.hold_ended(min(deadline - time.monotonic(), ROOM_POLL_S))
            try:
                return await self._reserve(principal, caller, project, ask)
            except BudgetExceeded as refusal:
                held = refusal.details.get("reason") == HELD_BY_RUNNING_CALLS
                if not held or time.monotonic() >= deadline:
                    raise

    async def _reserve(
        self, principal: str, caller: str, project: str | None, ask: CallAsk
    ) -> Hold:
        """`reserve` once: admitted, or refused as things are now."""
        cover = self._cover(principal, caller, project)
        if not cover.covered:
            return Hold()
        self._refuse_used_up(cover)
        accounts = self.accounts
        # Held as it asked, on each lane; with room for that in its lanes' reserves, admitted
        # in memory (`reserves.py`), as the store would admit it: whole, output not lowered.
        wanted = ask.wanted_output
        estimate = ask.cost(wanted)  # what `Covered.need` says, priced once for every lane
        taken = accounts.hold(cover.held, estimate)
        if taken is None and await accounts.waited_for_grant(cover.held):
            # Its reserves were being topped up: asked again with the room that came, under
            # its budgets as they are now (one may have changed while it waited).
            cover = self._cover(principal, caller, project)
            if not cover.covered:
                return Hold()
            self._refuse_used_up(cover)
            taken = accounts.hold(cover.held, estimate)
        counts_tokens = cover.counts_tokens
        if taken is not None:
            return Hold(
                functools.partial(accounts.end_hold, taken),
                send_limit=wanted if ask.can_limit else None,
                output_tokens=wanted,
                counts_tokens=counts_tokens,
            )
        hold_id = random_hex()
        limits = cover.limits
        tokens, usd = estimate
        needs = {
            c.key: usd if in_usd else tokens
            for c, in_usd in zip(cover.covered, cover.usd, strict=True)
        }
        covered = list(cover.covered)
        learnings = self._notices.learnings  # what the store had said refuses, before this
        decision, states = await self._admit(covered, ask, hold_id, needs, limits)
        if decision.uncounted:
            await self.load()  # counts the period in (another process may have meanwhile)
            decision, states = await self._admit(covered, ask, hold_id, needs, limits)
        self._learn(states)
        if decision.refusal is not None:
            if decision.refused_under is not None:  # the lane refuses calls, not only this one
                self._notices.refused(covered, decision.refusal, self._status, since=learnings)
            raise decision.refusal
        if decision.uncounted:
            raise StoreUnavailable(
                self._db.engine.where, "this period's spend could not be read for a hard budget"
            )
        return Hold(
            lambda: accounts.release(hold_id),
            send_limit=decision.output if ask.can_limit else None,
            lowered=decision.lowered,
            output_tokens=decision.output,
            counts_tokens=counts_tokens,
        )

    def _refuse_used_up(self, cover: Cover) -> None:
        """Refuse a call one of whose hard budgets this process has seen used up (no query).

        Raises:
            BudgetExceeded: `limit_reached`, naming the budget.
        """
        for c in cover.covered if self._used_up else ():
            if self._spent_on(c.budget, c.key.lane) >= (c.budget.hard or 0.0):
                raise limit_refusal(self._status(c.budget, c.key.lane), of_key=c.of_key)

    async def _admit(
        self,
        covered: list[Covered],
        ask: CallAsk,
        hold_id: str,
        needs: Mapping[LaneKey, float],
        limits: Mapping[LaneKey, float],
    ) -> tuple[Decision, dict[LaneKey, LaneState]]:
        try:
            return await self.accounts.admit(
                [c.key for c in covered],
                lambda states: decide(covered, states, ask),
                hold_id,
                needs=needs,
                limits=limits,
            )
        except EngineError:
            raise
        except Exception as exc:  # the store refused the hold (full, read-only, damaged)
            self._db.log_failure(log, "budgets: could not hold a call's cost", exc)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreUnavailable(
                self._db.engine.where, f"it cannot take a hard budget's hold: {reason}"
            ) from exc

    def _learn(self, states: dict[LaneKey, LaneState]) -> None:
        """What an admission read of lanes: the spend the desk and `check` see."""
        for key, state in states.items():
            if state.counted and self._is_current(key):
                self._spent.setdefault(key.budget, {})[key.lane] = state.spent + (
                    self.accounts.owed(key)
                )
        self._used_up = spend.used_up(self._budgets, self._spent)

    def _is_current(self, key: LaneKey) -> bool:
        for budget in self._budgets:
            if budget.key == key.budget:
                return self._bounds[budget.period][0] == key.period_start
        return False

    def refuse_uncounted(
        self, principal: str, caller: str, project: str | None, feature: str
    ) -> None:
        """Refuse work the gateway cannot count (`feature` says what) under a hard budget.

        Raises:
            BudgetExceeded: `reason` uncounted, naming the feature and the budget.
        """
        covering = self._cover(principal, caller, project).covered
        if not covering:
            return
        raise uncounted_refusal(covering[0].budget, feature)

    def refuse_unmetered(
        self, principal: str, caller: str, project: str | None, provider: str, why: str
    ) -> None:
        """Refuse a CLI job the gateway cannot stop at its hold (`why` says so, naming the CLI
        `provider`) under any hard budget, dollars or tokens, covering it.

        Raises:
            BudgetExceeded: `reason` unmetered_cli, naming the CLI, the budget and the ways out.
        """
        covering = self._cover(principal, caller, project).covered
        if not covering:
            return
        raise unmetered_refusal(covering[0].budget, provider, why)

    def covers(self, principal: str, caller: str, project: str | None) -> bool:
        """Whether a hard budget, dollars or tokens, covers such a call (no I/O)."""
        return bool(self._cover(principal, caller, project).covered)

    def _spent_on(self, budget: Budget, lane: str) -> float:
        return self._spent.get(budget.key, {}).get(lane, 0.0)

    # -- what the desk shows -------------------------------------------------------------

    def _status(self, budget: Budget, lane: str) -> BudgetStatus:
        start, end = self._bounds[budget.period]
        refusing = self._notices.refusing(budget, start, lane)
        return BudgetStatus(budget, self._spent_on(budget, lane), end, lane, start, refusing)

    def status_of(self, budget: Budget) -> BudgetStatus:
        """The budget's total; per principal, its lane refusing calls, else its fullest."""
        start = self._bounds[budget.period][0]
        lane = self._notices.shown_lane(budget, start, self._spent.get(budget.key, {}))
        return self._status(budget, lane)

    def statuses(self) -> list[BudgetStatus]:
        """Every budget with its spend this period, in the order they are configured."""
        self._roll_due()
        return [self.status_of(b) for b in self._configured]

    def key_status(self, principal: str) -> BudgetStatus | None:
        """The spend of the budget a key carries (its principal's), or None without one."""
        for budget in self._from_keys:
            if budget.value == principal:
                self._roll_due()
                return self.status_of(budget)
        return None

    def key_statuses(self) -> list[BudgetStatus]:
        """The budget of every gateway key that carries one, with its spend this period."""
        self._roll_due()
        return [self.status_of(b) for b in self._from_keys]

    def nearest(self) -> BudgetStatus | None:
        """The budget refusing calls, else the closest to (or past) its limit; None if none."""
        statuses = self.statuses()
        return max(statuses, key=lambda s: (s.state == "exceeded", s.fraction), default=None)

    # -- keeping the totals --------------------------------------------------------------

    def _on_finished(self, event: RequestFinished) -> None:
        if not self._budgets:
            return
        if (now := self._clock()) >= self._next_rollover:
            self._roll(now)
        who = (event.principal, event.caller, event.project)
        lanes = self._covers.known_lanes.get(who) or self._covers.lanes(
            self._budgets, self._bounds, who
        )
        if not lanes:
            return
        usd = float(event.cost_usd or 0.0)  # what it adds to a dollar budget
        table = self._spent
        for budget, key, in_usd, notice_at, used_up_at in lanes:
            start, lane = key.period_start, key.lane
            if event.started_at < start:
                continue  # it began in an earlier period
            amount = usd if in_usd else spend.amount_of_tokens(event)
            if amount <= 0:
                continue
            spent = spend.add_to(table, key.budget, lane, amount)
            self.accounts.add(key, amount)
            # A lane under both its limits has nothing to tell: its status is built (for the
            # notice) only once it reaches one, not for every call.
            if spent >= notice_at:
                self._notices.crossed(self._status(budget, lane), start)
            if spent >= used_up_at:
                self._used_up = True

    def _roll_due(self) -> None:
        if (now := self._clock()) >= self._next_rollover:
            self._roll(now)

    def _roll(self, now: float, *, reread: bool = True) -> None:
        """Move each period on when its end has passed: its budgets start again at zero, and
        (`reread`) the store is read back for what the new period has spent already."""
        rolled = False
        for period in PERIODS:
            bounds = period_bounds(period, now, self._zone)
            if self._bounds.get(period) != bounds:
                rolled = rolled or period in self._bounds
                self._bounds[period] = bounds
                self._covers.clear()  # lanes of the new period
                for budget in self._budgets:
                    if budget.period == period:
                        self._spent[budget.key] = {}
        self._used_up = spend.used_up(self._budgets, self._spent)  # new periods start at 0
        self._next_rollover = min(end for _start, end in self._bounds.values())
        starts = {start for start, _end in self._bounds.values()}
        self._notices.keep_periods(starts)
        self.accounts.retain(starts)
        self._read_here = {(key, start) for key, start in self._read_here if start in starts}
        if rolled and reread and self._budgets:
            self._spawn(self.load())

    async def load(self) -> None:
        """Count this period in for each budget that is not yet (its spend so far read from
        the recorder's rows, once across every process), raise the lanes of one counted in
        already to what the rows say where this process has not read them yet (`spend.py`),
        then read every lane's spend (at start, at a rollover, when the budgets change).

        A store that cannot be read is logged and the in-memory totals are kept: the desk
        shows what this process counted, and admissions (which need the store) are refused.
        """
        if not self._budgets:
            return
        async with self._loading:
            now = self._clock()
            if now >= self._next_rollover:
                self._roll(now, reread=False)
            periods = {b.key: self._bounds[b.period][0] for b in self._budgets}
            changes = self._changes
            try:
                counted = (await self.accounts.read(periods)).counted
                unread = [
                    b
                    for b in self._budgets
                    if b.key not in counted or (b.key, periods[b.key]) not in self._read_here
                ]
                if unread:
                    await spend.count_in(
                        self.accounts,
                        self._db,
                        self._recorder.flush,
                        unread,
                        periods,
                        counted=counted,
                        cut=self._clock(),
                    )
                    if changes == self._changes:  # else one may have been unloaded meanwhile
                        self._read_here.update((b.key, periods[b.key]) for b in unread)
            except Exception as exc:
                # Until a load succeeds, a soft budget's spend is neither shown whole nor
                # written (its period is not counted in): read again until it is.
                self._db.redo_later(
                    log, "budgets: could not read this period's spend", exc, self.load
                )
                return
            await self._reread()

    async def _reread(self) -> None:
        """Each budget's lanes as the store has them, plus what this process still owes."""
        if not self._budgets:
            return
        periods = {b.key: self._bounds[b.period][0] for b in self._budgets}
        accounts = self.accounts
        flushes = accounts.flushes_written
        try:
            read = await accounts.read(periods)
        except Exception as exc:
            self._db.log_failure(log, "budgets: could not read the spend back", exc)
            return
        if periods != {b.key: self._bounds[b.period][0] for b in self._budgets}:
            return  # a period rolled or the budgets changed during the read: read again then
        if accounts.flushes_written != flushes:
            # A flush wrote meanwhile: the read may hold its costs or not, and they are no
            # longer owed here. The flush's own read back (`on_settled`) follows.
            return
        owed = accounts.owed
        table = spend.with_owed(read.spent, self._budgets, periods, self._spent, owed)
        self._spent = table
        self._used_up = spend.used_up(self._budgets, self._spent)
        self._learn_refusals(read.refused_under)
        for budget in self._budgets:
            for lane in table.get(budget.key, {}):
                self._notices.crossed(self._status(budget, lane), self._bounds[budget.period][0])

    def _learn_refusals(self, refused_under: Mapping[LaneKey, float]) -> None:
        """Lanes the store says refuse calls (this process's before a restart, or another's
        sharing the store) are refusing while their limit is no higher than the one they
        refused under; told already where they refused."""
        limits = {b.key: b for b in self._budgets}
        for key, under in refused_under.items():
            budget = limits.get(key.budget)
            if budget is not None and budget.hard is not None and budget.hard <= under:
                self._notices.refused_elsewhere(budget, key.period_start, key.lane)

    async def close(self) -> None:
        """Write what this process owes the store (at stop)."""
        await self.accounts.close()

    async def replace(self, budgets: Iterable[Budget]) -> None:
        """Run on a new list of budgets (the desk edited them): their spend is read again."""
        await self._run_on(tuple(budgets), self._from_keys)

    async def replace_key_budgets(self, budgets: Iterable[Budget]) -> None:
        """Run on a new list of the budgets keys carry (a key was made, changed or seen
        changed by another process): their spend is read again."""
        await self._run_on(self._configured, tuple(budgets))

    async def _run_on(self, configured: tuple[Budget, ...], from_keys: tuple[Budget, ...]) -> None:
        before = {b.key: (b.soft, b.hard) for b in self._budgets}
        self._configured, self._from_keys = configured, from_keys
        self._budgets = configured + tuple(b for b in from_keys if b not in configured)
        self._covers.clear()
        keys = {b.key for b in self._budgets}
        self._spent = {k: v for k, v in self._spent.items() if k in keys}
        # A budget unloaded counts none of the calls that finish until it is loaded again.
        self._changes += 1
        self._read_here = {(key, start) for key, start in self._read_here if key in keys}
        self._used_up = spend.used_up(self._budgets, self._spent)  # under the new limits
        # A budget whose limits changed may cross them anew this period: tell it again then.
        changed = {b.key for b in self._budgets if before.get(b.key) != (b.soft, b.hard)}
        self._notices.forget_budgets(changed)
        await self.load()
