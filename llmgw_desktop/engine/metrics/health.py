"""Each provider's health from the outcomes of its recent calls, not only from its Test.

A provider that answers its Test but fails every other call is not "Ready". `CallHealth` reads
the engine's `RequestFinished` events and keeps, per recorder provider id, the calls of the
last `HEALTH_WINDOW_S` (at most `MAX_SAMPLES` of them): whether each failed, how long it took,
the failures in a row and the last error with its time. From those it says whether the
provider is failing, degraded or fine, and its p50/p95 latency.

Only calls a provider was asked count. A request the gateway refused before asking anyone
(budget, switch, approval, no key: recorder state `refused` or `denied`) says nothing about the
provider; neither does a call canceled (by its caller, or a job's cancel) before its answer
began, a key being tried before it is stored,
a request the provider refused as the request's own fault (`NOT_THE_PROVIDERS_CODES`), nor an
answer the response cache gave (its few ms are not the provider's latency). A call canceled once
its answer had begun was asked, and answered: a call that did not fail, whose time (cut short by
its client) is not the provider's latency.

Failing is three failed calls in a row, or most calls failed: in the window, or since the
provider last answered three times in a row. So one that recovered reads "some calls fail" (not
red), and is failing again only as a new run of failures makes it; one that fails every other
call stays failing rather than turning red and back at each call. The words say the count that
decided it ("4 of 6 calls failed since it last answered 3 in a row; 5 of 30 calls failed in
15 min"), so a red "Failing" never stands over a count that reads as a few failures.

The window moves in the live figures' steps (`WINDOW_STEP_S`, the 15 min chart's buckets): a
call leaves both counts at the same moment, so the verdict is decided on the calls the desk's
"Calls 15 min" and "Failed 15 min" count beside it (the same calls, `asked_provider`, up to
`MAX_SAMPLES` of them).
Counting runs in the publisher's call, a deque append per event, never the store.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from llmgw_desktop.engine.errors import ErrorCode
from llmgw_desktop.engine.events import EventBus, ProviderHealthChanged, RequestFinished
from llmgw_desktop.engine.gateway.desk.probe import KEY_CHECK_CALLER
from llmgw_desktop.engine.gateway.http_client.upstream import KEY_STATUSES, RETRYABLE_STATUSES
from llmgw_desktop.engine.states import RecordState

__all__ = [
    "DEGRADED_RATE",
    "FAILING_RATE",
    "FAILING_STREAK",
    "HEALTH_WINDOW_S",
    "MAX_PROVIDERS",
    "MAX_SAMPLES",
    "NOT_THE_PROVIDERS_CODES",
    "REQUESTS_OWN_STATUSES",
    "WINDOW_STEP_S",
    "CallHealth",
    "HealthState",
    "PastCall",
    "ProviderCallHealth",
    "asked_provider",
    "provider_failed",
    "window_start",
]

# The span of calls a provider's error rate and latency are read over.
HEALTH_WINDOW_S: Final = 15 * 60
# The window moves in steps of this many seconds, its oldest step leaving whole: the buckets of
# the live figures' 15 min window (`live.WINDOWS`, made of these two), so a call leaves the
# verdict's count as it leaves the count shown beside it.
WINDOW_STEP_S: Final = 5
# Calls kept per provider: enough for a steady rate and a p95, bounded whatever arrives.
MAX_SAMPLES: Final = 500
# Provider ids come from configuration, but a bound keeps memory fixed whatever arrives.
MAX_PROVIDERS: Final = 64
# This many failed calls in a row: failing, whatever the rate.
FAILING_STREAK: Final = 3
# Error rates (over at least MIN_CALLS_FOR_RATE calls in the window) that mark a provider.
FAILING_RATE: Final = 0.5
DEGRADED_RATE: Final = 0.1
MIN_CALLS_FOR_RATE: Final = 4
_COUNTED: Final = frozenset({RecordState.COMPLETED, RecordState.FAILED})
# Compared for every request: module globals, not enum reads (`engine/states.py`).
_FAILED: Final = RecordState.FAILED
_CANCELED: Final = RecordState.CANCELED
# The statuses with which an upstream refuses the request itself, not for its key, its rate or
# trouble of its own (those are `KEY_STATUSES` and `RETRYABLE_STATUSES`): a mistyped model's
# 404, a field it does not take (400, 422), a body too large (413): a caller's typo must not
# make a provider that answers every other call read "failing".
# A proxy's 407 is the gateway's set-up, not the request's.
REQUESTS_OWN_STATUSES: Final = (
    frozenset(range(400, 500)) - KEY_STATUSES - RETRYABLE_STATUSES - {407}
)
# Codes of a failure that says nothing about its provider: a job that failed before its
# provider was asked (a budget used up while it waited in the queue), or a call the provider
# answered as it should, refusing the request itself (`upstream_404`, `content_filtered`). A
# row ended as the client saw it (`upstream_rejected`) is told apart by its status
# (`recorder.past_calls`), as that code covers a 5xx no route could help too.
NOT_THE_PROVIDERS_CODES: Final = frozenset(
    code.value
    for code in (
        ErrorCode.BUDGET_EXCEEDED,
        ErrorCode.PROVIDER_DISABLED,
        ErrorCode.GATEWAY_PAUSED,
        ErrorCode.NO_API_KEY,
        ErrorCode.NO_PROVIDER_AVAILABLE,
        ErrorCode.APPROVAL_DENIED,
        ErrorCode.CANCELED,
        ErrorCode.GATEWAY_STOPPING,
        ErrorCode.CONTENT_FILTERED,
        ErrorCode.NOT_INSTALLED,  # a set-up wanted, as a provider with no key is
    )
) | {f"upstream_{status}" for status in REQUESTS_OWN_STATUSES}


# A call an earlier run finished, read back at start: provider, finished at, failed, error code,
# duration in ms (`recorder.past_calls`; None for a call its client cut short).
PastCall = tuple[str, float, bool, str | None, float | None]
# One call heard: finished at, failed, latency in ms (None: cut short by its client).
_Sample = tuple[float, bool, float | None]


class HealthState:
    """The words a provider's call health is in."""

    UNKNOWN = "unknown"  # no call in the window
    OK = "ok"
    DEGRADED = "degraded"  # some calls fail
    FAILING = "failing"  # most calls fail, or the last few did


@dataclass(frozen=True)
class ProviderCallHealth:
    """One provider's recent calls, summed up."""

    provider: str
    window_s: int
    calls: int = 0
    errors: int = 0
    consecutive_failures: int = 0
    last_error_code: str | None = None
    last_error_at: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    # The calls (and failed ones) a failing rate is read over: those since the provider last
    # answered FAILING_STREAK times in a row (None: every call of the window).
    since_recovery: tuple[int, int] | None = None
    # When the first failure of the run of failures at the end finished (None: the last call
    # did not fail): one under way before a restart is no news after it.
    streak_since: float | None = None

    @property
    def error_rate(self) -> float | None:
        """Failed calls over calls in the window, or None when there were none."""
        return self.errors / self.calls if self.calls else None

    @property
    def state(self) -> str:
        """`HealthState.FAILING`, `DEGRADED`, `OK` or `UNKNOWN`."""
        if self.consecutive_failures >= FAILING_STREAK:
            return HealthState.FAILING
        if not self.calls:
            return HealthState.UNKNOWN
        calls, errors = self.since_recovery or (self.calls, self.errors)
        # A rate over fewer calls says little.
        if calls >= MIN_CALLS_FOR_RATE and errors / calls >= FAILING_RATE:
            return HealthState.FAILING
        rate = self.errors / self.calls
        enough = self.calls >= MIN_CALLS_FOR_RATE
        if self.consecutive_failures or (enough and rate >= DEGRADED_RATE):
            return HealthState.DEGRADED
        return HealthState.OK

    def describe(self) -> str:
        """One line: "8 calls failed in a row (upstream_500, last at 21:04:10); 26 of 47
        calls failed in 15 min", or "" when nothing failed. Failing by the calls since it last
        answered `FAILING_STREAK` in a row, where the window's count would not say it, it says
        that count too: "4 of 6 calls failed since it last answered 3 in a row; 5 of 30 calls
        failed in 15 min"."""
        if not self.errors and not self.consecutive_failures:
            return ""
        parts = []
        if self.consecutive_failures:
            streak = (
                "the last call failed"
                if self.consecutive_failures == 1
                else f"{self.consecutive_failures} calls failed in a row"
            )
            at = time.strftime("%H:%M:%S", time.localtime(self.last_error_at or 0))
            parts.append(f"{streak} ({self.last_error_code or 'failed'}, last at {at})")
        since = self._failing_since_recovery()
        if since is not None:
            calls, errors = since
            parts.append(
                f"{errors} of {calls} calls failed since it last answered {FAILING_STREAK} in a row"
            )
        if self.errors:
            parts.append(f"{self.errors} of {self.calls} calls failed in {self.window_s // 60} min")
        return "; ".join(parts)

    def _failing_since_recovery(self) -> tuple[int, int] | None:
        """The calls (and failed ones) since the provider last answered `FAILING_STREAK` times
        in a row, when most of them failed and neither the streak nor the window's own rate
        says it is failing (`state` decided on them); None otherwise."""
        if self.since_recovery is None or self.consecutive_failures >= FAILING_STREAK:
            return None
        calls, errors = self.since_recovery
        if calls < MIN_CALLS_FOR_RATE or errors / calls < FAILING_RATE:
            return None
        if self.calls >= MIN_CALLS_FOR_RATE and self.errors / self.calls >= FAILING_RATE:
            return None  # the window's count says it as well
        return calls, errors

    def to_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "state": self.state,
            "windowSeconds": self.window_s,
            "calls": self.calls,
            "errors": self.errors,
            "errorRate": self.error_rate,
            "consecutiveFailures": self.consecutive_failures,
            "lastError": (
                None
                if self.last_error_code is None
                else {"code": self.last_error_code, "at": self.last_error_at}
            ),
            "p50Ms": self.p50_ms,
            "p95Ms": self.p95_ms,
        }


def asked_provider(event: RequestFinished) -> bool:
    """Whether the request reached its provider and ended in a way that says something
    about it: completed or failed, or canceled once its answer had begun (its first token had
    reached the client); not refused, canceled before an answer, or a key being tried. The
    rows read back at start are counted by the same rule (`recorder.rows._ASKED`)."""
    if event.caller == KEY_CHECK_CALLER or event.from_cache:
        return False
    if event.state == _CANCELED:
        return event.first_token_s is not None
    return event.state in _COUNTED and event.error_code not in NOT_THE_PROVIDERS_CODES


def provider_failed(event: RequestFinished) -> bool:
    """Whether the provider was asked and failed (the errors the desk counts)."""
    return event.state == _FAILED and asked_provider(event)


class _Calls:
    """One provider's recent calls: (finished at, failed, latency in ms), oldest first."""

    def __init__(self) -> None:
        self.samples: deque[_Sample] = deque(maxlen=MAX_SAMPLES)
        self.streak = 0
        self.streak_from: float | None = None  # the streak's first failure
        self.successes = 0  # in a row, since the last failure
        # When it last answered FAILING_STREAK times in a row, and the calls and failed ones
        # since: the failing rate counts from then.
        self.recovered_at: float | None = None
        self.since_recovery = (0, 0)
        self.last_code: str | None = None
        self.last_at: float | None = None
        # Calls earlier runs finished, read back at start (`CallHealth.replay`), and their
        # last failure: put before this run's own by `merge_heard_before`.
        self.heard_before: list[_Sample] = []
        self.before_code: str | None = None
        self.before_at: float | None = None

    def heard(self, at: float, failed: bool) -> None:
        """Count one more call's end in the runs of failures and of successes."""
        calls, errors = self.since_recovery
        self.since_recovery = (calls + 1, errors + failed)
        if failed:
            if not self.streak:
                self.streak_from = at
            self.streak += 1
            self.successes = 0
        else:
            self.streak, self.streak_from = 0, None
            self.successes += 1
            if self.successes == FAILING_STREAK:
                self.recovered_at, self.since_recovery = at, (0, 0)

    def merge_heard_before(self) -> None:
        """The calls read back, before this run's own; the runs of failures and of successes
        at the end, across both."""
        if not self.heard_before:
            return
        merged = [*self.heard_before, *self.samples]
        self.heard_before = []
        self.samples = deque(merged, maxlen=MAX_SAMPLES)
        self.streak = self.successes = 0
        self.recovered_at, self.since_recovery = None, (0, 0)
        for at, failed, _ms in merged:
            self.heard(at, failed)
        if self.last_at is None and self.before_at is not None:
            self.last_code, self.last_at = self.before_code, self.before_at


class CallHealth:
    """Every provider's health from its recent calls (fed by `RequestFinished`)."""

    def __init__(
        self,
        events: EventBus,
        *,
        window_s: int = HEALTH_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._window_s = window_s
        self._clock = clock
        self._calls: dict[str, _Calls] = {}
        self._events = events
        # Each provider's state as last told (`ProviderHealthChanged`); UNKNOWN when never.
        self._told: dict[str, str] = {}
        self._unsubscribe = events.subscribe(RequestFinished, self._on_finished, after=True)

    def close(self) -> None:
        """Stop listening (what was counted stays readable)."""
        self._unsubscribe()

    def of(self, provider: str) -> ProviderCallHealth:
        """The health of `provider` (a recorder provider id: a CLI's id, an API's gateway id)."""
        calls = self._calls.get(provider)
        if calls is None:
            return ProviderCallHealth(provider, self._window_s)
        since = window_start(self._clock(), self._window_s)
        recent = [s for s in calls.samples if s[0] >= since]
        latencies = sorted(s[2] for s in recent if s[2] is not None)
        # A streak whose last failure left the window says nothing of now: with no call since,
        # a provider is unknown, as the window's rule has it, not failing for good.
        streak = calls.streak if calls.last_at is not None and calls.last_at >= since else 0
        recovered = calls.recovered_at
        # Every call since the recovery is in the window while the recovery is.
        since_recovery = (
            calls.since_recovery if recovered is not None and recovered >= since else None
        )
        return ProviderCallHealth(
            provider,
            self._window_s,
            calls=len(recent),
            errors=sum(1 for s in recent if s[1]),
            consecutive_failures=streak,
            since_recovery=since_recovery,
            streak_since=calls.streak_from if streak else None,
            last_error_code=calls.last_code,
            last_error_at=calls.last_at,
            p50_ms=_percentile(latencies, 0.50),
            p95_ms=_percentile(latencies, 0.95),
        )

    def all(self) -> dict[str, ProviderCallHealth]:
        """Every provider that has had a call, by recorder provider id."""
        return {provider: self.of(provider) for provider in self._calls}

    def failing(self) -> list[ProviderCallHealth]:
        """The providers whose recent calls say they are failing, most failures first."""
        found = [h for h in self.all().values() if h.state == HealthState.FAILING]
        return sorted(found, key=lambda h: (-h.consecutive_failures, -h.errors, h.provider))

    def replay(self, past: Iterable[PastCall]) -> int:
        """Count the calls earlier runs finished in the window (oldest first), before any this
        run heard (which are newer): after a restart a provider that failed a minute before is
        failing still, as the charts rebuilt from the same rows say; how many were counted."""
        counted = 0
        for provider, finished_at, failed, code, duration_ms in past:
            calls = self._calls.get(provider)
            if calls is None:
                if len(self._calls) >= MAX_PROVIDERS:
                    continue
                calls = self._calls[provider] = _Calls()
            calls.heard_before.append((finished_at, failed, duration_ms))
            if failed:
                calls.before_code, calls.before_at = code or "failed", finished_at
            counted += 1
        for calls in self._calls.values():
            calls.merge_heard_before()
        # The desk drew its verdicts before these were read (the tray said "idle" while every
        # provider's last calls had failed): tell it what they say now.
        for provider in list(self._calls):
            self._tell(provider)
        return counted

    def _tell(self, provider: str) -> None:
        """Publish `ProviderHealthChanged` when `provider`'s state is not the one last told."""
        state = self.of(provider).state
        if state != self._told.get(provider, HealthState.UNKNOWN):
            self._told[provider] = state
            self._events.publish(ProviderHealthChanged(provider, state))

    def _on_finished(self, event: RequestFinished) -> None:
        if not asked_provider(event):
            return
        calls = self._calls.get(event.provider)
        if calls is None:
            if len(self._calls) >= MAX_PROVIDERS:
                return
            calls = self._calls[event.provider] = _Calls()
        failed = event.state == _FAILED
        latency_ms: float | None = None
        if event.state != _CANCELED:
            took = (event.finished_at - event.started_at) * 1000
            latency_ms = took if took > 0.0 else 0.0  # not max(): `engine/values.py`
        at = self._clock()
        calls.samples.append((at, failed, latency_ms))
        calls.heard(at, failed)
        if failed:
            calls.last_code = event.error_code or "failed"
            calls.last_at = event.finished_at
        # A call that answered leaves a provider told OK as it was, a failure in a streak
        # leaves it failing: a flood of either reads no window. Any other call may change it.
        told = self._told.get(event.provider)
        if failed and calls.streak >= FAILING_STREAK:
            if told != HealthState.FAILING:
                self._tell(event.provider)
        elif failed or told != HealthState.OK:
            self._tell(event.provider)


def window_start(now: float, span_s: float, step_s: int = WINDOW_STEP_S) -> float:
    """When a window of `span_s` ending at `now` begins, moving in steps of `step_s`: the start
    of its oldest step, as the live figures read their ring of buckets (the newest, still
    filling, and those before it: `span_s` in all)."""
    return (now // step_s + 1) * step_s - span_s


def _percentile(ordered: list[float], share: float) -> float | None:
    """The nearest-rank percentile of an ascending list, or None when it is empty."""
    if not ordered:
        return None
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))  # ceil(share * n)
    return ordered[min(rank, len(ordered)) - 1]
