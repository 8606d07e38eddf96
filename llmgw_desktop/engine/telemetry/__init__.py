"""OpenTelemetry export: traces and metrics over OTLP, loaded only when configured.

`base.Telemetry` is what the engine and the front doors call (a request span, child spans, an
upstream attempt, the headers that carry the trace upstream); as it is, it does nothing and
imports nothing. `start_telemetry` returns it unless `otel.enabled` is set, and only then
imports `otlp.py`, which loads the OpenTelemetry SDK and its OTLP/HTTP exporters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from llmgw_desktop.engine.telemetry.base import SpanLike, Telemetry

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import Settings
    from llmgw_desktop.engine.events import EventBus

__all__ = ["SpanLike", "Telemetry", "start_telemetry"]


def start_telemetry(settings: Settings, events: EventBus, environ: Mapping[str, str]) -> Telemetry:
    """The telemetry `settings` ask for: OTLP export when `otel.enabled`, else the no-op."""
    if not settings.otel.enabled:
        return Telemetry()
    # Imported here and only here: the SDK and its exporters cost start-up and memory.
    from llmgw_desktop.engine.telemetry.otlp import OtlpTelemetry

    return OtlpTelemetry(settings, events, environ)
