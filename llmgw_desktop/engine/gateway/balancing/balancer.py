"""What the gateway knows of each target now, and the order one request tries its plan in.

One `Balancer` per gateway, in memory (each process of a team gateway keeps its own; a restart
forgets). It learns from every attempt: calls in flight (`began`, until the answer ends), the
time to first token and what the rate-limit headers said (`answered`; a stream's `first_token`),
failures and whose they were (`failed`: cool-downs and circuits, `health.py`), and calls left
waiting for their first byte (`first_byte`: a target that stopped answering, `liveness.py`).
A whole answer closes its target's circuits, and counts in its route's share (`served`), when
it comes; a stream only when it ends whole (`stream_ended`): one its upstream breaks after it
began is a failure of the target's and no answer of the route's, so a target whose streams
always break goes behind the others as one that answers 500 does, and has no share.

`order` turns a plan (`router.py`: pin, small request, the route's pool, fallbacks) into the
order one principal's request tries it: the pool ordered by the route's strategy
(`strategies.py`), then every target cooling down, with its circuit open or hung, for everyone
or for that principal, moved behind the rest. Each target goes with the reason the recorder
keeps (`chosen_because`). `routes` and `cooling` are what `/v1/providers` and the Providers
page show.
"""

from __future__ import annotations

import itertools
import logging
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from llmgw_desktop.config.gateway_tables import RouteConfig
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.circuit import Circuit, CircuitState
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.gateway.balancing.decaying import DecayingFigure
from llmgw_desktop.engine.gateway.balancing.health import Resting, TargetHealth
from llmgw_desktop.engine.gateway.balancing.liveness import (
    HUNG_OUTCOME,
    HeadWait,
    LivenessSettings,
    LivenessWatch,
    Probe,
    StreamProgress,
    TargetLiveness,
)
from llmgw_desktop.engine.gateway.balancing.quota import QuotaReading, read_quota
from llmgw_desktop.engine.gateway.balancing.strategies import (
    NEEDS,
    Candidate,
    PoolOrder,
    SmoothWeights,
    order_candidates,
)
from llmgw_desktop.engine.gateway.balancing.views import RouteView, TargetView
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.router import ModelRegistry, Plan, Target
from llmgw_desktop.engine.tasks import TaskSupervisor

__all__ = ["Balancer", "BalancingSettings", "InFlight", "Ordered"]

log = logging.getLogger(__name__)

# Failures that say something about the target rather than the request, besides 429 and 5xx:
# no answer in time, and an answer it broke off after it began (a stream's or a whole one's:
# a malformed whole answer is a 502 already). A host that takes no connection is rested by
# `unreachable.py`, which passes its routes over outright (its attempt says `resting`): not
# counted twice here.
_TARGET_FAILURES = (Outcome.TIMEOUT, Outcome.BROKEN)
_NO_NEEDS: frozenset[str] = frozenset()
_TARGET = operator.attrgetter("target")
# Plans whose bare candidates are kept (a config's routes, pins and small-request rules).
_BARE_PLANS = 256


@dataclass(frozen=True)
class BalancingSettings:
    """The gateway settings the balancer reads (`gateway.*`)."""

    latency_half_life_s: float = 60.0
    cooldown: Backoff = field(default_factory=lambda: Backoff(5.0, 60.0, jitter=0.1))
    cooldown_failures: int = 3
    quota_reserve: float = 0.05
    liveness: LivenessSettings = field(default_factory=LivenessSettings)


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
    liveness: TargetLiveness
    health: TargetHealth = field(default_factory=TargetHealth)
    in_flight: int = 0
    quota: QuotaReading | None = None

    def resting(self, principal: str, now: float) -> Resting | None:
        """Whether it goes behind the others in `principal`'s request now, and why."""
        if self.liveness.hung_since is not None:
            return Resting(None, HUNG_OUTCOME, everyone=True)
        return self.health.resting(principal, now)

    def settled(self, now: float) -> bool:
        """Whether it moves no request now."""
        return self.liveness.hung_since is None and self.health.settled(now)


class InFlight:
    """One call in flight at a target until `release` (idempotent): least-busy counts them."""

    __slots__ = ("_known", "_released", "_trial")

    def __init__(self, known: _Known, trial: Circuit | None) -> None:
        self._known = known
        self._trial = trial  # the circuit whose half-open trial this call is
        self._released = False
        known.in_flight += 1

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._known.in_flight -= 1
            if self._trial is not None:
                self._trial.trial = False  # a trial that ended without a verdict


class Balancer:
    """Orders plans by their routes' strategies and the targets' health; one per gateway."""

    def __init__(
        self,
        settings: BalancingSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        tasks: TaskSupervisor | None = None,
    ) -> None:
        """`tasks`: where the probes of targets that stopped answering run (the engine's)."""
        self.settings = settings or BalancingSettings()
        self._clock = clock
        self._wall = wall
        self._known: dict[str, _Known] = {}
        # Labels that may move a request (a circuit not closed, for everyone or for a
        # principal; hung): a plan is reordered only while there are some.
        self._troubled: set[str] = set()
        self._liveness = LivenessWatch(
            self.settings.liveness,
            tasks=tasks or TaskSupervisor(),
            clock=clock,
            on_hung=lambda state: self._troubled.add(state.label),
            on_back=self._back,
        )
        self._turns: dict[str, itertools.count[int]] = {}
        self._weights: dict[str, SmoothWeights] = {}
        # A plan's pool as candidates carrying only what the plan says (target and weight),
        # by the plan's id (the plan kept with them, so the id is not reused): shared by every
        # request that fills nothing in (a strategy that reads nothing of its targets, none
        # troubled), as nothing changes a candidate once the strategy has it. Plans are
        # immutable, and a new config makes new ones: cleared when it holds too many.
        self._bare: dict[int, tuple[Plan, tuple[Candidate, ...]]] = {}
        # (route pattern, target label) -> its recent answers, for the route's shares.
        self._served: dict[tuple[str, str], DecayingFigure] = {}

    def _back(self, state: TargetLiveness) -> None:
        """A hung target answers its probe again: a rest its calls' timeouts began ends now
        (the next request is its trial), not at the end of a cool-down doubled while it hung."""
        known = self._known.get(state.label)
        if known is not None:
            known.health.probed_back(self._clock())

    def _of(self, target: Target) -> _Known:
        known = self._known.get(target.label)
        if known is None:
            known = self._known[target.label] = _Known(
                target,
                DecayingFigure(self.settings.latency_half_life_s),
                TargetLiveness(target.label),
            )
        return known

    # -- one request's order -----------------------------------------------------------------

    def order(
        self,
        plan: Plan,
        *,
        principal: str,
        caller: str,
        tokens: int,
        cost: Callable[[Target], float | None],
    ) -> Ordered:
        """The order `plan` is tried in for a request of `principal`'s of about `tokens` input
        tokens from `caller` (`cost`: this request's estimate at a target, asked by
        `lowest-cost` only)."""
        targets = plan.targets
        pool: PoolOrder | None = None
        if len(plan.pool) > 1:
            pool = self._ordered_pool(plan, principal, caller, tokens, cost)
            at, end = plan.pool_at, plan.pool_at + len(plan.pool)
            chosen = tuple(map(_TARGET, pool.ordered))
            if at or end < len(targets):  # a pin, a small-request target or fallbacks around it
                chosen = targets[:at] + chosen + targets[end:]
            targets = chosen
        if not self._troubled:
            return Ordered(targets, plan, caller, pool)
        moved, places = self._resting_last(targets, principal)
        return Ordered(moved, plan, caller, pool, places)

    def _ordered_pool(
        self,
        plan: Plan,
        principal: str,
        caller: str,
        tokens: int,
        cost: Callable[[Target], float | None],
    ) -> PoolOrder:
        route = plan.route
        needs = NEEDS.get(route.strategy, _NO_NEEDS)
        candidates: Sequence[Candidate]
        if needs or self._troubled:
            candidates = self._filled(plan, needs, principal, tokens, cost)
        else:
            candidates = self._bare_candidates(plan)
        pattern = route.pattern
        turns = self._turns.get(pattern)
        if turns is None:
            turns = self._turns[pattern] = itertools.count()
        weights = self._weights.get(pattern)
        if weights is None:
            weights = self._weights[pattern] = SmoothWeights()
        return order_candidates(
            route.strategy,
            candidates,
            turn=next(turns),
            caller=caller,
            weights=weights,
            none_rest=not self._troubled,  # only a troubled target is ever given a rest
        )

    def _filled(
        self,
        plan: Plan,
        needs: frozenset[str],
        principal: str,
        tokens: int,
        cost: Callable[[Target], float | None],
    ) -> list[Candidate]:
        """`plan`'s pool as candidates with what the strategy reads of each, and whether it
        rests for `principal`'s request."""
        now = self._clock()
        known = self._known
        candidates = []
        for target, weight in zip(plan.pool, plan.weights, strict=True):
            candidate = Candidate(target, weight)
            found = known.get(target.label)
            if found is not None:
                self._fill(candidate, found, needs, now, tokens, principal)
            if "cost" in needs:
                candidate.cost_usd = cost(target)
            candidates.append(candidate)
        return candidates

    def _bare_candidates(self, plan: Plan) -> tuple[Candidate, ...]:
        """`plan`'s pool as candidates with nothing filled in (made once a plan)."""
        kept = self._bare.get(id(plan))
        if kept is not None and kept[0] is plan:
            return kept[1]
        if len(self._bare) >= _BARE_PLANS:
            self._bare.clear()
        bare = tuple(Candidate(t, w) for t, w in zip(plan.pool, plan.weights, strict=True))
        self._bare[id(plan)] = (plan, bare)
        return bare

    def _fill(
        self,
        candidate: Candidate,
        known: _Known,
        needs: frozenset[str],
        now: float,
        tokens: int,
        principal: str,
    ) -> None:
        """What the route's strategy reads of a known target, and whether it rests for
        `principal`'s request."""
        if known.target.label in self._troubled:
            candidate.resting = known.resting(principal, now)
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
        self, targets: tuple[Target, ...], principal: str
    ) -> tuple[tuple[Target, ...], list[tuple[int, str]] | None]:
        """Every target resting for `principal`'s request (cooling down, open or hung) moved
        behind the others (order kept), each with its place before the move and, when moved,
        why."""
        now = self._clock()
        first: list[tuple[Target, int, str]] = []
        last: list[tuple[Target, int, Resting]] = []
        for index, target in enumerate(targets):
            known = self._known.get(target.label)
            resting = None if known is None else known.resting(principal, now)
            if resting is None:
                first.append((target, index, ""))
            else:
                last.append((target, index, resting))
        self._troubled = {
            label
            for label in self._troubled
            if (k := self._known.get(label)) is not None and not k.settled(now)
        }
        if not last:
            return targets, None
        moved = [(t, i, r.words(bool(first))) for t, i, r in last]
        both = first + moved
        return tuple(t for t, _, _ in both), [(i, why) for _, i, why in both]

    # -- what each attempt teaches -------------------------------------------------------

    def began(self, target: Target, principal: str) -> InFlight:
        """A call of `principal`'s to `target` is on its way; counted in flight until
        released. A call to a target whose circuit (everyone's, or the principal's own) is
        half open is its trial (the others pass it over until its verdict)."""
        known = self._of(target)
        trial = known.health.began(principal, self._clock())
        if trial is not None:
            self._troubled.add(target.label)
        return InFlight(known, trial)

    def first_byte(self, target: Target, probe: Probe) -> HeadWait:
        """One call's wait for the head of `target`'s answer (`async with` around the send):
        when it waits long, `probe` asks the target's host whether it answers at all, and a
        target that does not is passed over until it does (`liveness.py`)."""
        return self._liveness.waiting(self._of(target).liveness, probe)

    def close(self) -> None:
        """The gateway stops: the liveness watch's timers go (`LivenessWatch.close`)."""
        self._liveness.close(known.liveness for known in self._known.values())

    def streaming(self, target: Target, stream: StreamProgress, probe: Probe) -> None:
        """`stream` of `target`'s is under way: while it is silent, `probe` asks the target's
        host whether it answers at all, and a target that does not is passed over until it
        does (`liveness.py`; the stream itself keeps its own limit)."""
        self._liveness.streaming(self._of(target).liveness, stream, probe)

    def answered(
        self, target: Target, seconds: float, headers: Mapping[str, str], *, principal: str
    ) -> None:
        """`target` answered `principal` 2xx and whole after `seconds`: what `first_token`
        learns, and its circuits closed (everyone's, and the principal's own)."""
        self.first_token(target, seconds, headers)
        self._closed(self._known[target.label], principal)  # known now: `first_token` made it

    def first_token(self, target: Target, seconds: float, headers: Mapping[str, str]) -> None:
        """A stream of `target`'s began `seconds` after it was sent (or a whole answer came):
        its latency, the quota its headers say is left, a hung target back. Not a verdict on
        its circuits: a stream has it when it ends (`stream_ended`)."""
        known = self._of(target)
        now = self._clock()
        known.latency.add(seconds, now)
        quota = read_quota(headers, now, self._wall()) if headers else None
        if quota is not None:
            known.quota = quota
        if known.liveness.hung_since is not None:
            known.liveness.came(now)

    def stream_ended(
        self, target: Target, plan: Plan, *, principal: str, broke: bool, body: str
    ) -> None:
        """A stream of `target`'s for `plan` that began (`first_token`) ended: whole, its
        circuits close as a whole answer's do and it counts in its route's share (`served`);
        `broke` by its upstream (cut, stalled, malformed), a failure of the target's
        (`Outcome.BROKEN`, counted for whom `failed` says; `body`: the digest of what was
        sent), and no answer of the route's. A stream its client left, or the gateway's stop
        cut, says nothing of its target and is not passed here: no verdict (a trial among them
        ends without one), and no answer in the share."""
        if broke:
            self.failed(target, Outcome.BROKEN, None, principal=principal, body=body)
        else:
            self._closed(self._of(target), principal)
            self.served(plan, target)

    def _closed(self, known: _Known, principal: str) -> None:
        """An answer came whole: the target's circuits closed (everyone's, and `principal`'s
        own)."""
        if known.health.answered(principal):
            log.info("gateway: %s answers again; its circuit is closed", known.target.label)

    def failed(
        self,
        target: Target,
        outcome: str,
        retry_after_s: float | None,
        *,
        principal: str,
        body: str = "",
    ) -> None:
        """`target` failed a call of `principal`'s with the route log's `outcome` (every key
        tried; `body`: the digest of what was sent, "" when unknown). Only failures that say
        something of the target count: a timeout, an answer broken off, 429, 5xx (a host
        taking no connection is `unreachable.py`'s, a hung one `liveness.py`'s); whose they
        were decides for whom it cools (`health.py`)."""
        if outcome not in _TARGET_FAILURES and not (outcome == "429" or outcome[:1] == "5"):
            return
        known = self._of(target)
        settings = self.settings
        now = self._clock()
        everyone = known.health.failed(
            outcome,
            principal,
            body,
            now,
            backoff=settings.cooldown,
            threshold=settings.cooldown_failures,
            retry_after_s=retry_after_s,
        )
        if everyone is None:
            return
        self._troubled.add(target.label)
        resting = known.health.resting(principal, now)
        left = (resting.left_s or 0.0) if resting is not None else 0.0
        if everyone:
            log.warning(
                "gateway: %s failed (%s, %d in a row); it goes behind its route's other "
                "targets for %.0f s",
                target.label,
                outcome,
                known.health.shared.failures,
                left,
            )
        else:
            # One caller's: said quietly, as a caller could say it at will.
            log.info(
                "gateway: %s failed for %s (%s); it goes behind its route's other targets "
                "in that caller's requests for %.0f s",
                target.label,
                principal,
                outcome,
                left,
            )

    def served(self, plan: Plan, target: Target) -> None:
        """`target` answered a request of `plan`'s route (its share of the route): a whole
        answer when it comes, a stream when it ends whole (`stream_ended`)."""
        if not plan.route.targets:
            return
        key = (plan.route.pattern, target.label)
        figure = self._served.get(key)
        if figure is None:
            figure = self._served[key] = DecayingFigure(self.settings.latency_half_life_s)
        figure.count(self._clock())

    # -- what is shown -------------------------------------------------------------------

    def route_views(self, registry: ModelRegistry) -> list[RouteView]:
        """Each of `registry`'s routes that lists targets, with each target's weight, share of
        the route's recent answers, latency, calls in flight and cool-down (this process's)."""
        views = []
        for route in registry.config.routes:
            if not route.targets:
                continue
            weights = route.weights or (1.0,) * len(route.targets)
            resolved = []
            for name, weight in zip(route.targets, weights, strict=True):
                try:
                    resolved.append((registry.resolve(name), weight))
                except EngineError:
                    continue  # a stale target: `stale_references` says so
            views.append(self.route_view(route, resolved))
        return views

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

    def waiting_for_answers(self) -> tuple[int, float]:
        """How many calls wait for the head of their answer now (`liveness.HeadWait`, every
        target's), and how long the longest has waited (0.0 with none)."""
        now, count, longest = self._clock(), 0, 0.0
        for known in self._known.values():
            waits = known.liveness.waiting  # oldest first
            if waits:
                count += len(waits)
                longest = max(longest, now - next(iter(waits)).started)
        return count, longest

    def cooling(self) -> list[TargetView]:
        """Every target resting for everyone now (cooling down, open, half open or hung), the
        longest rest first (a target resting for some principals alone is not: see
        `route_view`'s `cooling_for`)."""
        now = self._clock()
        found = [
            self._target_view(known.target, now)
            for known in self._known.values()
            if known.liveness.hung_since is not None
            or known.health.shared.state(now) is not CircuitState.CLOSED
        ]
        return sorted(found, key=lambda v: (v.state != HUNG_OUTCOME, -(v.cooling_s or 0.0)))

    def _target_view(
        self, target: Target, now: float, weight: float | None = None, share: float | None = None
    ) -> TargetView:
        known = self._known.get(target.label)
        if known is None:
            return TargetView(target.label, target.provider, target.model, weight, share)
        circuit = known.health.shared
        quota = known.quota
        hung = known.liveness.hung_since is not None
        left = None if hung else circuit.goes_last(now)
        return TargetView(
            target.label,
            target.provider,
            target.model,
            weight,
            share,
            latency_s=known.latency.measured(now),
            in_flight=known.in_flight,
            state=HUNG_OUTCOME if hung else circuit.state(now).value,
            cooling_s=left or None,
            failures=circuit.failures,
            last_error=HUNG_OUTCOME if hung else circuit.last_error or None,
            quota_left=quota.headroom(now) if quota else None,
            cooling_for=known.health.cooling_for(now),
            trial=circuit.trial and not hung,
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
