"""API hosts that could not be connected to, rested so each request does not pay for it.

A provider's host that refuses or drops connections cost every request its connect attempt
before the route moved on: with a black-holed host, `gateway.connect_timeout_ms` (10 s) a
request, each time. After `FAILURES_TO_REST` connect failures in a row a host is rested: its
routes are passed over at once (the attempt says `resting`, with the seconds left) for
`FIRST_REST_S`, doubled at each failure after a rest up to `LONGEST_REST_S`; once a rest ends
the next request tries it again, and one connection made ends it.

Only connect failures count: what a caller sends cannot make a TCP or TLS connection fail, so
a remote caller cannot rest a host for everybody with bad requests, as it could with answers
(a 500, a 429, a slow first byte). Keyed by provider and base URL (`ApiTargets._host_of`). In
memory, per process; a restart forgets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from llmgw_desktop.engine.gateway.upstream import UpstreamFailure

__all__ = [
    "FAILURES_TO_REST",
    "FIRST_REST_S",
    "LONGEST_REST_S",
    "RESTING_OUTCOME",
    "UnreachableHosts",
]

log = logging.getLogger(__name__)

FAILURES_TO_REST = 3
FIRST_REST_S = 5.0
LONGEST_REST_S = 60.0
# The route log's outcome for a route passed over because its host is rested.
RESTING_OUTCOME = "resting"


@dataclass
class _Host:
    failures: int = 0  # connect failures in a row
    rest_s: float = 0.0  # the last rest's length (0: never rested since a connection)
    until: float = 0.0  # rested until (monotonic)


class UnreachableHosts:
    """Connect failures in a row per host, and the rests they earn."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._hosts: dict[str, _Host] = {}
        self._clock = clock

    def resting(self, host: str) -> float | None:
        """Seconds `host` is still rested for; None when it may be tried."""
        state = self._hosts.get(host)
        if state is None:
            return None
        left = state.until - self._clock()
        return left if left > 0 else None

    def refusal(self, provider: str, host: str) -> UpstreamFailure | None:
        """Why a route to `host` is passed over now (the route moves on), or None."""
        left = self.resting(host)
        if left is None:
            return None
        return UpstreamFailure(
            f"{provider} could not be connected to {FAILURES_TO_REST} or more times in a row; "
            f"tried again in {left:.0f} s",
            fallback=True,
            retry_after_s=round(left, 1),
            kind=RESTING_OUTCOME,
        )

    def failed(self, provider: str, host: str) -> None:
        """A connection to `provider`'s `host` could not be made."""
        state = self._hosts.setdefault(host, _Host())
        state.failures += 1
        if state.rest_s:  # failed again right after a rest: a longer one
            state.rest_s = min(LONGEST_REST_S, state.rest_s * 2)
        elif state.failures >= FAILURES_TO_REST:
            state.rest_s = FIRST_REST_S
        else:
            return
        state.until = self._clock() + state.rest_s
        # The provider's name only: a base URL may carry a user name or a token.
        log.warning(
            "%s: no connection could be made %d times in a row; its routes are passed over "
            "for %.0f s, then it is tried again",
            provider,
            state.failures,
            state.rest_s,
        )

    def connected(self, host: str) -> None:
        """A connection to `host` was made (an answer came back): it is well again."""
        if host in self._hosts:
            del self._hosts[host]

    def rested(self) -> dict[str, float]:
        """Each host rested now, with its seconds left (for `/health` and the window)."""
        now = self._clock()
        return {host: s.until - now for host, s in self._hosts.items() if s.until > now}
