"""A route's targets as shown: share, latency, calls in flight, cool-down, quota left.

`GET /v1/providers` (its `routes` and `cooling`) and the Providers page's routes widget read
these; the figures are the balancer's (`balancer.py`), in memory, for this process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.circuit import CircuitState
from llmgw_desktop.engine.gateway.outcomes import Outcome

__all__ = ["TARGET_STATES", "RouteView", "TargetView", "failure_words"]

# Every `TargetView.state`: a circuit's state, or hung (no answer to the gateway's probe:
# `liveness.py`). `/openapi.json` lists these.
TARGET_STATES: tuple[str, ...] = (*(state.value for state in CircuitState), Outcome.HUNG.value)

# A target's failures in a person's words, where the outcome has words of its own (a status is
# said as its digits: "after 429"): the route table's and the recorder's reason for a target's
# place. "after broken" read as a typo where its answers had broken off.
_FAILURE_WORDS: dict[str, str] = {
    Outcome.BROKEN: "its answers broke off",  # streams cut mid-way, whole answers broken off
    Outcome.TIMEOUT: "its calls timed out",
    Outcome.HUNG: "it stopped answering",
}


def failure_words(outcome: str | None) -> str:
    """What a target's last failure was (`TargetView.last_error`, a circuit's outcome), said
    after "after": "its answers broke off", "429"; "failures" where none is known."""
    if not outcome:
        return "failures"
    return _FAILURE_WORDS.get(outcome, outcome)


@dataclass(frozen=True)
class TargetView:
    """One target now."""

    label: str  # provider/model, as a client would name it
    provider: str
    model: str
    weight: float | None = None  # its weight in the route (None: outside a route's pool)
    share: float | None = None  # of the route's recent answers (None: none yet)
    # Time to first token as of its last answer (None: none in this process, or none lately).
    latency_s: float | None = None
    in_flight: int = 0
    state: str = "closed"  # for everyone: one of `TARGET_STATES`
    cooling_s: float | None = None  # goes behind the others for this long yet
    failures: int = 0  # in a row that count for everyone (`health.py`)
    last_error: str | None = None  # the last failure's outcome (`429`, `503`, `hung`)
    quota_left: float | None = None  # the smallest fraction left of its rate limits
    # The principals it goes behind the others for, on their own failures alone.
    cooling_for: int = 0
    # Half open, its trial call is on its way (the others pass it over until its verdict);
    # False while half open: the next call tries it.
    trial: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.label,
            "provider": self.provider,
            "model": self.model,
            "weight": self.weight,
            "share": None if self.share is None else round(self.share, 4),
            "latencyMs": None if self.latency_s is None else round(self.latency_s * 1000, 1),
            "inFlight": self.in_flight,
            "state": self.state,
            "coolingSeconds": None if self.cooling_s is None else round(self.cooling_s, 1),
            "failuresInARow": self.failures,
            "lastError": self.last_error,
            "quotaLeft": None if self.quota_left is None else round(self.quota_left, 4),
            "coolingForCallers": self.cooling_for,
            "trialInFlight": self.trial,
        }


@dataclass(frozen=True)
class RouteView:
    """A route that lists targets, with each of them now."""

    pattern: str
    strategy: str
    targets: tuple[TargetView, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.pattern,
            "strategy": self.strategy,
            "targets": [t.to_dict() for t in self.targets],
        }
