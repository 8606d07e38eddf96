"""What the gateway tells monitoring tools: `/metrics` for Prometheus (`[metrics]`), OTLP for
OpenTelemetry (`[otel]`); and its own log file (`[log]`).

`/metrics` counts from engine events in plain dicts and loads `prometheus_client` at the first
scrape; OTLP export loads the OpenTelemetry SDK only when `otel.enabled` is set, so neither
costs start-up or idle memory while unused. Where an OTLP setting is empty, the SDK's standard
`OTEL_EXPORTER_OTLP_*`, `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` variables apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.settings_fields import setting

__all__ = ["LogSettings", "MetricsSettings", "OtelSettings"]


def _percent(value: int) -> str | None:
    return None if 0 <= value <= 100 else f"{value} must be 0 to 100 (a percentage)"


def _endpoint(value: str) -> str | None:
    if value and not value.startswith(("http://", "https://")):
        return f"{value!r} must be an http:// or https:// URL (OTLP/HTTP, e.g. http://host:4318)"
    return None


@dataclass(frozen=True)
class MetricsSettings:
    """Prometheus metrics on /metrics (`[metrics]`)."""

    enabled: bool = setting(
        True,
        env="LLM_GATEWAY_METRICS",
        doc="Serve /metrics in the Prometheus text format (to the operator, or with "
        "metrics.scrape_token); off: the route answers 404 and nothing is counted for it.",
    )
    scrape_token: str = setting(
        "",
        env="LLM_GATEWAY_METRICS_SCRAPE_TOKEN",
        doc="A bearer token that lets a scraper (Prometheus under its own account) read "
        "/metrics and nothing else (at least 32 characters).",
        check=checks.auth_token,
        secret=True,
    )
    max_label_values: int = setting(
        100,
        env="LLM_GATEWAY_METRICS_MAX_LABEL_VALUES",
        doc="Distinct values each metric label (model, agent, project ...) keeps; later ones "
        "are counted under `_other`.",
        check=checks.positive,
    )
    max_label_values_per_principal: int = setting(
        10,
        env="LLM_GATEWAY_METRICS_MAX_LABEL_VALUES_PER_PRINCIPAL",
        doc="Distinct model, agent and project values one principal other than the operator "
        "may add to each label (all of them together at most half of "
        "metrics.max_label_values); later ones are counted under `_other`, so the operator's "
        "own keep their names.",
        check=checks.positive,
    )
    max_series: int = setting(
        2000,
        env="LLM_GATEWAY_METRICS_MAX_SERIES",
        doc="Label combinations each metric keeps; later ones are counted in one series whose "
        "labels all read `_overflow`.",
        check=checks.positive,
    )


@dataclass(frozen=True)
class OtelSettings:
    """OpenTelemetry export over OTLP/HTTP (`[otel]`)."""

    enabled: bool = setting(
        False,
        env="LLM_GATEWAY_OTEL_ENABLED",
        doc="Export traces and metrics over OTLP/HTTP (the OpenTelemetry SDK is loaded only then).",
    )
    endpoint: str = setting(
        "",
        env="LLM_GATEWAY_OTEL_ENDPOINT",
        doc="The OTLP/HTTP base URL (http://collector:4318; /v1/traces and /v1/metrics are "
        "added); empty: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318.",
        check=_endpoint,
    )
    headers: dict[str, str] = setting(
        {},
        env="LLM_GATEWAY_OTEL_HEADERS",
        doc="Headers sent with every export (an API key for a hosted backend); empty: "
        "OTEL_EXPORTER_OTLP_HEADERS.",
        secret=True,
    )
    sample_percent: int = setting(
        100,
        env="LLM_GATEWAY_OTEL_SAMPLE_PERCENT",
        doc="Share of new traces kept, 0 to 100; a client's sampled `traceparent` is followed.",
        check=_percent,
    )
    resource_attributes: dict[str, str] = setting(
        {},
        env="LLM_GATEWAY_OTEL_RESOURCE_ATTRIBUTES",
        doc="Resource attributes added to OTEL_RESOURCE_ATTRIBUTES (deployment.environment = "
        '"prod" ...); service.name defaults to llmgw-desktop.',
    )
    capture_content: bool = setting(
        False,
        env="LLM_GATEWAY_OTEL_CAPTURE_CONTENT",
        doc="Put prompt and answer text on spans, redacted as the recorder redacts (off: "
        "never exported).",
    )


@dataclass(frozen=True)
class LogSettings:
    """The rotating log file (`[log]`)."""

    level: str = setting(
        "INFO",
        env="LLM_GATEWAY_LOG_LEVEL",
        doc="Lowest level written to the log file: DEBUG, INFO, WARNING or ERROR.",
        check=checks.log_level,
    )
    max_bytes: int = setting(
        5 * 1024 * 1024,
        env="LLM_GATEWAY_LOG_MAX_BYTES",
        doc="Size at which the log file rotates.",
        check=checks.positive,
    )
    backups: int = setting(
        5,
        env="LLM_GATEWAY_LOG_BACKUPS",
        doc="How many rotated log files are kept.",
        check=checks.not_negative,
    )
