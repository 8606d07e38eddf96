"""One target's health as its callers found it: who failed, and whether it cools for everyone.

What a caller sends can make an upstream fail: a body that makes it answer 500, one that keeps
it silent past the first-byte limit, one that makes it answer 429. Were every failure counted
for everyone, one key could move every other caller's traffic to a route's other targets (at
their price, with their prompts) for as long as it kept sending such requests. So:

- each principal's failures open a circuit of its own (`engine/circuit.py`, with the same thresholds
  and rests): the target goes behind the others in that principal's requests alone;
- the target's shared circuit, which moves everyone's requests, counts only failures that are
  not one caller's doing: the local user's (the person at this machine), or those of at least
  two principals since the target last answered. A body that failed before counts once there,
  whoever sends it again: a body that fails the same way each time is its caller's problem.
- a target found hung by the gateway's own probe (`liveness.py`) goes behind the others for
  everyone: no caller sent the probe.

An answer that comes whole closes the shared circuit and the answering principal's own, and
forgets the failures in a row: a stream's when it ends whole, not at its first token (one its
upstream breaks after it began is a failure, counted by the same rule; `Balancer.stream_ended`).

Bounded: past `MAX_PRINCIPALS` the principal that failed least recently is forgotten (which
only ends its own rest early), past `MAX_WITNESSES` bodies are no longer told apart. In
memory, per process, as the rest of the balancer.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from llmgw_desktop.config.principals import LOCAL
from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.circuit import Circuit, CircuitState
from llmgw_desktop.engine.gateway.balancing.views import failure_words

__all__ = ["MAX_PRINCIPALS", "MAX_WITNESSES", "Resting", "TargetHealth"]

# The principals whose own circuits one target keeps (a gateway's keys and clients are far
# fewer; a flood of new principals forgets the least recent, never the shared circuit).
MAX_PRINCIPALS = 256
# The failing bodies one target tells apart since it last answered: far past any threshold.
MAX_WITNESSES = 64
# Compared for every request: module globals, not enum reads (`engine/states.py`).
_CLOSED = CircuitState.CLOSED
_HALF_OPEN = CircuitState.HALF_OPEN


@dataclass(frozen=True, slots=True)
class Resting:
    """Why a target goes behind the others in one request, and for how long."""

    left_s: float | None  # seconds yet (0.0: a trial is on its way; None: until a probe answers)
    why: str  # the failure: `429`, `503`, `timeout`, `hung`
    everyone: bool  # for every caller; False: for this request's principal, on its own failures

    def words(self, others_ready: bool) -> str:
        """The reason the recorder keeps for the target's place."""
        after = "tried after the others" if others_ready else "every target is cooling down"
        if self.left_s is None:
            return f"not answering at all ({self.why}: its probe got no answer); {after}"
        when = f"{self.left_s:.0f} s left" if self.left_s > 0 else "a trial is on its way"
        whose = "" if self.everyone else " for this caller"
        return f"cooling down{whose} after {failure_words(self.why)} ({when}); {after}"


class TargetHealth:
    """One target's circuits: the shared one and each principal's own."""

    __slots__ = ("_local_failures", "_own", "_unnamed", "_witnesses", "shared")

    def __init__(self) -> None:
        self.shared = Circuit()
        self._own: OrderedDict[str, Circuit] = OrderedDict()
        # Each body that failed since the target last answered (its digest) -> who sent it.
        self._witnesses: dict[str, str] = {}
        self._local_failures = 0  # the local user's failures in a row, each counted
        self._unnamed = 0  # failures without a body's digest, each told apart

    def resting(self, principal: str, now: float) -> Resting | None:
        """Whether the target goes behind the others in `principal`'s request now: for
        everyone (the shared circuit), or for it alone (its own); None: it takes its place."""
        shared = self.shared
        left = shared.goes_last(now)
        if left is not None:
            return Resting(left, shared.last_error or "failures", everyone=True)
        own = self._own.get(principal)
        if own is None or (left := own.goes_last(now)) is None:
            return None
        return Resting(left, own.last_error or "failures", everyone=False)

    def began(self, principal: str, now: float) -> Circuit | None:
        """A call of `principal`'s to the target is on its way: the circuit whose half-open
        trial it is (the shared one's, else its own's), if any; the others pass the target
        over until its verdict."""
        own = self._own.get(principal)
        for circuit in (self.shared, own):
            if (
                circuit is not None
                and circuit.opened  # read first: only an opened circuit is ever half open
                and not circuit.trial
                and circuit.state(now) is _HALF_OPEN
            ):
                circuit.trial = True
                return circuit
        return None

    def failed(
        self,
        outcome: str,
        principal: str,
        body: str,
        now: float,
        *,
        backoff: Backoff,
        threshold: int,
        retry_after_s: float | None,
    ) -> bool | None:
        """A failure of a call of `principal`'s whose body's digest is `body` ("": unknown).
        True when the target begins a rest for everyone; False when for `principal` alone;
        None when no rest begins."""
        own = self._own.get(principal)
        if own is None:
            own = self._own[principal] = Circuit()
            if len(self._own) > MAX_PRINCIPALS:
                self._own.popitem(last=False)
        else:
            self._own.move_to_end(principal)
        own_rest = own.failed(outcome, now, backoff, threshold, retry_after_s=retry_after_s)
        in_a_row = self._credible(principal, body)
        if in_a_row is not None and self.shared.failed(
            outcome, now, backoff, threshold, retry_after_s=retry_after_s, in_a_row=in_a_row
        ):
            return True
        return False if own_rest else None

    def _credible(self, principal: str, body: str) -> int | None:
        """The shared circuit's failures in a row with this one, or None when this one is not
        counted there (a remote principal's, alone so far, or with a body that failed
        before)."""
        witnesses = self._witnesses
        if principal == LOCAL:
            self._local_failures += 1
        if not body:
            self._unnamed += 1
            body = f"#{self._unnamed}"  # never a digest: digests are hex
        new = body not in witnesses
        if new and len(witnesses) < MAX_WITNESSES:
            witnesses[body] = principal
        several = len(set(witnesses.values())) >= 2
        if principal != LOCAL and not (new and several):
            return None
        remote = sum(1 for who in witnesses.values() if who != LOCAL) if several else 0
        return self._local_failures + remote

    def answered(self, principal: str) -> bool:
        """A 2xx answer to `principal` come whole (a stream ended whole): the shared circuit
        and its own closed, the failures in a row forgotten. True when the shared circuit had
        been open."""
        shared = self.shared
        was_open = shared.opened
        if shared.failures or shared.until or was_open:
            shared.answered()
        if self._own:
            self._own.pop(principal, None)
        if self._witnesses or self._local_failures:
            self._witnesses.clear()
            self._local_failures = 0
        return was_open

    def probed_back(self, now: float) -> None:
        """Its host answers again after a hang: a rest of the shared circuit ends now, so the
        next request is its trial (a trial that fails opens it again, for longer)."""
        shared = self.shared
        if shared.opened and shared.until > now:
            shared.until = now

    def settled(self, now: float) -> bool:
        """Whether no request is moved by it now (no circuit resting or on trial)."""
        if self.shared.state(now) is not _CLOSED:
            return False
        return not any(c.goes_last(now) is not None for c in self._own.values())

    def cooling_for(self, now: float) -> int:
        """How many principals it goes behind the others for now, on their own failures."""
        return sum(1 for c in self._own.values() if c.goes_last(now) is not None)
