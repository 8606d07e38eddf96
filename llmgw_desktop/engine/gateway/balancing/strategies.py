"""How a route's strategy orders its targets for one request, and why each goes where it goes.

Pure: each strategy takes what is known of the targets now (`Candidate`) and returns them in the
order to try (`PoolOrder`), which says, when asked, the reason the recorder keeps for each: a
request asks only for the reasons of the targets it tries, usually one. The strategies
(`[gateway.routes]`'s `strategy`):

| strategy | first | the rest |
|---|---|---|
| `priority` | the first listed | in listed order |
| `round-robin` | the next in turn | in listed order from it |
| `caller` | the one the caller's name hashes to (its prompt cache stays there) | from it |
| `weighted` | by weight: smooth weighted round robin, exact shares over any run | by weight |
| `least-busy` | the fewest calls in flight (ties take turns) | by calls in flight |
| `lowest-latency` | the lowest recent time to first token (untried first) | by that time |
| `lowest-cost` | the cheapest estimate of this request by the price book | unpriced last |
| `quota` | the most left of its rate limits (unknown counts as all) | near their limit last |

Then, whatever the strategy, a target cooling down, with its circuit open or hung (for
everyone, or for this request's principal: `health.py`, `liveness.py`) goes behind the others;
the weighted turn skips it, so its share goes to the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from llmgw_desktop.engine.gateway.balancing.health import Resting
from llmgw_desktop.engine.gateway.router import Target

__all__ = ["NEEDS", "Candidate", "PoolOrder", "SmoothWeights", "order_candidates"]

# How many other targets a reason names, so a row's reason stays one short line.
NAMED_OTHERS = 3
# What each strategy reads of a target beyond its weight and rest (the balancer fills only
# these: a request pays for what its route's strategy uses).
NEEDS: dict[str, frozenset[str]] = {
    "least-busy": frozenset({"in_flight"}),
    "lowest-latency": frozenset({"latency"}),
    "lowest-cost": frozenset({"cost"}),
    "quota": frozenset({"quota"}),
}


@dataclass(slots=True)
class Candidate:
    """One target of a route's pool as known now (what its strategy does not read is left at
    its default)."""

    target: Target
    weight: float = 1.0
    in_flight: int = 0
    latency_s: float | None = None  # the decaying time to first token (None: untried)
    cost_usd: float | None = None  # this request's estimate (None: unpriced, or not asked)
    headroom: float | None = None  # the smallest fraction left of its rate limits
    near_limit_s: float | None = None  # seconds until a limit it is near resets
    # Cooling down, with its circuit open or hung, for everyone or this request's principal.
    resting: Resting | None = None


class SmoothWeights:
    """Smooth weighted round robin (as nginx does it): each turn every target gains its
    weight, the one with the most is chosen and pays the total back. Over any run of turns the
    shares match the weights within one turn, without the runs of the same target a random
    draw gives; a target left out of a turn (cooling down) neither gains nor pays."""

    def __init__(self) -> None:
        self._current: dict[str, float] = {}  # by target label

    def choose(self, candidates: Sequence[Candidate]) -> int | None:
        """Where in `candidates` the chosen one is (None: every weight is 0)."""
        current = self._current
        total = 0.0
        best: int | None = None
        best_label = ""
        best_value = 0.0
        for index, candidate in enumerate(candidates):
            weight = candidate.weight
            if weight <= 0:
                continue
            label = candidate.target.label
            value = current.get(label, 0.0) + weight
            current[label] = value
            total += weight
            if best is None or value > best_value:
                best, best_label, best_value = index, label, value
        if best is not None:
            current[best_label] = best_value - total
        return best


@dataclass(slots=True)
class PoolOrder:
    """A pool in the order to try it: those ready by the strategy, then those resting."""

    strategy: str
    ordered: list[Candidate]
    ready: int  # how many of `ordered` are not resting (they come first)
    turn: int
    caller: str
    # Set when the strategy's own order was not used (every weight 0).
    fallback_words: str = ""

    def reason(self, index: int) -> str:
        """Why the `index`th target of the pool is where it is."""
        candidate = self.ordered[index]
        if index >= self.ready:
            assert candidate.resting is not None
            return candidate.resting.words(bool(self.ready))
        strategy = self.strategy
        if self.fallback_words:
            return self.fallback_words
        if strategy == "weighted":
            total = sum(map(_WEIGHT, self.ordered[: self.ready]))
            key = (index == 0, candidate.weight, total)
            return _WEIGHTED_SAID.get(key) or _weighted_words(*key)
        if strategy == "round-robin":
            return f"round-robin: turn {self.turn + 1}" if index == 0 else "round-robin: next"
        if strategy == "caller" and self.caller:
            return f"caller: {self.caller[:40]} keeps this target" if index == 0 else "caller: next"
        sort = _SORTS.get(strategy)
        if sort is None:
            return f"priority: listed 1 of {self.ready}" if index == 0 else "priority: next listed"
        words = sort[1]
        if index:
            return f"{strategy}: next, {words(candidate)}"
        others = self.ordered[1 : self.ready]
        return f"{strategy}: {words(candidate)}{_others(others, words)}"


def order_candidates(
    strategy: str,
    candidates: Sequence[Candidate],
    *,
    turn: int,
    caller: str,
    weights: SmoothWeights,
    none_rest: bool = False,
) -> PoolOrder:
    """`candidates` in the order to try them by `strategy`; those going last (cooling, open)
    after the others, in the same order among themselves (`none_rest`: the caller knows none
    does, so they are copied rather than sifted)."""
    ready = list(candidates) if none_rest else [c for c in candidates if c.resting is None]
    order = PoolOrder(strategy, ready, len(ready), turn, caller)
    if ready:
        _by_strategy(order, weights)
    if len(ready) < len(candidates):  # usually none rests: nothing to put after the rest
        order.ordered = order.ordered + [c for c in candidates if c.resting is not None]
    return order


def _by_strategy(order: PoolOrder, weights: SmoothWeights) -> None:
    """Put `order.ordered` (the ready candidates) in the strategy's order."""
    ready = order.ordered
    strategy = order.strategy
    if strategy == "weighted":
        at = weights.choose(ready)
        if at is None:
            order.fallback_words = "weighted: every weight is 0, listed order"
            return
        # The chosen first, then the rest heaviest first (a reversed sort keeps equal weights
        # in listed order, as `-weight` did); `ready` is this order's own list.
        chosen = ready.pop(at)
        ready.sort(key=_WEIGHT, reverse=True)
        ready.insert(0, chosen)
    elif strategy == "round-robin":
        start = order.turn % len(ready)
        order.ordered = ready[start:] + ready[:start]
    elif strategy == "caller" and order.caller:
        digest = hashlib.sha256(order.caller.encode()).digest()
        start = int.from_bytes(digest[:4], "big") % len(ready)
        order.ordered = ready[start:] + ready[:start]
    elif (sort := _SORTS.get(strategy)) is not None:
        # Ties take turns (least-busy's idle targets share the load), else keep listed order.
        start = order.turn % len(ready) if strategy == "least-busy" else 0
        order.ordered = sorted(ready[start:] + ready[:start], key=sort[0])


_WEIGHT = attrgetter("weight")


def _weighted_words(first: bool, weight: float, total: float) -> str:
    """A weighted target's reason: its weight of the ready ones' together (the words made
    once for each, kept in `_WEIGHTED_SAID`: a route's weights are few, and every request of
    it says one)."""
    share = f"{weight:g} of {total:g}"
    said = f"weighted: {share} shares" if first else f"weighted: next by weight ({share})"
    if len(_WEIGHTED_SAID) >= _WEIGHTED_KEPT:
        _WEIGHTED_SAID.clear()
    _WEIGHTED_SAID[first, weight, total] = said
    return said


# The weighted reasons said so far, by (first, weight, total): a pure function's results,
# so never stale; cleared when they grow past what any config's routes say.
_WEIGHTED_SAID: dict[tuple[bool, float, float], str] = {}
_WEIGHTED_KEPT = 1024


def _others(rest: Sequence[Candidate], words: Callable[[Candidate], str]) -> str:
    if not rest:
        return ""
    named = ", ".join(f"{c.target.label} {words(c)}" for c in rest[:NAMED_OTHERS])
    more = f", {len(rest) - NAMED_OTHERS} more" if len(rest) > NAMED_OTHERS else ""
    return f" ({named}{more})"


def _latency_words(c: Candidate) -> str:
    return "untried" if c.latency_s is None else f"{c.latency_s * 1000:.0f} ms"


def _cost_words(c: Candidate) -> str:
    return "unpriced" if c.cost_usd is None else f"${c.cost_usd:.6f}"


def _quota_words(c: Candidate) -> str:
    if c.near_limit_s is not None:
        return f"near its limit for {c.near_limit_s:.0f} s"
    return "limits unknown" if c.headroom is None else f"{c.headroom:.0%} left"


_SORTS: dict[str, tuple[Callable[[Candidate], tuple[float, ...]], Callable[[Candidate], str]]] = {
    "least-busy": (lambda c: (c.in_flight,), lambda c: f"{c.in_flight} in flight"),
    "lowest-latency": (
        lambda c: (0.0 if c.latency_s is None else c.latency_s,),
        _latency_words,
    ),
    "lowest-cost": (
        lambda c: (1.0, 0.0) if c.cost_usd is None else (0.0, c.cost_usd),
        _cost_words,
    ),
    "quota": (
        lambda c: (
            1.0 if c.near_limit_s is not None else 0.0,
            -(1.0 if c.headroom is None else c.headroom),
        ),
        _quota_words,
    ),
}
