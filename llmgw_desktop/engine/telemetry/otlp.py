"""OTLP export with the official OpenTelemetry SDK: imported only when `otel.enabled` is set.

Spans:
- one SERVER span per gateway request (`chat {model}`), continuing the client's W3C
  `traceparent`, named by the request's recorder row (`llmgw.request_id`);
- one CLIENT span per upstream attempt (each key of each target: a fallback is a later attempt
  span with `llmgw.fallback` set), whose context goes upstream as `traceparent`, ended when its
  recorder row finishes with the GenAI usage, the response model, the finish reasons and the
  error code;
- a `translate` span where a request was rewritten for another dialect, an `execute_tool`
  span per MCP tool call, and a span per CLI job from queued to its end.
Attributes follow the GenAI semantic conventions (`gen_ai.*`). Prompt and answer text go on
spans only with `otel.capture_content`, redacted as the recorder redacts.

Metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, `llmgw.requests`) are
recorded from `RequestFinished` and exported every `EXPORT_EVERY_MS`.

Exports run on the SDK's own threads (a batch span processor and a periodic metric reader),
never on the loop. Where `otel.endpoint` and `otel.headers` are empty the exporters read the
standard `OTEL_EXPORTER_OTLP_*` variables themselves; the resource reads `OTEL_SERVICE_NAME` and
`OTEL_RESOURCE_ATTRIBUTES`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from llmgw_desktop import __version__
from llmgw_desktop.engine.events import EventBus, JobStateChanged, RequestFinished
from llmgw_desktop.engine.redact import redact
from llmgw_desktop.engine.telemetry.base import Attributes, SpanLike, Telemetry
from llmgw_desktop.engine.telemetry.export_watch import (
    SDK_EXPORT_LOGGERS,
    ExportWatch,
    WatchedMetrics,
    WatchedSpans,
)

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import Settings

__all__ = ["OtlpTelemetry"]

log = logging.getLogger(__name__)

SERVICE_NAME: Final = "llmgw-desktop"
EXPORT_EVERY_MS: Final = 15_000
# Spans of attempts and jobs whose end never came (a bug elsewhere) are let go past this many.
MAX_OPEN: Final = 10_000
# Prompt or answer text put on a span, at most (characters, after redaction).
MAX_CONTENT_CHARS: Final = 16_384
# How long a stop waits for the last export; exporters give up on an endpoint after this.
STOP_WAIT_S: Final = 1.0
EXPORT_TIMEOUT_S: Final = 5
_JOB_ENDINGS: Final = frozenset({"completed", "failed", "canceled", "interrupted"})


class _Span:
    """An SDK span behind the small `SpanLike` face the front doors use."""

    __slots__ = ("span",)

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def set(self, key: str, value: str | int | float | bool | None) -> None:
        if value is not None:
            self.span.set_attribute(key, value)

    def rename(self, name: str) -> None:
        self.span.update_name(name)

    def failed(self, error_type: str) -> None:
        self.span.set_attribute("error.type", error_type)
        self.span.set_status(Status(StatusCode.ERROR, error_type))


class OtlpTelemetry(Telemetry):
    """Traces and metrics exported over OTLP/HTTP (protobuf)."""

    enabled = True

    def __init__(self, settings: Settings, events: EventBus, environ: Mapping[str, str]) -> None:
        base = settings.otel.endpoint.rstrip("/")
        headers = dict(settings.otel.headers) or None
        attributes: dict[str, str] = {"service.version": __version__}
        named = "OTEL_SERVICE_NAME" in environ or "service.name=" in environ.get(
            "OTEL_RESOURCE_ATTRIBUTES", ""
        )
        if not named:
            attributes["service.name"] = SERVICE_NAME
        attributes.update(settings.otel.resource_attributes)
        resource = Resource.create(attributes)
        ratio = settings.otel.sample_percent / 100
        self._provider = TracerProvider(
            resource=resource,
            sampler=ParentBased(TraceIdRatioBased(ratio)),
            shutdown_on_exit=False,  # `close()` does it, within the stop's time
        )
        # Failed exports said once an outage, not once a try (`export_watch.py`).
        where = base or "the OTEL_EXPORTER_OTLP_* endpoint (or localhost:4318)"
        self._watches = (ExportWatch("traces", where), ExportWatch("metrics", where))
        for watch in self._watches:
            for name in SDK_EXPORT_LOGGERS:
                logging.getLogger(name).addFilter(watch.filter)
        self._provider.add_span_processor(
            BatchSpanProcessor(
                WatchedSpans(
                    OTLPSpanExporter(
                        endpoint=f"{base}/v1/traces" if base else None,
                        headers=headers,
                        timeout=EXPORT_TIMEOUT_S,
                    ),
                    self._watches[0],
                )
            )
        )
        self._tracer = self._provider.get_tracer("llmgw_desktop", __version__)
        self._meters = MeterProvider(
            resource=resource,
            shutdown_on_exit=False,
            metric_readers=[
                PeriodicExportingMetricReader(
                    WatchedMetrics(
                        OTLPMetricExporter(
                            endpoint=f"{base}/v1/metrics" if base else None,
                            headers=headers,
                            timeout=EXPORT_TIMEOUT_S,
                        ),
                        self._watches[1],
                    ),
                    export_interval_millis=EXPORT_EVERY_MS,
                )
            ],
        )
        meter = self._meters.get_meter("llmgw_desktop", __version__)
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens per request."
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="Request duration."
        )
        self._requests = meter.create_counter(
            "llmgw.requests", unit="{request}", description="Recorded requests, by state."
        )
        self._propagator = TraceContextTextMapPropagator()
        self._capture = settings.otel.capture_content
        # Recorder row -> (its attempt span, the request span it belongs to).
        self._attempts: dict[str, tuple[trace.Span, trace.Span | None]] = {}
        self._jobs: dict[str, trace.Span] = {}
        self._unsubscribe = [
            events.subscribe(RequestFinished, self._on_request),
            events.subscribe(JobStateChanged, self._on_job),
        ]
        log.info("OpenTelemetry export on (%s)", base or "OTEL_EXPORTER_OTLP_* or localhost:4318")

    # -- spans the front doors open ------------------------------------------------------

    def request_span(
        self, name: str, carrier: Mapping[str, str], attributes: Attributes
    ) -> AbstractContextManager[SpanLike]:
        parent = self._propagator.extract(_lower(carrier))
        return self._current(name, SpanKind.SERVER, attributes, parent)

    def span(self, name: str, attributes: Attributes) -> AbstractContextManager[SpanLike]:
        return self._current(name, SpanKind.INTERNAL, attributes, None)

    @contextmanager
    def _current(
        self,
        name: str,
        kind: SpanKind,
        attributes: Attributes,
        parent: otel_context.Context | None,
    ) -> Iterator[SpanLike]:
        span = self._tracer.start_span(name, context=parent, kind=kind, attributes=attributes)
        with trace.use_span(span, end_on_exit=True, record_exception=False):
            yield _Span(span)

    # -- upstream attempts ---------------------------------------------------------------

    def attempt(self, record_id: str, name: str, attributes: Attributes) -> None:
        if len(self._attempts) >= MAX_OPEN:
            self._attempts.clear()
        parent = trace.get_current_span()
        span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        span.set_attribute("llmgw.request_id", record_id)
        owner = parent if parent.get_span_context().is_valid else None
        self._attempts[record_id] = (span, owner)

    def upstream_headers(
        self, record_id: str, headers: Mapping[str, str] | None
    ) -> Mapping[str, str] | None:
        found = self._attempts.get(record_id)
        if found is None:
            return headers
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=trace.set_span_in_context(found[0]))
        return {**(headers or {}), **carrier}

    def answered(self, record_id: str, finish_reasons: Iterator[str] | list[str]) -> None:
        found = self._attempts.get(record_id)
        reasons = [r for r in finish_reasons if r]
        if found is None or not reasons:
            return
        for span in found:
            if span is not None:
                span.set_attribute("gen_ai.response.finish_reasons", reasons)

    def capture(self, span: SpanLike, key: str, text: bytes | str) -> None:
        if self._capture and text:
            if isinstance(text, bytes):
                text = text.decode(errors="replace")
            span.set(key, redact(text)[:MAX_CONTENT_CHARS])

    def trace_id(self) -> str | None:
        context = trace.get_current_span().get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None

    # -- ends, from engine events --------------------------------------------------------

    def _on_request(self, event: RequestFinished) -> None:
        usage = {
            "gen_ai.usage.input_tokens": event.input_tokens
            + event.cache_read_tokens
            + event.cache_write_tokens,
            "gen_ai.usage.output_tokens": event.output_tokens,
            "gen_ai.usage.cache_read.input_tokens": event.cache_read_tokens,
            "gen_ai.usage.cache_creation.input_tokens": event.cache_write_tokens,
        }
        found = self._attempts.pop(event.record_id, None)
        if found is not None:
            span, request = found
            for key, value in usage.items():
                span.set_attribute(key, value)
            if event.model:
                span.set_attribute("gen_ai.response.model", event.model)
            span.set_attribute("llmgw.state", event.state)
            if event.error_code:
                span.set_attribute("error.type", event.error_code)
                span.set_status(Status(StatusCode.ERROR, event.error_code))
            if request is not None and event.state == "completed" and request.is_recording():
                # The request's answer: its usage and model on the request span too.
                for key, value in usage.items():
                    request.set_attribute(key, value)
                if event.model:
                    request.set_attribute("gen_ai.response.model", event.model)
            span.end()
        self._record_metrics(event)

    def _record_metrics(self, event: RequestFinished) -> None:
        labels: dict[str, str] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": event.provider,
            "llmgw.state": event.state,
        }
        if event.model:
            labels["gen_ai.response.model"] = event.model
        if event.caller:
            labels["llmgw.agent"] = event.caller
        if event.project:
            labels["llmgw.project"] = event.project
        if event.error_code:
            labels["error.type"] = event.error_code
        self._requests.add(1, labels)
        self._duration.record(max(0.0, event.finished_at - event.started_at), labels)
        fresh = event.input_tokens + event.cache_read_tokens + event.cache_write_tokens
        if fresh:
            self._tokens.record(fresh, {**labels, "gen_ai.token.type": "input"})
        if event.output_tokens:
            self._tokens.record(event.output_tokens, {**labels, "gen_ai.token.type": "output"})

    def _on_job(self, event: JobStateChanged) -> None:
        span = self._jobs.get(event.job_id)
        if span is None and event.state not in _JOB_ENDINGS:
            if len(self._jobs) >= MAX_OPEN:
                self._jobs.clear()
            # Published where the job was submitted: the MCP tool call's span is current.
            self._jobs[event.job_id] = self._tracer.start_span(
                f"cli_job {event.provider}",
                kind=SpanKind.INTERNAL,
                attributes={
                    "gen_ai.provider.name": event.provider,
                    "gen_ai.system": event.provider,
                    "llmgw.job_id": event.job_id,
                },
            )
            return
        if span is not None and event.state in _JOB_ENDINGS:
            del self._jobs[event.job_id]
            span.set_attribute("llmgw.state", event.state)
            if event.state == "failed":
                span.set_status(Status(StatusCode.ERROR, "failed"))
            span.end()

    # -- export --------------------------------------------------------------------------

    async def flush(self) -> None:
        await asyncio.to_thread(self._flush)

    def _flush(self) -> None:
        self._provider.force_flush()
        self._meters.force_flush()

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for span, _ in self._attempts.values():
            span.end()
        for span in self._jobs.values():
            span.end()
        self._attempts.clear()
        self._jobs.clear()
        # The last export may wait on an endpoint that does not answer: on a daemon thread of
        # its own, waited for a bounded time, so a stop stays within about a second.
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def shutdown() -> None:
            try:
                self._provider.shutdown()
                self._meters.shutdown()
            except Exception:  # an exporter that cannot reach its endpoint: said, never fatal
                log.warning("OpenTelemetry export did not shut down cleanly", exc_info=True)
            finally:
                self._unwatch()
                with contextlib.suppress(RuntimeError):  # the loop has gone: nobody waits
                    loop.call_soon_threadsafe(done.set)

        threading.Thread(target=shutdown, name="otel-shutdown", daemon=True).start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), STOP_WAIT_S)

    def _unwatch(self) -> None:
        """After the last export (on the shutdown's thread, however long it took): say an
        outage still open, and let the SDK's loggers be."""
        for watch in self._watches:
            watch.at_stop()
            for name in SDK_EXPORT_LOGGERS:
                logging.getLogger(name).removeFilter(watch.filter)


def _lower(carrier: Mapping[str, str]) -> dict[str, str]:
    """The trace headers of `carrier`, names lower-cased as the propagator looks them up."""
    return {k.lower(): v for k, v in carrier.items() if k.lower() in ("traceparent", "tracestate")}
