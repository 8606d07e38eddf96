"""Live figures for the dashboard: requests, tokens, cache reads, cost and active jobs over time.

`LiveMetrics` listens to the engine's `RequestFinished` and `JobStateChanged` events and adds
each into time buckets, one ring of buckets per chart window at that window's resolution
(15 min in 5 s buckets, 1 h in 15 s, 24 h in 5 min). A ring reuses its slots as time moves on,
so memory stays fixed however long the app runs or however many requests arrive: about
50 KB per provider, with the number of providers capped. Reading a window is a walk over at
most a few hundred buckets, cheap enough to do once a second from a UI timer.

Counting runs in the publisher's call (the request's finish, on the loop), so it is a few
additions per event and never touches the store: a request adds into one running sum per
provider for the current 5 s (the finest bucket, which every window's bucket size is a multiple
of), and those sums go into every ring and the since-start totals once that bucket is over, or
when the figures are read. Adding into all three rings and the totals on each request would
cost about 52 k instructions of the loop's 1.7 M a request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from llmgw_desktop.engine.events import (
    AttemptFailedOver,
    EventBus,
    JobStateChanged,
    RequestFinished,
)
from llmgw_desktop.engine.metrics.figures import (
    ASKED,
    CACHED,
    CANCELED,
    COST,
    ERRORS,
    FAILED_OVER,
    FIELDS,
    INPUT,
    MEASURED,
    OUTPUT,
    READ,
    REFUSED,
    REQUESTS,
    SAVED,
    UNPRICED,
    WRITE,
    ZEROS,
    Totals,
    bucket_values,
    prompt_hit_rate,
    sum_totals,
)
from llmgw_desktop.engine.metrics.health import HEALTH_WINDOW_S, WINDOW_STEP_S, asked_provider
from llmgw_desktop.engine.states import RecordState
from llmgw_desktop.engine.tokens.price_book import PriceBook

__all__ = [
    "OTHER_PROVIDER",
    "WINDOWS",
    "LiveMetrics",
    "MetricsSeries",
    "MetricsWindow",
    "PastTraffic",
]


@dataclass(frozen=True)
class MetricsWindow:
    """A span of time the charts can show, and the bucket size it is drawn with."""

    key: str
    label: str
    span_s: int
    bucket_s: int

    @property
    def buckets(self) -> int:
        return self.span_s // self.bucket_s


# A few hundred points per chart whatever the window: enough to see shape, cheap to redraw.
# The 15 min window is the providers' health window, in its steps: a provider's calls and failed
# calls there are the ones its verdict counts (`health.window_start`).
WINDOWS: Final[tuple[MetricsWindow, ...]] = (
    MetricsWindow("15m", "15 min", HEALTH_WINDOW_S, WINDOW_STEP_S),
    MetricsWindow("1h", "1 h", 60 * 60, 15),
    MetricsWindow("24h", "24 h", 24 * 60 * 60, 5 * 60),
)
# Provider ids come from configuration, but a bound keeps memory fixed whatever arrives;
# traffic of providers past the cap is counted under OTHER_PROVIDER.
MAX_PROVIDERS: Final = 32
OTHER_PROVIDER: Final = "other"
ACTIVE_JOB_STATES: Final = frozenset({"queued", "running"})
# Distinct model names remembered with their cache-read discount before the memo starts over.
PRICE_MEMO_MAX: Final = 512

# The finest bucket (the 15 min window's): requests add into one running sum per provider for
# this long, folded into the rings when it ends. Every window's bucket size is a multiple of it,
# so a sum lands in the same bucket of each window its requests' own times would have.
_FOLD_S: Final = 5
# Rows the gateway said no to before asking any provider (`health.asked_provider` is the rest).
_REFUSED_STATES: Final = frozenset({"refused", "denied"})
# Compared for every request: module globals, not enum reads (`engine/states.py`).
_FAILED: Final = RecordState.FAILED
_CANCELED: Final = RecordState.CANCELED
# Failed rows remembered with where they were counted, for the attempt that takes one's request
# over (`AttemptFailedOver`, at once after): a bound whatever fails.
_FAILED_KEPT: Final = 1024


@dataclass(frozen=True)
class MetricsSeries:
    """One window's figures, oldest bucket first, ready to plot.

    Rates are per second, so switching windows keeps the charts' scale; the requests and the
    failed ones are what clients sent (`Totals.client_requests`, `client_failed`), each in the
    bucket its first attempt was counted in. A hit rate is NaN in
    a bucket where no call of the provider reported its prompt tokens (none, or only failed
    or estimated calls: no cache figures at all): a gap, not a zero.
    """

    window: MetricsWindow
    times: list[float]
    requests_per_s: list[float]
    errors_per_s: list[float]
    input_tokens_per_s: list[float]
    output_tokens_per_s: list[float]
    active_jobs: list[float]
    hit_rate: dict[str, list[float]]
    by_provider: dict[str, Totals]
    total: Totals = field(default_factory=Totals)


class PastTraffic(NamedTuple):
    """Requests of one provider and model finished in one short span of an earlier run."""

    at: float  # the newest finish time in the group
    provider: str
    model: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    refused: int = 0
    asked: int = 0
    errors: int = 0
    canceled: int = 0
    # The prompt tokens of those whose upstream reported usage (None: all of them).
    measured_prompt_tokens: int | None = None
    # Failed calls whose request went on to another attempt (`recorder/attempts.py`).
    failed_over: int = 0


class _Ring:
    """One window's buckets; a slot is cleared when time comes round to it again."""

    def __init__(self, window: MetricsWindow) -> None:
        self.window = window
        self.slots = window.buckets
        self.stamps = [-1] * self.slots  # the bucket number each slot holds now
        self.figures: dict[str, list[float]] = {}  # provider -> slots * FIELDS, flat
        # Active jobs are a level, not a count: per bucket the level when the bucket's first
        # job event came, and the highest level inside it.
        self.jobs_seen = [False] * self.slots
        self.jobs_before = [0] * self.slots
        self.jobs_peak = [0] * self.slots

    def slot(self, now: float) -> int:
        bucket = int(now // self.window.bucket_s)
        slot = bucket % self.slots
        if self.stamps[slot] != bucket:
            self.stamps[slot] = bucket
            start = slot * FIELDS
            for row in self.figures.values():
                row[start : start + FIELDS] = ZEROS
            self.jobs_seen[slot] = False
        return slot

    def add(self, now: float, provider: str, values: tuple[float, ...]) -> None:
        base = self.slot(now) * FIELDS
        row = self.figures.get(provider)
        if row is None:
            row = self.figures[provider] = [0.0] * (self.slots * FIELDS)
        for offset, value in enumerate(values):
            row[base + offset] += value

    def note_jobs(self, now: float, before: int, after: int) -> None:
        slot = self.slot(now)
        if not self.jobs_seen[slot]:
            self.jobs_seen[slot] = True
            self.jobs_before[slot] = before
            self.jobs_peak[slot] = before
        self.jobs_peak[slot] = max(self.jobs_peak[slot], after)

    def read(self, now: float, active_now: int) -> MetricsSeries:
        size = self.window.bucket_s
        newest = int(now // size)
        first = newest - self.slots + 1
        buckets = range(first, newest + 1)
        live = [self.stamps[b % self.slots] == b for b in buckets]
        # The newest bucket is still filling: its rate is over the time it has run so far.
        spans = [float(size)] * self.slots
        spans[-1] = max(1.0, now - newest * size)

        requests = [0.0] * self.slots
        errors = [0.0] * self.slots
        fresh = [0.0] * self.slots
        out = [0.0] * self.slots
        hit_rate: dict[str, list[float]] = {}
        by_provider: dict[str, Totals] = {}
        for provider, row in self.figures.items():
            sums = [0.0] * FIELDS
            rates = [math.nan] * self.slots
            for i, b in enumerate(buckets):
                if not live[i]:
                    continue
                base = (b % self.slots) * FIELDS
                bucket = row[base : base + FIELDS]
                if not bucket[REQUESTS]:
                    continue
                for offset in range(FIELDS):
                    sums[offset] += bucket[offset]
                failed_over = bucket[FAILED_OVER]
                requests[i] += bucket[REQUESTS] - failed_over
                errors[i] += max(0.0, bucket[ERRORS] - failed_over)
                fresh[i] += bucket[INPUT]
                out[i] += bucket[OUTPUT]
                rate = prompt_hit_rate(bucket[READ], bucket[MEASURED])
                if rate is not None:
                    rates[i] = rate
            if sums[REQUESTS]:
                by_provider[provider] = Totals.of(sums)
                hit_rate[provider] = rates

        jobs = [0.0] * self.slots
        carry = active_now  # walking back in time: the level before each bucket's first event
        for i in range(self.slots - 1, -1, -1):
            slot = (first + i) % self.slots
            if live[i] and self.jobs_seen[slot]:
                jobs[i] = float(self.jobs_peak[slot])
                carry = self.jobs_before[slot]
            else:
                jobs[i] = float(carry)

        return MetricsSeries(
            window=self.window,
            times=[float(b * size) for b in buckets],
            requests_per_s=[n / s for n, s in zip(requests, spans, strict=True)],
            errors_per_s=[n / s for n, s in zip(errors, spans, strict=True)],
            input_tokens_per_s=[n / s for n, s in zip(fresh, spans, strict=True)],
            output_tokens_per_s=[n / s for n, s in zip(out, spans, strict=True)],
            active_jobs=jobs,
            hit_rate=hit_rate,
            by_provider=by_provider,
            total=sum_totals(by_provider.values()),
        )


class LiveMetrics:
    """Counts finished requests and active jobs into per-window rings of time buckets."""

    def __init__(
        self,
        events: EventBus,
        *,
        clock: Callable[[], float] = time.time,
        prices: PriceBook | None = None,
    ) -> None:
        """`prices`: the engine's (the person's over the bundled table), for cache savings."""
        self._clock = clock
        self._prices = prices or PriceBook()
        self._memo_version = self._prices.version
        self._rings = {window.key: _Ring(window) for window in WINDOWS}
        assert all(w.bucket_s % _FOLD_S == 0 for w in WINDOWS)
        self._since_start: dict[str, list[float]] = {}
        # This finest bucket's requests per provider, not yet in the rings or the totals.
        self._pending: dict[str, list[float]] = {}
        self._pending_bucket = -1
        self._active_jobs: set[str] = set()
        self._discount_memo: dict[str, float | None] = {}
        # Failed rows heard, oldest first: the provider and the finest bucket they were counted
        # under, where a failing over takes them out of the requests (`_on_failed_over`).
        self._failed: dict[str, tuple[str, int]] = {}
        self._unsubscribe = [
            events.subscribe(RequestFinished, self._on_request, after=True),
            events.subscribe(AttemptFailedOver, self._on_failed_over, after=True),
            events.subscribe(JobStateChanged, self._on_job),
        ]

    def close(self) -> None:
        """Stop listening (the figures so far stay readable)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    @property
    def active_jobs(self) -> int:
        return len(self._active_jobs)

    def series(self, window_key: str) -> MetricsSeries:
        """The figures of the window `window_key` ("15m", "1h" or "24h") up to now.

        Raises:
            KeyError: `window_key` names no window.
        """
        ring = self._rings[window_key]
        self._fold()
        return ring.read(self._clock(), len(self._active_jobs))

    def since_start(self) -> dict[str, Totals]:
        """Per provider, everything counted since the engine was built."""
        self._fold()
        return {provider: Totals.of(row) for provider, row in self._since_start.items()}

    # -- event handlers: called on the loop for every request, so kept to a few additions --

    def replay(self, past: Iterable[PastTraffic]) -> int:
        """Count traffic an earlier run finished (sums read back from the store at start-up,
        each at the newest finish time of its group) so the charts survive a restart; the
        requests counted. Not "since start". A few additions per group, never per row."""
        now = self._clock()
        self._fold()
        counted = 0
        for group in sorted(past, key=lambda g: g.at):
            age = now - group.at
            if not 0 <= age < WINDOWS[-1].span_s:
                continue
            discount = self._discount(group.model) if group.cache_read_tokens else 0.0
            values = bucket_values(
                group.requests,
                group.input_tokens,
                group.output_tokens,
                group.cache_read_tokens,
                group.cache_write_tokens,
                group.cost_usd,
                discount,
                group.errors,
                group.asked,
                group.refused,
                canceled=group.canceled,
                measured=group.measured_prompt_tokens,
                failed_over=group.failed_over,
            )
            self._add(group.provider, group.at, values, since_start=False)
            counted += group.requests
        return counted

    def _on_request(self, event: RequestFinished) -> None:
        bucket = int(self._clock() // _FOLD_S)
        if bucket != self._pending_bucket:
            self._fold()
            self._pending_bucket = bucket
        provider = event.provider
        row = self._pending.get(provider)
        if row is None:
            provider, row = self._new_pending_row(provider)
        # `bucket_values`' figures added in place, each only when it is not zero (adding 0.0
        # changes no sum): a request is counted with no tuple of fourteen built and walked.
        row[REQUESTS] += 1.0
        fresh = event.input_tokens
        row[INPUT] += fresh
        row[OUTPUT] += event.output_tokens
        read = event.cache_read_tokens
        if read:
            row[READ] += read
            discount = self._discount(event.model)
            if discount is None:
                row[UNPRICED] += read
            else:
                row[SAVED] += read * discount
        written = event.cache_write_tokens
        if written:
            row[WRITE] += written
        if not event.usage_estimated:  # an estimate has no cache figures: no hit rate
            row[MEASURED] += fresh + read + written
        cost = event.cost_usd
        if cost:
            row[COST] += cost
        state = event.state
        if state == _FAILED:
            self._remember_failed(event.record_id, provider, bucket)
        if asked_provider(event):
            row[ASKED] += 1.0
            if state == _FAILED:  # `provider_failed`
                row[ERRORS] += 1.0
        elif state in _REFUSED_STATES:  # a refused request is never one a provider was asked
            row[REFUSED] += 1.0
        elif event.from_cache:
            row[CACHED] += 1.0
        elif state == _CANCELED:
            row[CANCELED] += 1.0

    def _new_pending_row(self, provider: str) -> tuple[str, list[float]]:
        """The running sums `provider` starts in this bucket (past `MAX_PROVIDERS` providers,
        the others' row): the provider it is kept under, and the row."""
        if len(self._pending) >= MAX_PROVIDERS:
            provider = OTHER_PROVIDER
        return provider, self._pending.setdefault(provider, [0.0] * FIELDS)

    def _remember_failed(self, record_id: str, provider: str, bucket: int) -> None:
        failed = self._failed
        if len(failed) >= _FAILED_KEPT:
            del failed[next(iter(failed))]
        failed[record_id] = (provider, bucket)

    def _on_failed_over(self, event: AttemptFailedOver) -> None:
        """A failed call's request went on to another attempt: counted as failed over in the
        bucket and under the provider the call was counted in, so its window's requests and
        failures lose it as they counted it. One forgotten (more calls failed meanwhile than
        are kept) stays a failed request: no bucket of it is known."""
        found = self._failed.pop(event.record_id, None)
        if found is None:
            return
        provider, bucket = found
        if bucket == self._pending_bucket:  # not folded into the rings yet
            row = self._pending.get(provider)
            if row is None:
                provider, row = self._new_pending_row(provider)
            row[FAILED_OVER] += 1.0
            return
        values = [0.0] * FIELDS
        values[FAILED_OVER] = 1.0
        self._add(provider, float(bucket * _FOLD_S), tuple(values), since_start=True)

    def _fold(self) -> None:
        """The running sums of the finest bucket into every ring and the since-start totals,
        at that bucket's start (a sum older than a window's span goes to no ring of it)."""
        if not self._pending:
            return
        at = float(self._pending_bucket * _FOLD_S)
        age = self._clock() - at
        for provider, row in self._pending.items():
            self._add(provider, at, tuple(row), since_start=True, age=age)
        self._pending = {}

    def _add(
        self,
        provider: str,
        at: float,
        values: tuple[float, ...],
        *,
        since_start: bool,
        age: float | None = None,
    ) -> None:
        """`values` into each ring whose span `age` (now less `at`, worked out when None) is
        within, and (`since_start`) the totals."""
        if age is None:
            age = self._clock() - at
        known = self._since_start if since_start else self._rings[WINDOWS[-1].key].figures
        if provider not in known and len(known) >= MAX_PROVIDERS:
            provider = OTHER_PROVIDER
        for ring in self._rings.values():
            # Past traffic older than a window's span would take a slot of a newer bucket.
            if age < ring.window.span_s:
                ring.add(at, provider, values)
        if not since_start:
            return
        total = self._since_start.get(provider)
        if total is None:
            total = self._since_start[provider] = [0.0] * FIELDS
        for offset, value in enumerate(values):
            total[offset] += value

    def _on_job(self, event: JobStateChanged) -> None:
        before = len(self._active_jobs)
        if event.state in ACTIVE_JOB_STATES:
            self._active_jobs.add(event.job_id)
        else:
            self._active_jobs.discard(event.job_id)
        after = len(self._active_jobs)
        if after == before:  # queued -> running: the level did not move
            return
        now = self._clock()
        if int(now // _FOLD_S) != self._pending_bucket:
            self._fold()  # an older bucket's requests go in before a newer bucket's level
        for ring in self._rings.values():
            ring.note_jobs(now, before, after)

    def _discount(self, model: str | None) -> float | None:
        """USD saved per cache-read token on `model`, or None when its price is unknown."""
        name = (model or "").lower().split("/")[-1]
        if self._memo_version != self._prices.version:  # a price was set since
            self._discount_memo.clear()
            self._memo_version = self._prices.version
        if name in self._discount_memo:
            return self._discount_memo[name]
        if len(self._discount_memo) >= PRICE_MEMO_MAX:
            self._discount_memo.clear()
        price = self._prices.price_of(name)
        discount = None
        if price is not None:
            discount = (price.input - price.cache_read) / 1_000_000
        self._discount_memo[name] = discount
        return discount
