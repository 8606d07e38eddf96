"""OpenTelemetry export failures said once an outage, not once a try.

With the collector absent the SDK's exporters log each failed batch and each retry ("Transient
error ... retrying", "Failed to export ... batch"): 323 lines in 10 minutes. Each exporter is
wrapped here: what it logs while it exports is held back (its words kept as the reason), and
whether the export worked is counted as an `Outage` per signal (traces, metrics). One WARNING
when exports start failing, naming the endpoint and the reason; one when they work again, with
how many failed and for how long; one at stop if they never did. Imported only with the SDK
(`otlp.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmgw_desktop.engine.outage import Outage

__all__ = ["SDK_EXPORT_LOGGERS", "ExportWatch", "WatchedMetrics", "WatchedSpans"]

log = logging.getLogger(__name__)

# Where the SDK's OTLP/HTTP exporters (and the HTTP client they share) log a failed export.
SDK_EXPORT_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
)
REASON_CHARS = 300
R = TypeVar("R")


class ExportWatch:
    """The exports of one signal to one endpoint; install `filter` on the SDK's loggers."""

    def __init__(self, signal: str, endpoint: str) -> None:
        self.signal = signal
        self.endpoint = endpoint
        self.outage = Outage()
        self._local = threading.local()  # the words the SDK logged during this thread's export

    def filter(self, record: logging.LogRecord) -> bool:
        """A logging filter: the SDK's lines during one of our exports are kept as its reason
        (the outage's lines say them), never logged themselves."""
        heard = getattr(self._local, "heard", None)
        if heard is None:
            return True  # not during our export (another exporter's, or a bug's): as it is
        heard.append(record.getMessage())
        return False

    def run(self, export: Callable[[], R], ok: Callable[[R], bool], failure: R) -> R:
        """`export()`, counted: its failure (or exception) starts or extends the outage."""
        heard: list[str] = []
        self._local.heard = heard
        try:
            result = export()
        except Exception as exc:  # the SDK would log a traceback for each; the outage says it
            heard.append(f"{type(exc).__name__}: {exc}")
            result = failure
        finally:
            self._local.heard = None
        if ok(result):
            end = self.outage.recovered()
            if end is not None:
                log.warning(
                    "OpenTelemetry export of %s to %s works again (%s)",
                    self.signal,
                    self.endpoint,
                    end.describe(),
                )
        else:
            reason = (heard[-1] if heard else "the exporter said it failed")[:REASON_CHARS]
            if self.outage.failed(reason):
                log.warning(
                    "OpenTelemetry export of %s to %s is failing (%s); what is not sent is "
                    "dropped, and this is said again when it works",
                    self.signal,
                    self.endpoint,
                    reason,
                )
        return result

    def at_stop(self) -> None:
        """Say an outage that never ended (the stop's last export failed too)."""
        end = self.outage.recovered()
        if end is not None:
            log.warning(
                "OpenTelemetry export of %s to %s still failed at stop (%s; last: %s)",
                self.signal,
                self.endpoint,
                end.describe(),
                end.last_reason,
            )


class WatchedSpans(SpanExporter):
    """A span exporter whose exports `watch` counts."""

    def __init__(self, inner: SpanExporter, watch: ExportWatch) -> None:
        self._inner = inner
        self._watch = watch

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._watch.run(
            lambda: self._inner.export(spans),
            lambda result: result is SpanExportResult.SUCCESS,
            SpanExportResult.FAILURE,
        )

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class WatchedMetrics(MetricExporter):
    """A metric exporter whose exports `watch` counts; it prefers what the one it wraps does."""

    def __init__(self, inner: MetricExporter, watch: ExportWatch) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._watch = watch

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        return self._watch.run(
            lambda: self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs),
            lambda result: result is MetricExportResult.SUCCESS,
            MetricExportResult.FAILURE,
        )

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)
