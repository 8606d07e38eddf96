"""Spend so far per budget, kept in memory, and the check every call passes before it runs.

The running totals are fed by the recorder's `RequestFinished` events, so the check is a
few dictionary look-ups, never a query. They are read back from the store (`spend.py`) at
start and at each period rollover, so a restart forgets nothing: the read takes a cut time,
flushes the recorder, reads the rows that finished before the cut and adds what finished
since (counted from events), so no row is counted twice or missed while the read runs.

Lanes: a budget keeps one total, except an agent budget and `principal=*`, which keep one per
principal (`Budget.lane`), so one principal's spend never uses up another's lane.

Overshoot: a call reserves its estimate before it is sent (`holds.py`): an upstream call when
its target is chosen, a CLI job when it leaves the queue. A hard budget admits a call while its
spend plus what running calls hold is below the limit, so however many calls run at once, the
budget ends at most one call's estimate above it (more only where a call's real cost passed its
estimate: no output limit named, or a CLI's many turns). A call refused because running calls
hold the rest is `reason: "held_by_running_calls"` and may be retried when they finish.

A call whose dollar cost cannot be known (a model the price table lacks, or a CLI's unnamed
default model: `tokens/pricing.CostBasis`) is refused outright under a hard dollar budget that
covers it, with `reason: "unpriced_model"`, since it would add nothing to the budget's total;
a used-up budget's refusal has `reason: "limit_reached"`. Work the gateway cannot count at
all (OpenAI Responses `background: true`, answered before it runs) is refused under any hard
budget covering it, `reason: "uncounted"`.

A refusal is `BudgetExceeded` (`budget_exceeded`, HTTP 402). Not 429: the official
`openai` and `anthropic` SDKs retry 408, 409, 429 and 5xx (twice by default, backing off),
and a budget does not clear in seconds, so a 429 would triple the refusals and delay the
caller's error for nothing; 402 "Payment Required" is what a spending limit is, no SDK
retries it, and gateways with credit limits (OpenRouter) answer it too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from llmgw_desktop.config.budgets import PERIODS, Budget, Period
from llmgw_desktop.engine.budgets.definition import format_amount, period_bounds
from llmgw_desktop.engine.budgets.holds import Estimate, Hold
from llmgw_desktop.engine.budgets.refusals import (
    HELD_BY_RUNNING_CALLS,
    LIMIT_REACHED,
    UNCOUNTED,
    UNPRICED_MODEL,
    BudgetExceeded,
    BudgetState,
    BudgetStatus,
    held_refusal,
    limit_refusal,
    uncounted_refusal,
    unpriced_refusal,
)
from llmgw_desktop.engine.budgets.spend import SpendGroup, read_spend
from llmgw_desktop.engine.events import EventBus, Notice, RequestFinished
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.recorder.flight_recorder import recorded_caller
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tokens.pricing import CostBasis

__all__ = [
    "HELD_BY_RUNNING_CALLS",
    "LIMIT_REACHED",
    "UNCOUNTED",
    "UNPRICED_MODEL",
    "BudgetExceeded",
    "BudgetLedger",
    "BudgetState",
    "BudgetStatus",
]

log = logging.getLogger(__name__)

# The check normalises the caller as the recorder does (redaction is a regex pass): the few
# agents calling are remembered.
_caller = functools.lru_cache(maxsize=256)(recorded_caller)


def _amount(budget: Budget, event: RequestFinished) -> float:
    if budget.unit == "usd":
        return float(event.cost_usd or 0.0)
    return float(
        event.input_tokens
        + event.output_tokens
        + event.cache_read_tokens
        + event.cache_write_tokens
    )


# Spend per budget key, then per lane (the principal, or "" for a budget's one total).
Lanes = dict[str, dict[str, float]]


def _add(table: Lanes, key: str, lane: str, amount: float) -> None:
    lanes = table.setdefault(key, {})
    lanes[lane] = lanes.get(lane, 0.0) + amount


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`spawn` starts the re-read at a rollover in the background (the engine's tasks)."""
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
        self._spent: Lanes = {}
        # What calls admitted and not yet counted hold, per budget key and lane.
        self._held: Lanes = {}
        self._bounds: dict[Period, tuple[float, float]] = {}
        self._next_rollover = float("-inf")
        # (budget key, "soft" or "hard", period start, lane) already told to the person.
        self._told: set[tuple[str, str, float, str]] = set()
        # Set while a read runs: what finished from `_cut` on, per budget and lane.
        self._cut: float | None = None
        self._since_cut: Lanes = {}
        self._loading = asyncio.Lock()
        self._roll(clock(), reread=False)
        events.subscribe(RequestFinished, self._on_finished)

    @property
    def budgets(self) -> tuple[Budget, ...]:
        """The configured budgets (`[[budgets]]`), without the ones keys carry."""
        return self._configured

    @property
    def key_budgets(self) -> tuple[Budget, ...]:
        """The budgets gateway keys carry, one `principal=key:<name>` each."""
        return self._from_keys

    # -- the check -----------------------------------------------------------------------

    def _covering(
        self, principal: str, caller: str, project: str | None
    ) -> list[tuple[Budget, str]]:
        """The hard budgets covering a call, each with the lane it counts on."""
        if not self._budgets:
            return []
        now = self._clock()
        if now >= self._next_rollover:
            self._roll(now)
        who = _caller(caller)
        covering = []
        for budget in self._budgets:
            if budget.hard is None:
                continue
            lane = budget.lane(principal, who, project)
            if lane is not None:
                covering.append((budget, lane))
        return covering

    def check(
        self, principal: str, caller: str, project: str | None, cost: CostBasis | None = None
    ) -> None:
        """Refuse a call a used-up hard budget covers, or (`cost` given and not priced) a call
        a hard dollar budget covers that it could not count; microseconds, no I/O.

        Raises:
            BudgetExceeded: the message names the budget, its limit, the spend and the reset
                (`reason` limit_reached), or the model and how to proceed (unpriced_model).
        """
        covering = self._covering(principal, caller, project)
        for budget, lane in covering:
            if self._spent_on(budget, lane) >= (budget.hard or 0.0):
                raise limit_refusal(self._status(budget, lane), of_key=budget in self.key_budgets)
        if cost is not None and not cost.priced:
            for budget, _lane in covering:
                if budget.unit == "usd":
                    raise unpriced_refusal(budget, cost)

    def reserve(self, principal: str, caller: str, project: str | None, estimate: Estimate) -> Hold:
        """Admit a call while its hard budgets' spend plus what running calls hold is below
        their limits, and hold its estimate on each until the hold is released.

        Raises:
            BudgetExceeded: a budget is used up (`limit_reached`), or running calls hold the
                rest of it (`held_by_running_calls`, retryable).
        """
        covering = self._covering(principal, caller, project)
        for budget, lane in covering:
            hard = budget.hard or 0.0
            spent = self._spent_on(budget, lane)
            if spent >= hard:
                raise limit_refusal(self._status(budget, lane), of_key=budget in self.key_budgets)
            held = self._held.get(budget.key, {}).get(lane, 0.0)
            if spent + held >= hard:
                raise held_refusal(self._status(budget, lane), held)
        if not covering:
            return Hold()
        taken = [
            (budget.key, lane, estimate.usd if budget.unit == "usd" else estimate.tokens)
            for budget, lane in covering
        ]
        for key, lane, amount in taken:
            _add(self._held, key, lane, amount)

        def release() -> None:
            for key, lane, amount in taken:
                lanes = self._held.get(key)
                if lanes is None or lane not in lanes:
                    continue  # the budget was replaced meanwhile
                left = lanes[lane] - amount
                if left > 1e-12:
                    lanes[lane] = left
                else:
                    del lanes[lane]

        return Hold(release)

    def refuse_uncounted(
        self, principal: str, caller: str, project: str | None, feature: str
    ) -> None:
        """Refuse work the gateway cannot count (`feature` says what) under a hard budget.

        Raises:
            BudgetExceeded: `reason` uncounted, naming the feature and the budget.
        """
        covering = self._covering(principal, caller, project)
        if not covering:
            return
        budget, _lane = covering[0]
        raise uncounted_refusal(budget, feature)

    def _spent_on(self, budget: Budget, lane: str) -> float:
        return self._spent.get(budget.key, {}).get(lane, 0.0)

    # -- what the desk shows -------------------------------------------------------------

    def _status(self, budget: Budget, lane: str) -> BudgetStatus:
        return BudgetStatus(
            budget, self._spent_on(budget, lane), self._bounds[budget.period][1], lane
        )

    def status_of(self, budget: Budget) -> BudgetStatus:
        """The budget's total, or for a per-principal budget its fullest lane."""
        lanes = self._spent.get(budget.key, {})
        lane = max(lanes, key=lambda name: lanes[name]) if lanes else ""
        return self._status(budget, lane)

    def statuses(self) -> list[BudgetStatus]:
        """Every budget with its spend this period, in the order they are configured."""
        now = self._clock()
        if now >= self._next_rollover:
            self._roll(now)
        return [self.status_of(b) for b in self._configured]

    def key_status(self, principal: str) -> BudgetStatus | None:
        """The spend of the budget a key carries (its principal's), or None without one."""
        for budget in self._from_keys:
            if budget.value == principal:
                now = self._clock()
                if now >= self._next_rollover:
                    self._roll(now)
                return self.status_of(budget)
        return None

    def nearest(self) -> BudgetStatus | None:
        """The budget closest to (or furthest past) its limit, or None without budgets."""
        statuses = self.statuses()
        return max(statuses, key=lambda s: s.fraction) if statuses else None

    # -- keeping the totals --------------------------------------------------------------

    def _on_finished(self, event: RequestFinished) -> None:
        if not self._budgets:
            return
        if self._clock() >= self._next_rollover:
            self._roll(self._clock())
        for budget in self._budgets:
            if event.started_at < self._bounds[budget.period][0]:
                continue  # it began in an earlier period
            lane = budget.lane(event.principal, event.caller, event.project)
            if lane is None:
                continue
            amount = _amount(budget, event)
            if amount <= 0:
                continue
            _add(self._spent, budget.key, lane, amount)
            if self._cut is not None and event.finished_at >= self._cut:
                _add(self._since_cut, budget.key, lane, amount)
            self._tell_if_crossed(budget, lane)

    def _tell_if_crossed(self, budget: Budget, lane: str) -> None:
        """A notice the first time in a period a budget's lane passes its soft or hard limit."""
        status = self._status(budget, lane)
        if status.state == "ok":
            return
        start = self._bounds[budget.period][0]
        if (budget.key, status.state, start, lane) in self._told:
            return
        # Past the hard limit, the soft limit's notice would only repeat what this one says.
        self._told.update(
            {(budget.key, status.state, start, lane), (budget.key, "soft", start, lane)}
        )
        spent = format_amount(budget.unit, status.spent)
        label = f"{budget.label}{status.lane_text}"
        if status.state == "exceeded":
            text = (
                f"Budget {label} is used up: {spent} of "
                f"{format_amount(budget.unit, status.limit)} {budget.period_word}. "
                f"New calls are refused until {status.reset_text()}."
            )
        else:
            text = (
                f"Budget {label} passed its soft limit: {spent} of "
                f"{format_amount(budget.unit, budget.soft or 0.0)} {budget.period_word}."
            )
        self._events.publish(Notice("warning", text))

    def _roll(self, now: float, *, reread: bool = True) -> None:
        """Move each period on when its end has passed: its budgets start again at zero, and
        (`reread`) the store is read back for what the new period has spent already."""
        rolled = False
        for period in PERIODS:
            bounds = period_bounds(period, now)
            if self._bounds.get(period) != bounds:
                rolled = rolled or period in self._bounds
                self._bounds[period] = bounds
                for budget in self._budgets:
                    if budget.period == period:
                        self._spent[budget.key] = {}
        self._next_rollover = min(end for _start, end in self._bounds.values())
        starts = {start for start, _end in self._bounds.values()}
        self._told = {told for told in self._told if told[2] in starts}
        if rolled and reread and self._budgets:
            self._spawn(self.load())

    async def load(self) -> None:
        """Read each period's spend back from the store (at start and at a rollover).

        A store that cannot be read is logged and the in-memory totals are kept: the gateway
        serves on, counting from the events.
        """
        if not self._budgets:
            return
        async with self._loading:
            cut = self._clock()
            if cut >= self._next_rollover:
                self._roll(cut, reread=False)
            bounds = dict(self._bounds)
            self._cut, self._since_cut = cut, {}
            try:
                if not await self._recorder.flush():
                    log.warning("budgets: the recorder cannot write; spend is counted in memory")
                    return
                database = self._db.models.database
                read: dict[float, list[SpendGroup]] = {}
                for since in sorted({start for start, _end in bounds.values()}):
                    read[since] = await self._db.read(
                        functools.partial(read_spend, database, since=since, cut=cut)
                    )
            except Exception:
                log.exception("budgets: could not read this period's spend back from the store")
                return
            finally:
                since_cut, self._cut, self._since_cut = self._since_cut, None, {}
            if bounds != self._bounds:
                return  # a period rolled during the read: the rollover reads again
            for budget in self._budgets:
                lanes: dict[str, float] = dict(since_cut.get(budget.key, {}))
                for g in read[bounds[budget.period][0]]:
                    lane = budget.lane(g.principal, g.caller, g.project)
                    if lane is not None:
                        lanes[lane] = lanes.get(lane, 0.0) + (
                            g.cost_usd if budget.unit == "usd" else g.tokens
                        )
                self._spent[budget.key] = lanes
                for lane in lanes:
                    self._tell_if_crossed(budget, lane)

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
        keys = {b.key for b in self._budgets}
        self._spent = {k: v for k, v in self._spent.items() if k in keys}
        # Running calls keep holding on the budgets that stay; a new budget starts empty.
        self._held = {k: v for k, v in self._held.items() if k in keys}
        # A budget whose limits changed may cross them anew this period: tell it again then.
        changed = {b.key for b in self._budgets if before.get(b.key) != (b.soft, b.hard)}
        self._told = {told for told in self._told if told[0] not in changed}
        await self.load()
