"""API hosts that could not be connected to, rested so each request does not pay for it.

A provider's host that refuses or drops connections cost every request its connect attempt
before the route moved on: with a black-holed host, `gateway.connect_timeout_ms` (10 s) a
request, each time. After `FAILURES_TO_REST` connect failures in a row a host is rested: its
routes are passed over at once (the attempt says `resting`, with the seconds left) for
`REST.first_s`, doubled at each failure after a rest up to `REST.longest_s`; once a rest ends
the next request tries it again, and one connection made ends it.

That is the engine's one circuit rule (`engine/circuit.py`: failures in a row, a rest that
doubles, tried again once it ends), and each host keeps a `Circuit`; what differs is only what
a rest means here: the host's routes are passed over outright, and once its rest ends every
request may try it (no single half-open trial: a connect attempt costs no upstream a call, and
the first one that fails rests the host again, longer).

Only connect failures count: what a caller sends cannot make a TCP or TLS connection fail, so
a remote caller cannot rest a host for everybody with bad requests, as it could with answers
(a 500, a 429, a slow first byte). Keyed by provider and base URL. In memory, per process; a
restart forgets.

What is rested now (`rested`) is shown while it lasts: `/health` names the providers resting
(public: ids only), `llm_process_health` and the window each host's origin (never the base
URL's path, query or user), failures in a row, seconds left and last error (redacted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.circuit import Circuit
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamFailure
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.gateway.shown_urls import origin_of
from llmgw_desktop.engine.redact import redact

__all__ = [
    "FAILURES_TO_REST",
    "REST",
    "RESTING_OUTCOME",
    "RestedHost",
    "UnreachableHosts",
]

log = logging.getLogger(__name__)

FAILURES_TO_REST = 3
REST = Backoff(first_s=5.0, longest_s=60.0)
# The route log's outcome for a route passed over because its host is rested.
RESTING_OUTCOME = Outcome.RESTING


@dataclass(frozen=True)
class RestedHost:
    """One host rested now: whose, where (its origin only), and why."""

    provider: str  # the gateway's provider id (`openai`, `mistral`)
    origin: str  # `origin_of` its base URL
    failures: int  # connect failures in a row
    seconds_left: float
    last_error: str  # the last connect failure's words, redacted

    def to_dict(self) -> dict[str, Any]:
        """As `llm_process_health` shows it (the local user)."""
        return {
            "provider": self.provider,
            "origin": self.origin,
            "failuresInARow": self.failures,
            "secondsLeft": round(self.seconds_left, 1),
            "lastError": self.last_error,
        }


@dataclass
class _Host:
    provider: str
    origin: str
    # Connect failures in a row, the rest they earned, the last one's words (redacted).
    circuit: Circuit = field(default_factory=Circuit)


class UnreachableHosts:
    """Connect failures in a row per host, and the rests they earn."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._hosts: dict[tuple[str, str], _Host] = {}  # by (provider, base URL)
        self._clock = clock

    def resting(self, provider: str, base_url: str) -> float | None:
        """Seconds `provider`'s host at `base_url` is still rested for; None when it may be
        tried."""
        state = self._hosts.get((provider, base_url))
        if state is None:
            return None
        return state.circuit.goes_last(self._clock())

    def refusal(self, provider: str, base_url: str) -> UpstreamFailure | None:
        """Why a route to `provider` at `base_url` is passed over now (the route moves on), or
        None."""
        left = self.resting(provider, base_url)
        if left is None:
            return None
        return UpstreamFailure(
            f"{provider} could not be connected to {FAILURES_TO_REST} or more times in a row; "
            f"tried again in {left:.0f} s",
            fallback=True,
            retry_after_s=round(left, 1),
            kind=RESTING_OUTCOME,
        )

    def failed(self, provider: str, base_url: str, error: str = "") -> None:
        """A connection to `provider` at `base_url` could not be made (`error`: why, in words
        that may name the base URL; kept redacted)."""
        state = self._hosts.get((provider, base_url))
        if state is None:
            state = self._hosts[(provider, base_url)] = _Host(provider, origin_of(base_url))
        circuit = state.circuit
        # Masked whole, then cut (by the circuit); failing again right after a rest, longer.
        if not circuit.failed(redact(error), self._clock(), REST, FAILURES_TO_REST):
            return
        # The provider's name only: a base URL may carry a user name or a token.
        log.warning(
            "%s: no connection could be made %d times in a row; its routes are passed over "
            "for %.0f s, then it is tried again",
            provider,
            circuit.failures,
            circuit.rest_s,
        )

    def connected(self, provider: str, base_url: str) -> None:
        """A connection to `provider` at `base_url` was made (an answer came back): it is well
        again."""
        self._hosts.pop((provider, base_url), None)

    def rested(self) -> list[RestedHost]:
        """Each host rested now, the longest rest left first (for `/health`, the process
        health and the window: a read of the few hosts that failed, never a request's path)."""
        now = self._clock()
        found = [
            RestedHost(h.provider, h.origin, c.failures, c.until - now, c.last_error)
            for h in self._hosts.values()
            if (c := h.circuit).until > now
        ]
        return sorted(found, key=lambda h: -h.seconds_left)
