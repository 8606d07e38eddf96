"""The gateway's figures: the dashboard's live charts, counted in memory from engine events
(`live`) and rebuilt at start-up from what the flight recorder kept of the last day
(`history`); and the same events counted since start for Prometheus' `/metrics`
(`prometheus`, with each recent client session's own series in `sessions`)."""

from llmgw_desktop.engine.metrics.figures import Totals
from llmgw_desktop.engine.metrics.health import (
    HEALTH_WINDOW_S,
    CallHealth,
    HealthState,
    ProviderCallHealth,
)
from llmgw_desktop.engine.metrics.history import rebuild_health, rebuild_metrics
from llmgw_desktop.engine.metrics.live import WINDOWS, LiveMetrics, MetricsSeries, MetricsWindow
from llmgw_desktop.engine.metrics.prometheus import (
    METRICS_CONTENT_TYPE,
    GaugeSources,
    ScrapeFigures,
)
from llmgw_desktop.engine.tokens.pricing import PRICES_REVISED

__all__ = [
    "HEALTH_WINDOW_S",
    "METRICS_CONTENT_TYPE",
    "PRICES_REVISED",
    "WINDOWS",
    "CallHealth",
    "GaugeSources",
    "HealthState",
    "LiveMetrics",
    "MetricsSeries",
    "MetricsWindow",
    "ProviderCallHealth",
    "ScrapeFigures",
    "Totals",
    "rebuild_health",
    "rebuild_metrics",
]
