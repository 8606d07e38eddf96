"""The gateway's settings (`[gateway]` in config.toml): providers, routes, aliases, limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.ca_bundle import check_ca_bundle
from llmgw_desktop.config.gateway_tables import (
    DEFAULT_MAX_EVENT_BYTES,
    check_passthrough_tables,
    check_provider_tables,
    check_route_tables,
)
from llmgw_desktop.config.prices import check_price_tables
from llmgw_desktop.config.settings_fields import setting

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
    gateway_prices: dict[str, Any] = setting(
        "gateway.prices",
        {},
        env="LLM_GATEWAY_PRICES",
        doc="Your own prices, over the bundled table: model prefix = {input, output, cache_read, "
        "cache_write} in USD per million tokens (the Settings page sets them; in effect at once).",
        check=check_price_tables,
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
    gateway_remote_passthrough_allow: list[str] = setting(
        "gateway.remote_passthrough.allow",
        [],
        env="LLM_GATEWAY_REMOTE_PASSTHROUGH_ALLOW",
        doc="Vendor features every remote caller may pass through on the operator's account "
        "(web_search, code_execution, mcp_servers, store, anthropic-beta, ...); empty: none.",
    )
    gateway_remote_passthrough_principals: dict[str, Any] = setting(
        "gateway.remote_passthrough.principals",
        {},
        env="LLM_GATEWAY_REMOTE_PASSTHROUGH_PRINCIPALS",
        doc="More vendor features for named remote principals: principal -> list of names "
        "(a JSON object in the env).",
        check=check_passthrough_tables,
    )
    gateway_detect_local: bool = setting(
        "gateway.detect_local",
        True,
        env="LLM_GATEWAY_DETECT_LOCAL",
        doc="Look for local model servers (Ollama, LM Studio, ...) on their default ports.",
    )
    gateway_models_refresh_s: int = setting(
        "gateway.models_refresh_s",
        3600,
        env="LLM_GATEWAY_MODELS_REFRESH_S",
        doc="Seconds between reads of each API provider's model list, in the background "
        "(checked once a minute; 0: never read, use the built-in lists).",
        check=checks.not_negative,
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
    gateway_first_byte_timeout_ms: int = setting(
        "gateway.first_byte_timeout_ms",
        120_000,
        env="LLM_GATEWAY_FIRST_BYTE_TIMEOUT_MS",
        doc="How long a streamed answer may take to begin (the upstream's status line) before "
        "the next route is tried, or the client gets a 504; once it has begun, "
        "upstream_timeout_ms bounds each stall. A whole (non-streamed) answer arrives all at "
        "once and is bounded by upstream_timeout_ms alone.",
        check=checks.positive,
    )
    gateway_max_sse_event_bytes: int = setting(
        "gateway.max_sse_event_bytes",
        DEFAULT_MAX_EVENT_BYTES,
        env="LLM_GATEWAY_MAX_SSE_EVENT_BYTES",
        doc="Largest server-sent event (or line) an upstream's stream may send; a larger one "
        "ends the answer with a 502 naming this setting instead of being held in memory.",
        check=checks.positive,
    )
    gateway_max_answer_bytes: int = setting(
        "gateway.max_answer_bytes",
        32 * 1024 * 1024,
        env="LLM_GATEWAY_MAX_ANSWER_BYTES",
        doc="Largest whole (non-streamed) upstream answer the gateway holds in memory; a "
        "larger one is cut off and the next route is tried, or the client gets a 502 naming "
        "this setting. Streamed answers pass through piece by piece and are not capped.",
        check=checks.positive,
    )
    gateway_max_connections_per_host: int = setting(
        "gateway.max_connections_per_host",
        100,
        env="LLM_GATEWAY_MAX_CONNECTIONS_PER_HOST",
        doc="Most connections open to one upstream at once (a stream holds one until it "
        "ends); more requests wait up to connect_timeout_ms for one to be free.",
        check=checks.positive,
    )
    gateway_principal_share_percent: int = setting(
        "gateway.principal_share_percent",
        50,
        env="LLM_GATEWAY_PRINCIPAL_SHARE_PERCENT",
        doc="Of max_connections_per_host, the share one remote principal may hold to one "
        "upstream (at least one connection); its further calls wait up to connect_timeout_ms "
        "for one of its own, then get 429 saturated. The local user is not held to it; 100 "
        "turns it off.",
        check=checks.percent,
    )
    gateway_ca_bundle: str = setting(
        "gateway.ca_bundle",
        "",
        env="LLM_GATEWAY_CA_BUNDLE",
        doc="PEM file of extra CA certificates trusted for upstream APIs, on top of the "
        "system store and SSL_CERT_FILE/SSL_CERT_DIR (such as a corporate proxy's root).",
        check=check_ca_bundle,
    )
    gateway_proxy_loopback: bool = setting(
        "gateway.proxy_loopback",
        False,
        env="LLM_GATEWAY_PROXY_LOOPBACK",
        doc="Send loopback upstreams (local model servers) through HTTP(S)_PROXY too. Off, a "
        "proxy never sees them; turn on only to watch local traffic in a debugging proxy.",
    )
