"""What the gateway knows of each target now, and the order one request tries its plan in.

One `Balancer` per gateway, in memory (each process of a team gateway keeps its own; a restart
forgets). It learns from every attempt: calls in flight (`began`, until the answer ends), the
time to first token and what the rate-limit headers said (`answered`), and failures
(`failed`: cool-downs and circuits). `order` turns a plan (`router.py`: pin, small request,
the route's pool, fallbacks) into the order this request tries it: the pool ordered by the
route's strategy (`strategies.py`), then every target cooling down or with its circuit open
moved behind the rest. Each target goes with the reason the recorder keeps (`chosen_because`).
`routes` and `cooling` are what `/v1/providers` and the Providers page show.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from llmgw_desktop.config.gateway_tables import RouteConfig
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.circuit import Circuit, CircuitState
from llmgw_desktop.engine.gateway.balancing.decaying import DecayingFigure
from llmgw_desktop.engine.gateway.balancing.quota import QuotaReading, read_quota
from llmgw_desktop.engine.gateway.balancing.strategies import (
    NEEDS,
    Candidate,
    PoolOrder,
    SmoothWeights,
    order_candidates,
)
from llmgw_desktop.engine.gateway.balancing.views import RouteView, TargetView
from llmgw_desktop.engine.gateway.router import Plan, Target

__all__ = ["Balancer", "BalancingSettings", "InFlight", "Ordered"]

log = logging.getLogger(__name__)

# Failures that say something about the target rather than the request, besides 429 and 5xx:
# no answer in time. A host that takes no connection is rested by `unreachable.py`, which
# passes its routes over outright (its attempt says `resting`): not counted twice here.
_TARGET_FAILURES = ("timeout",)


@dataclass(frozen=True)
class BalancingSettings:
    """The gateway settings the balancer reads (`gateway.*`)."""

    latency_half_life_s: float = 60.0
    cooldown: Backoff = field(default_factory=lambda: Backoff(5.0, 60.0, jitter=0.1))
    cooldown_failures: int = 3
    quota_reserve: float = 0.05


class Ordered:
    """The targets one request tries, in order; `reason(i)` says why the `i`th is where it
    is (worked out when asked: a request asks for the targets it tries, usually one)."""

    __slots__ = ("_caller", "_places", "_plan", "_pool", "targets")

    def __init__(
        self,
        targets: tuple[Target, ...],
        plan: Plan,
        caller: str,
        pool: PoolOrder | None = None,
        places: list[tuple[int, str]] | None = None,
    ) -> None:
        self.targets = targets
        self._plan = plan
        self._caller = caller
        self._pool = pool
        # After the rested were moved last: each target's place before, and its reason when
        # the move gave it one.
        self._places = places

    def reason(self, index: int) -> str:
        if self._places is not None:
            index, said = self._places[index]
            if said:
                return said
        plan, pool = self._plan, self._pool
        if pool is not None and plan.pool_at <= index < plan.pool_at + len(plan.pool):
            return pool.reason(index - plan.pool_at)
        return _planned_reason(plan, index, self._caller)


@dataclass
class _Known:
    """What is known of one target (a provider and model)."""

    target: Target
    latency: DecayingFigure
    circuit: Circuit = field(default_factory=Circuit)
    in_flight: int = 0
    quota: QuotaReading | None = None


class InFlight:
    """One call in flight at a target until `release` (idempotent): least-busy counts them."""

    __slots__ = ("_known", "_released")

    def __init__(self, known: _Known) -> None:
        self._known = known
        self._released = False
        known.in_flight += 1

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._known.in_flight -= 1
            self._known.circuit.trial = False  # a trial that ended without a verdict


class Balancer:
    """Orders plans by their routes' strategies and the targets' health; one per gateway."""

    def __init__(
        self,
        settings: BalancingSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or BalancingSettings()
        self._clock = clock
        self._wall = wall
        self._known: dict[str, _Known] = {}
        # Labels whose circuit is not closed: a plan is reordered only while there are some.
        self._troubled: set[str] = set()
        self._turns: dict[str, itertools.count[int]] = {}
        self._weights: dict[str, SmoothWeights] = {}
        # (route pattern, target label) -> its recent answers, for the route's shares.
        self._served: dict[tuple[str, str], DecayingFigure] = {}

    def _of(self, target: Target) -> _Known:
        known = self._known.get(target.label)
        if known is None:
            known = self._known[target.label] = _Known(
                target, DecayingFigure(self.settings.latency_half_life_s)
            )
        return known

    # -- one request's order -----------------------------------------------------------------

    def order(
        self,
        plan: Plan,
        *,
        caller: str,
        tokens: int,
        cost: Callable[[Target], float | None],
    ) -> Ordered:
        """The order `plan` is tried in for a request of about `tokens` input tokens from
        `caller` (`cost`: this request's estimate at a target, asked by `lowest-cost` only)."""
        targets = plan.targets
        pool: PoolOrder | None = None
        if len(plan.pool) > 1:
            pool = self._ordered_pool(plan, caller, tokens, cost)
            at, end = plan.pool_at, plan.pool_at + len(plan.pool)
            targets = (*targets[:at], *(c.target for c in pool.ordered), *targets[end:])
        if not self._troubled:
            return Ordered(targets, plan, caller, pool)
        moved, places = self._resting_last(targets)
        return Ordered(moved, plan, caller, pool, places)

    def _ordered_pool(
        self,
        plan: Plan,
        caller: str,
        tokens: int,
        cost: Callable[[Target], float | None],
    ) -> PoolOrder:
        route = plan.route
        needs = NEEDS.get(route.strategy, frozenset())
        now = self._clock()
        known = self._known
        candidates = []
        for target, weight in zip(plan.pool, plan.weights, strict=True):
            candidate = Candidate(target, weight)
            found = known.get(target.label)
            if found is not None:
                self._fill(candidate, found, needs, now, tokens)
            if "cost" in needs:
                candidate.cost_usd = cost(target)
            candidates.append(candidate)
        pattern = route.pattern
        turns = self._turns.get(pattern)
        if turns is None:
            turns = self._turns[pattern] = itertools.count()
        weights = self._weights.get(pattern)
        if weights is None:
            weights = self._weights[pattern] = SmoothWeights()
        return order_candidates(
            route.strategy, candidates, turn=next(turns), caller=caller, weights=weights
        )

    def _fill(
        self, candidate: Candidate, known: _Known, needs: frozenset[str], now: float, tokens: int
    ) -> None:
        """What the route's strategy reads of a known target, and whether it rests."""
        circuit = known.circuit
        if circuit.until or circuit.opened:
            candidate.goes_last_s = circuit.goes_last(now)
            candidate.cooling_why = circuit.last_error
        if not needs:
            return
        if "in_flight" in needs:
            candidate.in_flight = known.in_flight
        if "latency" in needs:
            candidate.latency_s = known.latency.now(now)
        quota = known.quota
        if "quota" in needs and quota is not None:
            candidate.headroom = quota.headroom(now)
            candidate.near_limit_s = quota.near_limit(now, tokens, self.settings.quota_reserve)

    def _resting_last(
        self, targets: tuple[Target, ...]
    ) -> tuple[tuple[Target, ...], list[tuple[int, str]] | None]:
        """Every target cooling down or open moved behind the others (order kept), each with
        its place before the move and, when moved, why."""
        now = self._clock()
        first: list[tuple[Target, int, str]] = []
        last: list[tuple[Target, int, str]] = []
        for index, target in enumerate(targets):
            known = self._known.get(target.label)
            left = None if known is None else known.circuit.goes_last(now)
            if known is None or left is None:
                first.append((target, index, ""))
                continue
            failure = known.circuit.last_error or "failures"
            when = f"{left:.0f} s left" if left > 0 else "a trial is on its way"
            last.append(
                (target, index, f"cooling down after {failure} ({when}); tried after the others")
            )
        self._troubled = {
            label
            for label in self._troubled
            if (k := self._known.get(label)) is not None
            and k.circuit.state(now) is not CircuitState.CLOSED
        }
        if not last:
            return targets, None
        both = first + last
        return tuple(t for t, _, _ in both), [(i, why) for _, i, why in both]

    # -- what each attempt teaches -------------------------------------------------------

    def began(self, target: Target) -> InFlight:
        """A call to `target` is on its way; counted in flight until released. A half-open
        target's call is its trial (the others pass it over until its verdict)."""
        known = self._of(target)
        circuit = known.circuit
        if circuit.state(self._clock()) is CircuitState.HALF_OPEN:
            circuit.trial = True
        return InFlight(known)

    def answered(self, target: Target, seconds: float, headers: Mapping[str, str]) -> None:
        """`target` answered 2xx after `seconds` (to its first token when streamed): its
        latency, the quota its headers say is left, and its circuit closed."""
        known = self._of(target)
        now = self._clock()
        known.latency.add(seconds, now)
        quota = read_quota(headers, now, self._wall()) if headers else None
        if quota is not None:
            known.quota = quota
        if known.circuit.failures or known.circuit.opened:
            if known.circuit.opened:
                log.info("gateway: %s answers again; its circuit is closed", target.label)
            known.circuit.answered()
            self._troubled.discard(target.label)

    def failed(self, target: Target, outcome: str, retry_after_s: float | None) -> None:
        """`target` failed with the route log's `outcome` (every key tried). Only failures
        that say something of the target count: a timeout, 429, 5xx (a host taking no
        connection is `unreachable.py`'s)."""
        if outcome not in _TARGET_FAILURES and not (outcome == "429" or outcome[:1] == "5"):
            return
        known = self._of(target)
        settings = self.settings
        circuit = known.circuit
        now = self._clock()
        if circuit.failed(
            outcome,
            now,
            settings.cooldown,
            settings.cooldown_failures,
            retry_after_s=retry_after_s,
        ):
            self._troubled.add(target.label)
            log.warning(
                "gateway: %s failed (%s, %d in a row); it goes behind its route's other "
                "targets for %.0f s",
                target.label,
                outcome,
                circuit.failures,
                circuit.until - now,
            )

    def served(self, plan: Plan, target: Target) -> None:
        """`target` answered a request of `plan`'s route (its share of the route)."""
        if not plan.route.targets:
            return
        key = (plan.route.pattern, target.label)
        figure = self._served.get(key)
        if figure is None:
            figure = self._served[key] = DecayingFigure(self.settings.latency_half_life_s)
        figure.count(self._clock())

    # -- what is shown -------------------------------------------------------------------

    def route_view(self, route: RouteConfig, targets: Sequence[tuple[Target, float]]) -> RouteView:
        """`route`'s targets as known now (`targets`: each resolved, with its weight)."""
        now = self._clock()
        served = self._served
        counts: dict[str, float] = {}
        for target, _ in targets:
            figure = served.get((route.pattern, target.label))
            counts[target.label] = (figure.now(now) or 0.0) if figure is not None else 0.0
        total = sum(counts.values())
        views = [
            self._target_view(target, now, weight, counts[target.label] / total if total else None)
            for target, weight in targets
        ]
        return RouteView(route.pattern, route.strategy, tuple(views))

    def cooling(self) -> list[TargetView]:
        """Every target cooling down, open or half open now, the longest rest first."""
        now = self._clock()
        found = [
            self._target_view(known.target, now)
            for known in self._known.values()
            if known.circuit.state(now) is not CircuitState.CLOSED
        ]
        return sorted(found, key=lambda v: -(v.cooling_s or 0.0))

    def _target_view(
        self, target: Target, now: float, weight: float | None = None, share: float | None = None
    ) -> TargetView:
        known = self._known.get(target.label)
        if known is None:
            return TargetView(target.label, target.provider, target.model, weight, share)
        circuit = known.circuit
        quota = known.quota
        left = circuit.goes_last(now)
        return TargetView(
            target.label,
            target.provider,
            target.model,
            weight,
            share,
            latency_s=known.latency.now(now),
            in_flight=known.in_flight,
            state=circuit.state(now).value,
            cooling_s=left or None,
            failures=circuit.failures,
            last_error=circuit.last_error or None,
            quota_left=quota.headroom(now) if quota else None,
        )


def _planned_reason(plan: Plan, index: int, caller: str) -> str:
    """Why the plan puts its `index`th target where it is, before any strategy or rest."""
    if index < plan.pool_at:
        if index == 0 and plan.rule == "pin":
            return f"pin: caller {caller[:40]} is pinned here"
        return "small request: no tools or images, few tokens"
    if index < plan.pool_at + len(plan.pool):
        return "route target" if plan.route.targets else "owner of the model"
    return "fallback"
