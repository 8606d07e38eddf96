"""The gateway's settings (`[gateway]` in config.toml): providers, routes, aliases, limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop import settings_fields as checks
from llmgw_desktop.engine.gateway.config import check_provider_tables, check_route_tables
from llmgw_desktop.settings_fields import setting

__all__ = ["GatewaySettings"]


@dataclass(frozen=True)
class GatewaySettings:
    """Part of `Settings`: everything under `[gateway]`."""

    gateway_providers: dict[str, Any] = setting(
        "gateway.providers",
        {},
        env="LLM_GATEWAY_PROVIDERS",
        doc="API providers: overrides of the built-ins and OpenAI-compatible servers (a JSON "
        "object in the env).",
        check=check_provider_tables,
    )
    gateway_aliases: dict[str, str] = setting(
        "gateway.aliases",
        {},
        env="LLM_GATEWAY_ALIASES",
        doc="Model aliases: name = model id (such as sonnet = claude-sonnet-4-6).",
        check=checks.aliases,
    )
    gateway_routes: dict[str, Any] = setting(
        "gateway.routes",
        {},
        env="LLM_GATEWAY_ROUTES",
        doc="Per-model routing: strategy, fallback chain and caller pins (a JSON object in env).",
        check=check_route_tables,
    )
    gateway_fallback: list[str] = setting(
        "gateway.fallback",
        [],
        env="LLM_GATEWAY_FALLBACK",
        doc="Models tried, in order, after a request's own route is exhausted.",
    )
    gateway_default_model: str = setting(
        "gateway.default_model",
        "",
        env="LLM_GATEWAY_DEFAULT_MODEL",
        doc="Model used when a request names none (/v1/generate); empty: the first available.",
    )
    gateway_small_request_model: str = setting(
        "gateway.small_request_model",
        "",
        env="LLM_GATEWAY_SMALL_REQUEST_MODEL",
        doc="Cheaper model for small requests without tools or images (empty: off).",
    )
    gateway_small_request_max_tokens: int = setting(
        "gateway.small_request_max_tokens",
        256,
        env="LLM_GATEWAY_SMALL_REQUEST_MAX_TOKENS",
        doc="Estimated input tokens at or under which a request counts as small.",
        check=checks.positive,
    )
    gateway_detect_local: bool = setting(
        "gateway.detect_local",
        True,
        env="LLM_GATEWAY_DETECT_LOCAL",
        doc="Look for local model servers (Ollama, LM Studio, ...) on their default ports.",
    )
    gateway_connect_timeout_ms: int = setting(
        "gateway.connect_timeout_ms",
        10_000,
        env="LLM_GATEWAY_CONNECT_TIMEOUT_MS",
        doc="How long connecting to an upstream API may take before the next route is tried.",
        check=checks.positive,
    )
    gateway_upstream_timeout_ms: int = setting(
        "gateway.upstream_timeout_ms",
        600_000,
        env="LLM_GATEWAY_UPSTREAM_TIMEOUT_MS",
        doc="Longest an upstream API may take to answer (and between stream chunks).",
        check=checks.positive,
    )
