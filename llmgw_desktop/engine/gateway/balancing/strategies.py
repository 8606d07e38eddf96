"""How a route's strategy orders its targets for one request, and why each goes where it goes.

Pure: each strategy takes what is known of the targets now (`Candidate`) and returns them in the
order to try, each with the reason the recorder keeps. The strategies (`[gateway.routes]`'s
`strategy`):

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

Then, whatever the strategy, a target cooling down or with its circuit open goes behind the
others (`circuit.py`); the weighted turn skips it, so its share goes to the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmgw_desktop.engine.gateway.router import Target

__all__ = ["Candidate", "SmoothWeights", "order_candidates"]

# How many other targets a reason names, so a row's reason stays one short line.
NAMED_OTHERS = 3


@dataclass(frozen=True)
class Candidate:
    """One target of a route's pool as known now."""

    target: Target
    weight: float = 1.0
    in_flight: int = 0
    latency_s: float | None = None  # the decaying time to first token (None: untried)
    cost_usd: float | None = None  # this request's estimate (None: unpriced, or not asked)
    headroom: float | None = None  # the smallest fraction left of its rate limits
    near_limit_s: float | None = None  # seconds until a limit it is near resets
    goes_last_s: float | None = None  # cooling down or circuit open: seconds left
    cooling_why: str = ""  # the failure that made it (`429`, `503`, `connect`)


class SmoothWeights:
    """Smooth weighted round robin (as nginx does it): each turn every target gains its
    weight, the one with the most is chosen and pays the total back. Over any run of turns the
    shares match the weights within one turn, without the runs of the same target a random
    draw gives; a target left out of a turn (cooling down) neither gains nor pays."""

    def __init__(self) -> None:
        self._current: dict[str, float] = {}

    def choose(self, candidates: Sequence[Candidate]) -> Candidate | None:
        weighted = [c for c in candidates if c.weight > 0]
        if not weighted:
            return None
        total = 0.0
        best: Candidate | None = None
        current = self._current
        for candidate in weighted:
            label = candidate.target.label
            value = current.get(label, 0.0) + candidate.weight
            current[label] = value
            total += candidate.weight
            if best is None or value > current[best.target.label]:
                best = candidate
        assert best is not None
        current[best.target.label] -= total
        return best


def order_candidates(
    strategy: str,
    candidates: Sequence[Candidate],
    *,
    turn: int,
    caller: str,
    weights: SmoothWeights,
) -> list[tuple[Candidate, str]]:
    """`candidates` in the order to try them by `strategy`, each with why it goes there;
    those going last (cooling, open) after the others, in the same order among themselves."""
    ready = [c for c in candidates if c.goes_last_s is None]
    resting = [c for c in candidates if c.goes_last_s is not None]
    ordered = _by_strategy(strategy, ready, turn=turn, caller=caller, weights=weights)
    ordered += [(c, _resting_reason(c, ready)) for c in resting]
    return ordered


def _by_strategy(
    strategy: str,
    ready: list[Candidate],
    *,
    turn: int,
    caller: str,
    weights: SmoothWeights,
) -> list[tuple[Candidate, str]]:
    if not ready:
        return []
    if strategy == "weighted":
        return _weighted(ready, weights)
    if strategy == "round-robin":
        start = turn % len(ready)
        return _rotated(ready, start, f"round-robin: turn {turn + 1}")
    if strategy == "caller" and caller:
        digest = hashlib.sha256(caller.encode()).digest()
        start = int.from_bytes(digest[:4], "big") % len(ready)
        return _rotated(ready, start, f"caller: {caller[:40]} keeps this target")
    sort = _SORTS.get(strategy)
    if sort is None:  # priority (and caller without a caller's name)
        return [
            (c, f"priority: listed {i + 1} of {len(ready)}" if i == 0 else "priority: next listed")
            for i, c in enumerate(ready)
        ]
    key, words = sort
    # Ties take turns (least-busy's idle targets share the load), else keep the listed order.
    start = turn % len(ready) if strategy == "least-busy" else 0
    rotated = ready[start:] + ready[:start]
    ranked = sorted(rotated, key=key)
    first = ranked[0]
    reason = f"{strategy}: {words(first)}{_others(ranked[1:], words)}"
    return [(first, reason)] + [(c, f"{strategy}: next, {words(c)}") for c in ranked[1:]]


def _weighted(ready: list[Candidate], weights: SmoothWeights) -> list[tuple[Candidate, str]]:
    total = sum(c.weight for c in ready)
    chosen = weights.choose(ready)
    if chosen is None:  # every weight 0: the listed order
        return [(c, "weighted: every weight is 0, listed order") for c in ready]
    rest = sorted((c for c in ready if c is not chosen), key=lambda c: -c.weight)
    share = f"{chosen.weight:g} of {total:g} shares"
    return [(chosen, f"weighted: {share}")] + [
        (c, f"weighted: next by weight ({c.weight:g} of {total:g})") for c in rest
    ]


def _rotated(ready: list[Candidate], start: int, why: str) -> list[tuple[Candidate, str]]:
    rotated = ready[start:] + ready[:start]
    return [(rotated[0], why)] + [(c, f"{why.split(':')[0]}: next") for c in rotated[1:]]


def _others(rest: Sequence[Candidate], words: Callable[[Candidate], str]) -> str:
    if not rest:
        return ""
    named = ", ".join(f"{c.target.label} {words(c)}" for c in rest[:NAMED_OTHERS])
    more = f", {len(rest) - NAMED_OTHERS} more" if len(rest) > NAMED_OTHERS else ""
    return f" ({named}{more})"


def _resting_reason(candidate: Candidate, ready: Sequence[Candidate]) -> str:
    left = candidate.goes_last_s or 0.0
    why = candidate.cooling_why or "failures"
    when = f"{left:.0f} s left" if left > 0 else "a trial is on its way"
    after = "tried after the others" if ready else "every target is cooling down"
    return f"cooling down after {why} ({when}); {after}"


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
