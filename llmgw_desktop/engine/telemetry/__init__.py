"""OpenTelemetry export: traces and metrics over OTLP, loaded only when configured.

`base.Telemetry` is what the engine and the front doors call (a request span, child spans, an
upstream attempt, the headers that carry the trace upstream); as it is, it does nothing and
imports nothing. `start_telemetry` returns it unless `otel.enabled` is set, and only then
imports `otlp.py`, which loads the OpenTelemetry SDK and its OTLP/HTTP exporters.
"""

from llmgw_desktop.engine.telemetry.base import NO_SPAN, SpanLike, Telemetry, start_telemetry

__all__ = ["NO_SPAN", "SpanLike", "Telemetry", "start_telemetry"]
