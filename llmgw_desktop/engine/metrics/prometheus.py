"""`/metrics`: what the gateway has served since it started, in the Prometheus text format.

`ScrapeFigures` counts from the same engine events as the dashboard's `LiveMetrics`
(`RequestFinished`, `JobStateChanged`) into plain dicts: a few dict updates and one `bisect`
per finished request, on the loop. The exposition is the official `prometheus_client`'s: it is
imported at the first scrape (about 1.5 MB and 60 ms; a gateway nobody scrapes never pays it) and
turns a snapshot of the dicts into metric families through a custom collector, so no text
format is written by hand. Gauges that are states rather than counts (active jobs, the
recorder's backlog and spill, store health, circuit breakers, refusals at the edge) are read
from their owners at scrape time through the callables the composition root hands in.

Labels are bounded, whatever callers send as model, agent (`X-Caller`) or project names: each
label keeps `max_label_values` distinct values (later ones read `_other`), and each metric
keeps `max_series` label combinations (later ones are counted in one series whose labels all
read `_overflow`). `llmgw_metric_overflow_total` says how often either happened. The values
callers choose (model, agent, project) are also bounded per principal: one that is not the
operator (the local user, the static bearer) adds at most `max_label_values_per_principal`
of each, and all of those together at most half of `max_label_values`, so a key holder sending
100 made-up agent names cannot push the operator's own agents into `_other`. The sessions a
client named (Claude Code's, Codex's) are families of their own, for the most recent ones
(`sessions.py`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from llmgw_desktop.config.principals import OPERATORS
from llmgw_desktop.engine.events import EventBus, JobStateChanged, RequestFinished, SecretsFound
from llmgw_desktop.engine.metrics.sessions import SessionFigures
from llmgw_desktop.engine.states import RecordState

__all__ = [
    "LABELS",
    "METRICS_CONTENT_TYPE",
    "OTHER",
    "OVERFLOW",
    "GaugeSources",
    "ScrapeFigures",
    "dialect_of",
]

# What the series of a request are labelled with (`agent` is the recorder's caller).
LABELS: Final = ("provider", "model", "dialect", "agent", "project", "process")
OTHER: Final = "_other"
OVERFLOW: Final = "_overflow"
METRICS_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
# Seconds. Whole answers of large models take minutes; first tokens come within seconds.
DURATION_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
TOKEN_TYPES: Final = ("input", "output", "cache_read", "cache_write")
# Name combinations whose labels `ScrapeFigures` remembers before it starts over.
_BASES_MAX: Final = 4096
_JOB_ENDINGS: Final = frozenset({"completed", "failed", "canceled", "interrupted"})
# Row states that mean the request was refused before or instead of running.
_REFUSED: Final = frozenset({RecordState.REFUSED.value, RecordState.DENIED.value})
_DIALECTS: Final = {
    "/v1/chat/completions": "openai-chat",
    "/v1/responses": "openai-responses",
    "/v1/messages": "anthropic",
    "/v1/generate": "native",
}


def dialect_of(transport: str, endpoint: str) -> str:
    """The wire dialect (or front door) a recorded request came through."""
    dialect = _DIALECTS.get(endpoint)
    if dialect is not None:
        return dialect
    door, colon, _ = endpoint.partition(":")
    if colon and door in ("gemini", "bedrock", "vertex"):
        return door
    if transport.startswith("mcp"):
        return "mcp"
    return transport or "engine"


@dataclass(frozen=True)
class GaugeSources:
    """Where scrape-time states come from (the composition root fills it in)."""

    active_jobs: Callable[[], int]
    recorder: Callable[[], Mapping[str, Any]]  # FlightRecorder.status()
    store_problem: Callable[[], str | None]
    breakers: Callable[[], Mapping[str, Mapping[str, Any]]]  # ProviderCalls.breaker_states()
    edge_refusals: Callable[[], Mapping[str, int]]  # "status code" -> count since start


class _Labels:
    """Bounds the values of each label (and each principal's share of those callers choose)
    and the combinations of each metric."""

    def __init__(self, max_values: int, max_series: int, per_principal: int) -> None:
        self._max_values = max_values
        self._max_series = max_series
        self._per_principal = per_principal
        # What principals other than the operator may fill of a label, all together.
        self._others_max = max(1, max_values // 2)
        self._seen: list[set[str]] = [set() for _ in LABELS]
        # Values other principals added, per label, and how many each one added.
        self._by_others: list[int] = [0 for _ in LABELS]
        self._added: dict[tuple[int, str], int] = {}
        self.overflowed = 0

    def value(self, position: int, value: str, principal: str | None = None) -> str:
        """`value` of the label at `position`, or `_other` past its caps (`principal`: whose
        request chose it; None for a value the gateway chose)."""
        seen = self._seen[position]
        if value in seen:
            return value
        if len(seen) >= self._max_values:
            self.overflowed += 1
            return OTHER
        # The operator's own values are bounded by `max_label_values` alone.
        if principal is not None and principal not in OPERATORS:
            added = self._added.get((position, principal), 0)
            if added >= self._per_principal or self._by_others[position] >= self._others_max:
                self.overflowed += 1
                return OTHER
            self._added[(position, principal)] = added + 1
            self._by_others[position] += 1
        seen.add(value)
        return value

    def key(self, table: Mapping[tuple[str, ...], Any], key: tuple[str, ...]) -> tuple[str, ...]:
        if key in table or len(table) < self._max_series:
            return key
        self.overflowed += 1
        return (OVERFLOW,) * len(key)


class _Histogram:
    __slots__ = ("buckets", "count", "sum")

    def __init__(self, size: int) -> None:
        self.buckets = [0] * size  # per bound, not cumulative; the +Inf ones are count - sum
        self.count = 0
        self.sum = 0.0


class ScrapeFigures:
    """Counters since start, labelled and bounded, rendered by `prometheus_client` on demand."""

    def __init__(
        self,
        events: EventBus,
        gauges: GaugeSources,
        *,
        process: str,
        max_label_values: int = 100,
        max_series: int = 2000,
        max_label_values_per_principal: int = 10,
    ) -> None:
        """`process` labels every series: this gateway process's id on a shared store (each
        process of a team exposes its own), else `main`."""
        self._gauges = gauges
        self._process = process
        self._labels = _Labels(max_label_values, max_series, max_label_values_per_principal)
        self.requests: dict[tuple[str, ...], int] = {}  # LABELS + state
        self.errors: dict[tuple[str, ...], int] = {}  # LABELS + code
        self.refusals: dict[tuple[str, ...], int] = {}  # LABELS + reason
        self.tokens: dict[tuple[str, ...], int] = {}  # LABELS + type
        self.cost: dict[tuple[str, ...], float] = {}  # LABELS
        self.duration: dict[tuple[str, ...], _Histogram] = {}
        self.ttft: dict[tuple[str, ...], _Histogram] = {}
        self.jobs: dict[tuple[str, ...], int] = {}  # provider, outcome, process
        # What the outbound guard found: provider, key (the caller's principal), kind, action.
        self.secrets: dict[tuple[str, ...], int] = {}
        self._secret_keys: set[str] = set()
        self._max_keys = max_label_values
        # Each recent client session's own series (`sessions.py`), bounded as labels are.
        self.sessions = SessionFigures(
            max_sessions=max_label_values, per_principal=max_label_values_per_principal
        )
        self._registry: Any = None
        # The base labels of the names requests came with (`_base_of`), bounded.
        self._bases: dict[tuple[str | None, ...], tuple[str, ...]] = {}
        self._unsubscribe = [
            events.subscribe(RequestFinished, self._on_request, after=True),
            events.subscribe(JobStateChanged, self._on_job),
            events.subscribe(SecretsFound, self._on_secrets, after=True),
        ]

    def close(self) -> None:
        """Stop counting (what was counted stays readable)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # -- counting, on the loop for every finished request --------------------------------

    def _on_request(self, event: RequestFinished) -> None:
        named = (
            event.provider,
            event.model,
            event.transport,
            event.endpoint,
            event.caller,
            event.project,
        )
        base = self._bases.get(named)
        if base is None:
            base = self._base_of(event, named)
        # A series that exists (most requests) is added to here, with no call and no cap to
        # ask; a new one goes through `_add`.
        state = event.state
        key = (*base, state)
        try:
            self.requests[key] += 1
        except KeyError:
            self._add(self.requests, key, 1)
        if state in _REFUSED:
            self._add(self.refusals, (*base, event.error_code or state), 1)
        elif event.error_code:
            self._add(self.errors, (*base, event.error_code), 1)
        # TOKEN_TYPES, each only when counted (a series of zeros is never made).
        tokens = self.tokens
        if count := event.input_tokens:
            key = (*base, "input")
            try:
                tokens[key] += count
            except KeyError:
                self._add(tokens, key, count)
        if count := event.output_tokens:
            key = (*base, "output")
            try:
                tokens[key] += count
            except KeyError:
                self._add(tokens, key, count)
        if event.cache_read_tokens:
            self._add(tokens, (*base, "cache_read"), event.cache_read_tokens)
        if event.cache_write_tokens:
            self._add(tokens, (*base, "cache_write"), event.cache_write_tokens)
        if cost := event.cost_usd:
            try:
                self.cost[base] += cost
            except KeyError:
                self._add(self.cost, base, cost)
        self._observe(self.duration, base, DURATION_BUCKETS, event.finished_at - event.started_at)
        if event.first_token_s is not None:
            self._observe(self.ttft, base, TTFT_BUCKETS, event.first_token_s)
        if event.client_session:
            self.sessions.count(event)

    def _base_of(self, event: RequestFinished, named: tuple[str | None, ...]) -> tuple[str, ...]:
        """The labels `event`'s series share. Remembered for the names of `named` when each
        label kept its value: a value a label has taken it keeps for good (its caps only
        count new values), so a later request of the same names gets the same labels without
        asking the caps; one folded into `_other` is asked every time (it counts as overflow)."""
        label = self._labels.value
        who = event.principal
        base = (
            label(0, event.provider),
            label(1, event.model or "", who),
            label(2, dialect_of(event.transport, event.endpoint)),
            label(3, event.caller, who),
            label(4, event.project or "", who),
            self._process,
        )
        if OTHER not in base[:5]:
            if len(self._bases) >= _BASES_MAX:
                self._bases.clear()
            self._bases[named] = base
        return base

    def _on_job(self, event: JobStateChanged) -> None:
        if event.state in _JOB_ENDINGS:
            provider = self._labels.value(0, event.provider)
            self._add(self.jobs, (provider, event.state, self._process), 1)

    def _on_secrets(self, event: SecretsFound) -> None:
        provider = self._labels.value(0, event.provider)
        key = event.principal
        if key not in self._secret_keys:  # principals are authenticated, but OAuth clients can
            if len(self._secret_keys) >= self._max_keys:  # register themselves: bounded too
                key = OTHER
            else:
                self._secret_keys.add(key)
        for kind, count in event.kinds:
            self._add(self.secrets, (provider, key, kind, event.action, self._process), count)

    def _add(self, table: dict[tuple[str, ...], Any], key: tuple[str, ...], n: float) -> None:
        if key in table:  # a series that exists (most requests): no cap to ask
            table[key] += n
            return
        key = self._labels.key(table, key)
        table[key] = table.get(key, 0) + n

    def _observe(
        self,
        table: dict[tuple[str, ...], _Histogram],
        key: tuple[str, ...],
        bounds: tuple[float, ...],
        value: float,
    ) -> None:
        histogram = table.get(key)
        if histogram is None:
            key = self._labels.key(table, key)
            histogram = table.get(key)
            if histogram is None:
                histogram = table[key] = _Histogram(len(bounds))
        index = bisect.bisect_left(bounds, value)
        if index < len(bounds):
            histogram.buckets[index] += 1
        histogram.count += 1
        histogram.sum += value

    # -- the scrape ----------------------------------------------------------------------

    def render(self) -> bytes:
        """The exposition of everything counted and every gauge now (loads `prometheus_client`
        on the first call)."""
        if self._registry is None:
            from prometheus_client import CollectorRegistry

            self._registry = CollectorRegistry(auto_describe=False)
            self._registry.register(_Collector(self))
        from prometheus_client import generate_latest

        return bytes(generate_latest(self._registry))

    def families(self) -> Iterator[Any]:
        """The metric families of a scrape (prometheus_client's types): what was counted from
        the events, then what the gauges read now."""
        yield from self._request_families()
        yield from self.sessions.families(self._process)
        yield from self._duration_families()
        yield from self._guard_and_job_families()
        yield from self._process_families()
        yield from self._circuit_families()
        yield self._edge_family()
        yield self._overflow_family()

    def _request_families(self) -> Iterator[Any]:
        """The finished requests counted by how they ended, their errors, refusals, tokens and
        cost."""
        from prometheus_client.core import CounterMetricFamily

        labels = list(LABELS)
        yield _counter(
            CounterMetricFamily,
            "llmgw_requests",
            "Requests recorded (one per upstream attempt or CLI call), by how they ended.",
            [*labels, "state"],
            self.requests,
        )
        yield _counter(
            CounterMetricFamily,
            "llmgw_request_errors",
            "Requests that failed, by error code.",
            [*labels, "code"],
            self.errors,
        )
        yield _counter(
            CounterMetricFamily,
            "llmgw_request_refusals",
            "Requests refused before or instead of running (budget, approval, no route ...).",
            [*labels, "reason"],
            self.refusals,
        )
        yield _counter(
            CounterMetricFamily,
            "llmgw_tokens",
            "Tokens of finished requests, by type (input, output, cache_read, cache_write).",
            [*labels, "type"],
            self.tokens,
        )
        yield _counter(
            CounterMetricFamily,
            "llmgw_cost_usd",
            "Estimated cost of finished requests in US dollars (priced models only).",
            labels,
            self.cost,
        )

    def _duration_families(self) -> Iterator[Any]:
        """The requests' durations and times to first token, as cumulative histograms."""
        from prometheus_client.core import HistogramMetricFamily

        for name, doc, table, bounds in (
            (
                "llmgw_request_duration_seconds",
                "Time from a request's start to its end.",
                self.duration,
                DURATION_BUCKETS,
            ),
            (
                "llmgw_time_to_first_token_seconds",
                "Time from a streamed request's start to its first piece of answer.",
                self.ttft,
                TTFT_BUCKETS,
            ),
        ):
            family = HistogramMetricFamily(name, doc, labels=list(LABELS))
            for key, histogram in list(table.items()):
                cumulative, running = [], 0
                for bound, n in zip(bounds, histogram.buckets, strict=True):
                    running += n
                    cumulative.append((repr(bound), running))
                cumulative.append(("+Inf", histogram.count))
                family.add_metric(list(key), cumulative, histogram.sum)
            yield family

    def _guard_and_job_families(self) -> Iterator[Any]:
        """The secrets the outbound guard found, and the CLI jobs that ended."""
        from prometheus_client.core import CounterMetricFamily

        yield _counter(
            CounterMetricFamily,
            "llmgw_guard_secrets",
            "Secrets the outbound guard found in requests before they left, by provider, key "
            "(the caller's principal), kind and what it did (warned, redacted, blocked, sent).",
            ["provider", "key", "kind", "action", "process"],
            self.secrets,
        )
        yield _counter(
            CounterMetricFamily,
            "llmgw_jobs_finished",
            "CLI jobs that ended, by outcome.",
            ["provider", "outcome", "process"],
            self.jobs,
        )

    def _process_families(self) -> Iterator[Any]:
        """This process's state now: its jobs, its recorder's rows and its store's health."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        process = [self._process]
        gauges = self._gauges
        active = GaugeMetricFamily(
            "llmgw_active_jobs", "CLI jobs queued or running now.", labels=["process"]
        )
        active.add_metric(process, gauges.active_jobs())
        yield active
        recorder = gauges.recorder()
        for name, doc, field in (
            ("llmgw_recorder_pending_rows", "Recorder rows waiting to be written.", "pending"),
            ("llmgw_recorder_spilled_rows", "Recorder rows in the spill file.", "spilled"),
        ):
            gauge = GaugeMetricFamily(name, doc, labels=["process"])
            gauge.add_metric(process, float(recorder.get(field) or 0))
            yield gauge
        dropped = CounterMetricFamily(
            "llmgw_recorder_dropped_rows",
            "Recorder rows lost (neither the store nor the spill file took them).",
            labels=["process"],
        )
        dropped.add_metric(process, float(recorder.get("dropped") or 0))
        yield dropped
        store = GaugeMetricFamily(
            "llmgw_store_healthy",
            "1 while the store takes writes, 0 when degraded.",
            labels=["process"],
        )
        store.add_metric(process, 0.0 if gauges.store_problem() else 1.0)
        yield store

    def _circuit_families(self) -> Iterator[Any]:
        """Each provider's circuit breaker now: its state and the failures it counted."""
        from prometheus_client.core import GaugeMetricFamily

        circuit = GaugeMetricFamily(
            "llmgw_circuit_state",
            "Each provider's circuit breaker: 1 on its current state (closed, open, half_open).",
            labels=["provider", "state", "process"],
        )
        failures = GaugeMetricFamily(
            "llmgw_circuit_consecutive_failures",
            "Consecutive failures each provider's breaker has counted.",
            labels=["provider", "process"],
        )
        for provider, breaker in sorted(self._gauges.breakers().items()):
            current = str(breaker.get("state", ""))
            for state in ("closed", "open", "half_open"):
                circuit.add_metric([provider, state, self._process], float(state == current))
            failures.add_metric(
                [provider, self._process], float(breaker.get("consecutiveFailures") or 0)
            )
        yield circuit
        yield failures

    def _edge_family(self) -> Any:
        """The requests the HTTP edge refused, by status and reason."""
        from prometheus_client.core import CounterMetricFamily

        edge = CounterMetricFamily(
            "llmgw_edge_refusals",
            "Requests the HTTP edge refused before any route ran (auth, rate limits, bodies).",
            labels=["status", "reason", "process"],
        )
        for status_code, n in sorted(self._gauges.edge_refusals().items()):
            status, _, reason = status_code.partition(" ")
            edge.add_metric([status, reason, self._process], float(n))
        return edge

    def _overflow_family(self) -> Any:
        """What the label caps folded away (`_other`, `_overflow`)."""
        from prometheus_client.core import CounterMetricFamily

        overflow = CounterMetricFamily(
            "llmgw_metric_overflow",
            "Label values or combinations folded into _other or _overflow by the caps, and "
            "client sessions dropped to keep within them.",
            labels=["process"],
        )
        overflow.add_metric([self._process], float(self._labels.overflowed + self.sessions.dropped))
        return overflow


class _Collector:
    """A prometheus_client collector reading `ScrapeFigures` at each scrape."""

    def __init__(self, figures: ScrapeFigures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Any]:
        return self._figures.families()


def _counter(
    family_type: Any,
    name: str,
    doc: str,
    labels: list[str],
    table: Mapping[tuple[str, ...], float],
) -> Any:
    family = family_type(name, doc, labels=labels)
    for key, value in list(table.items()):
        family.add_metric(list(key), float(value))
    return family
