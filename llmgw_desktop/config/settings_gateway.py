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
from llmgw_desktop.config.settings_fields import section, setting

__all__ = ["GatewaySettings", "RemotePassthroughSettings"]


@dataclass(frozen=True)
class RemotePassthroughSettings:
    """Vendor features remote callers may pass through (`[gateway.remote_passthrough]`)."""

    allow: list[str] = setting(
        [],
        env="LLM_GATEWAY_REMOTE_PASSTHROUGH_ALLOW",
        doc="Vendor features every remote caller may pass through on the operator's account "
        "(web_search, code_execution, mcp_servers, store, anthropic-beta, ...); empty: none.",
    )
    principals: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_REMOTE_PASSTHROUGH_PRINCIPALS",
        doc="More vendor features for named remote principals: principal -> list of names "
        "(a JSON object in the env).",
        check=check_passthrough_tables,
    )


@dataclass(frozen=True)
class GatewaySettings:
    """The gateway (`[gateway]`): providers, routes, aliases, limits."""

    providers: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_PROVIDERS",
        doc="API providers: overrides of the built-ins and OpenAI-compatible servers (a JSON "
        "object in the env).",
        check=check_provider_tables,
    )
    prices: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_PRICES",
        doc="Your own prices, over the bundled table: model prefix = {input, output, cache_read, "
        "cache_write} in USD per million tokens (the Settings page sets them; in effect at once).",
        check=check_price_tables,
    )
    aliases: dict[str, str] = setting(
        {},
        env="LLM_GATEWAY_ALIASES",
        doc="Model aliases: name = model id (such as sonnet = claude-sonnet-4-6).",
        check=checks.aliases,
    )
    routes: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_ROUTES",
        doc="Per-model routing: targets across providers and the strategy choosing among them, "
        "weights, the small-request target, fallback chain and caller pins (a JSON object in "
        "env).",
        check=check_route_tables,
    )
    fallback: list[str] = setting(
        [],
        env="LLM_GATEWAY_FALLBACK",
        doc="Models tried, in order, after a request's own route is exhausted.",
    )
    default_model: str = setting(
        "",
        env="LLM_GATEWAY_DEFAULT_MODEL",
        doc="Model used when a request names none (/v1/generate); empty: the first available.",
    )
    small_request_model: str = setting(
        "",
        env="LLM_GATEWAY_SMALL_REQUEST_MODEL",
        doc="Cheaper model for small requests without tools or images (empty: off).",
    )
    small_request_max_tokens: int = setting(
        256,
        env="LLM_GATEWAY_SMALL_REQUEST_MAX_TOKENS",
        doc="Estimated input tokens at or under which a request counts as small.",
        check=checks.positive,
    )
    latency_half_life_ms: int = setting(
        60_000,
        env="LLM_GATEWAY_LATENCY_HALF_LIFE_MS",
        doc="How fast a target's recent time to first token forgets (lowest-latency routes) and "
        "its share of a route's answers fades: halved every this long without a call, so a "
        "target once slow is tried again once the others' figures are lower.",
        check=checks.positive,
    )
    cooldown_failures: int = setting(
        3,
        env="LLM_GATEWAY_COOLDOWN_FAILURES",
        doc="Failures in a row (a timeout, 429, 5xx) after which an API "
        "target's circuit opens: it goes behind its route's other targets and fallbacks "
        "until its cool-down ends, then one request tries it. A 429 alone cools it down for "
        "its Retry-After.",
        check=checks.positive,
    )
    cooldown_first_ms: int = setting(
        5_000,
        env="LLM_GATEWAY_COOLDOWN_FIRST_MS",
        doc="An open circuit's first cool-down; it doubles each time the target fails again "
        "right after one, up to cooldown_longest_ms.",
        check=checks.positive,
    )
    cooldown_longest_ms: int = setting(
        60_000,
        env="LLM_GATEWAY_COOLDOWN_LONGEST_MS",
        doc="The longest cool-down of an API target (and the most of a 429's Retry-After "
        "honoured); at least cooldown_first_ms.",
        check=checks.positive,
    )
    quota_reserve_percent: int = setting(
        5,
        env="LLM_GATEWAY_QUOTA_RESERVE_PERCENT",
        doc="Quota routes steer away from a target whose rate-limit headers leave less than "
        "this share of a limit (or too few tokens for the request) until the limit resets.",
        check=checks.percent,
    )
    remote_passthrough: RemotePassthroughSettings = section(RemotePassthroughSettings)
    detect_local: bool = setting(
        True,
        env="LLM_GATEWAY_DETECT_LOCAL",
        doc="Look for local model servers (Ollama, LM Studio, ...) on their default ports.",
    )
    models_refresh_s: int = setting(
        3600,
        env="LLM_GATEWAY_MODELS_REFRESH_S",
        doc="Seconds between reads of each API provider's model list, in the background "
        "(checked once a minute; 0: never read, use the built-in lists).",
        check=checks.not_negative,
    )
    connect_timeout_ms: int = setting(
        10_000,
        env="LLM_GATEWAY_CONNECT_TIMEOUT_MS",
        doc="How long connecting to an upstream API may take before the next route is tried.",
        check=checks.positive,
    )
    upstream_timeout_ms: int = setting(
        600_000,
        env="LLM_GATEWAY_UPSTREAM_TIMEOUT_MS",
        doc="Longest an upstream API may take to answer (and a stream to send its next whole "
        "event: bytes of one it does not end do not count; comments alone are not a stall).",
        check=checks.positive,
    )
    first_byte_timeout_ms: int = setting(
        120_000,
        env="LLM_GATEWAY_FIRST_BYTE_TIMEOUT_MS",
        doc="How long a streamed answer may take to begin (the upstream's status line) before "
        "the next route is tried, or the client gets a 504; once it has begun, "
        "upstream_timeout_ms bounds each stall. A whole (non-streamed) answer arrives all at "
        "once and is bounded by upstream_timeout_ms alone.",
        check=checks.positive,
    )
    hung_check_after_ms: int = setting(
        2_000,
        env="LLM_GATEWAY_HUNG_CHECK_AFTER_MS",
        doc="How long a call may wait for an upstream API's first byte, or a stream under way "
        "be silent, before the gateway checks that the upstream answers at all: a GET of its "
        "origin, without its key, on a connection of its own (sent only when no other call to "
        "it got an answer since). A slow answer from a server that runs is not cut by it, and "
        "a stream is never cut by it.",
        check=checks.positive,
    )
    hung_probe_timeout_ms: int = setting(
        2_000,
        env="LLM_GATEWAY_HUNG_PROBE_TIMEOUT_MS",
        doc="How long that check may go unanswered before the upstream counts as hung: every "
        "call waiting on it goes on to its route's next target at once, and requests pass it "
        "over until a probe (every 0.5 to 2 s) is answered again.",
        check=checks.positive,
    )
    max_sse_event_bytes: int = setting(
        DEFAULT_MAX_EVENT_BYTES,
        env="LLM_GATEWAY_MAX_SSE_EVENT_BYTES",
        doc="Largest server-sent event (or line) an upstream's stream may send; a larger one "
        "ends the answer with a 502 naming this setting instead of being held in memory.",
        check=checks.positive,
    )
    max_answer_bytes: int = setting(
        32 * 1024 * 1024,
        env="LLM_GATEWAY_MAX_ANSWER_BYTES",
        doc="Largest whole (non-streamed) upstream answer the gateway holds in memory; a "
        "larger one is cut off and the next route is tried, or the client gets a 502 naming "
        "this setting. Streamed answers pass through piece by piece and are not capped.",
        check=checks.positive,
    )
    max_connections_per_host: int = setting(
        100,
        env="LLM_GATEWAY_MAX_CONNECTIONS_PER_HOST",
        doc="Most connections open to one upstream at once (a stream holds one until it "
        "ends); more requests wait up to connect_timeout_ms for one to be free.",
        check=checks.positive,
    )
    principal_share_percent: int = setting(
        50,
        env="LLM_GATEWAY_PRINCIPAL_SHARE_PERCENT",
        doc="Of max_connections_per_host, the share one remote principal may hold to one "
        "upstream (at least one connection); its further calls wait up to connect_timeout_ms "
        "for one of its own, then get 429 saturated. The local user is not held to it; 100 "
        "turns it off.",
        check=checks.percent,
    )
    ca_bundle: str = setting(
        "",
        env="LLM_GATEWAY_CA_BUNDLE",
        doc="PEM file of extra CA certificates trusted for upstream APIs, on top of the "
        "system store and SSL_CERT_FILE/SSL_CERT_DIR (such as a corporate proxy's root).",
        check=check_ca_bundle,
    )
    proxy_loopback: bool = setting(
        False,
        env="LLM_GATEWAY_PROXY_LOOPBACK",
        doc="Send loopback upstreams (local model servers) through HTTP(S)_PROXY too. Off, a "
        "proxy never sees them; turn on only to watch local traffic in a debugging proxy.",
    )
