"""The dashboard's live figures: counted in memory from engine events (`live`), and rebuilt
at start-up from what the flight recorder kept of the last day (`history`)."""

from llmgw_desktop.engine.metrics.health import (
    HEALTH_WINDOW_S,
    CallHealth,
    HealthState,
    ProviderCallHealth,
)
from llmgw_desktop.engine.metrics.history import rebuild_metrics
from llmgw_desktop.engine.metrics.live import (
    PRICES_REVISED,
    WINDOWS,
    LiveMetrics,
    MetricsSeries,
    MetricsWindow,
    PastTraffic,
)

__all__ = [
    "HEALTH_WINDOW_S",
    "PRICES_REVISED",
    "WINDOWS",
    "CallHealth",
    "HealthState",
    "LiveMetrics",
    "MetricsSeries",
    "MetricsWindow",
    "PastTraffic",
    "ProviderCallHealth",
    "rebuild_metrics",
]
