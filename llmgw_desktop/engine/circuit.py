"""The one circuit of the engine: failures in a row, and the rest they earn. Every breaker keeps
one per thing that fails (an API target of the gateway's routes, a provider's CLI jobs, an API
host no connection could be made to); what
a rest means is the user's: the balancer moves a resting target behind the others, the CLI's
breaker refuses its calls until the rest ends.

A circuit fails `threshold` times in a row (the user says what counts: a timeout, a 429, a 5xx
for an API target; a rate limit, a provider error or a timeout for a CLI) and opens for its
rest, `Backoff.after` the last one (doubled each time it fails again right after a rest, up to
the longest; a breaker with a fixed rest gives first and longest alike). A 429 that does not
open it cools it for what its `Retry-After` asks. When the rest ends the circuit is half open:
one call tries it (`trial`); a success closes it, a failure opens it again for longer. The
clock is the caller's (monotonic).

For an API target, a target cooling down or open is not refused: it goes behind the targets
that are not, in every plan, so its share goes to the others and a request still reaches it
when all of those fail. That is on purpose. What a caller sends can make an upstream answer 500
or 429, so a remote caller able to open a circuit that refuses would deny the target to
everybody; moving it last costs nobody an answer. Whose failures move whose requests is
`balancing/health.py`'s: each principal has a circuit of its own, and the target's shared one
counts only failures that are not one caller's doing. Hosts that take no connection at all keep
a circuit each too, and are passed over outright while it rests (`gateway/http_client/
unreachable.py`): a caller cannot cause a connect failure. A
CLI's breaker (`calls/resilience.CircuitBreaker`) counts only the failures of its jobs, which
the local user's and remote callers' jobs share; it refuses while open.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from llmgw_desktop.engine.backoff import Backoff

__all__ = ["Circuit", "CircuitState"]

# The last failure's words kept for the window and `/v1/providers`: an outcome, not an essay.
MAX_ERROR_CHARS = 200


class CircuitState(enum.StrEnum):
    CLOSED = "closed"  # answering, or failing fewer times in a row than it takes to open
    COOLING = "cooling"  # rate limited: resting until its Retry-After passes
    OPEN = "open"  # failed too often in a row: resting until its rest ends
    HALF_OPEN = "half_open"  # its rest ended: one call tries it


# Read for every request: module globals, not enum reads (`engine/states.py`).
_CLOSED = CircuitState.CLOSED
_COOLING = CircuitState.COOLING
_OPEN = CircuitState.OPEN
_HALF_OPEN = CircuitState.HALF_OPEN


@dataclass
class Circuit:
    """One thing's failures in a row and its rest; the clock is the caller's (monotonic)."""

    failures: int = 0  # failures in a row
    rest_s: float = 0.0  # the last rest's length (0: not rested since it last answered)
    until: float = 0.0  # goes last until then
    last_error: str = ""
    opened: bool = False  # the rest is a circuit's (failures in a row), not a 429's
    trial: bool = False  # a half-open trial is on its way

    def state(self, now: float) -> CircuitState:
        if self.until > now:
            return _OPEN if self.opened else _COOLING
        if self.opened:
            return _HALF_OPEN
        return _CLOSED

    def goes_last(self, now: float) -> float | None:
        """Seconds it rests for yet (0.0 while a half-open trial is on its way); None: it is
        not resting."""
        if self.until > now:
            return self.until - now
        if self.opened and self.trial:
            return 0.0
        return None

    def failed(
        self,
        outcome: str,
        now: float,
        backoff: Backoff,
        threshold: int,
        *,
        retry_after_s: float | None = None,
        in_a_row: int | None = None,
    ) -> bool:
        """A failure (`outcome`: what failed, in the user's words: the route log's `429`,
        `503`, a CLI's error code); `in_a_row`: the failures in a row it makes, where the caller
        counts them (a target's shared circuit counts only some: `balancing/health.py`), else
        one more. True when it begins a rest (the caller logs it)."""
        self.failures = self.failures + 1 if in_a_row is None else in_a_row
        self.trial = False
        self.last_error = outcome[:MAX_ERROR_CHARS]
        asked = backoff.asked(retry_after_s) if retry_after_s is not None else 0.0
        if self.opened or self.failures >= threshold:
            self.rest_s = backoff.after(self.rest_s)
            self.opened = True
            # Spread, so the requests waiting on it do not all come back at once; never
            # shorter than the provider asked.
            wait = max(backoff.spread(self.rest_s), asked)
        elif outcome == "429":
            # The provider said how long: as long as it asked, and not a circuit.
            wait = backoff.asked(retry_after_s)
        else:
            return False
        self.until = max(self.until, now + wait)
        return True

    def answered(self) -> None:
        """A success (an API target's 2xx answer, a CLI's job done): closed."""
        self.failures = 0
        self.rest_s = 0.0
        self.until = 0.0
        self.opened = False
        self.trial = False
        self.last_error = ""
