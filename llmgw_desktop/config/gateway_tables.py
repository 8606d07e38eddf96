"""The gateway's part of config.toml, checked and turned into typed objects.

    [gateway.providers.ollama]           # switch on a detected local server
    enabled = true

    [gateway.providers.work-vllm]        # any OpenAI-compatible server of your own
    kind = "openai-compatible"
    base_url = "http://127.0.0.1:8001/v1"
    models = ["qwen3-coder"]
    headers = { X-Team = "infra" }       # sent with every request to it
    proxy = "http://proxy.corp:3128"     # this provider only, over the environment's

    [gateway.providers.azure]            # a cloud: see docs/CLOUDS.md
    base_url = "https://my-resource.openai.azure.com"
    api_version = "v1"                   # or a dated version: the deployment URLs
    deployments = { prod-4o = "gpt-4o" } # deployment -> model (prices, capabilities)
    content_filter = "strict"            # its content filter by name (x-policy-id)

    [gateway.providers.bedrock]
    guardrail = "gr0123abcd"             # a Bedrock guardrail (id or ARN) on every Converse
    guardrail_version = "3"              # its version, or DRAFT

    [gateway.aliases]                    # a stale alias is a config fix, not a code change
    sonnet = "claude-sonnet-4-6"

    [gateway.routes."claude-*"]          # glob over requested model ids; "*" matches all
    strategy = "round-robin"             # priority | round-robin | caller (and below)
    fallback = ["openrouter/anthropic/claude-sonnet-4.5", "claude-cli/sonnet"]
    pin = { codex = "openai/gpt-5.1" }   # caller -> target tried first

    [gateway.routes."team-model"]        # one model on several providers
    targets = ["openai/gpt-4o-mini", "azure/my-deployment", "openrouter/openai/gpt-4o-mini"]
    strategy = "weighted"                # or least-busy, lowest-latency, lowest-cost, quota
    weights = [3, 1, 1]                  # "weighted" only: one number per target
    small_request = "ollama/qwen3"       # small requests go here first (over the global one)

The checks return a message naming the offending key (the settings loader reports it with where
the value came from); `gateway_config` assumes checked input.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.config.api_catalog import (
    API_PROVIDERS,
    CLI_BRIDGES,
    CLOUD_AZURE,
    CLOUD_BEDROCK,
    CLOUD_KINDS,
    CLOUD_VERTEX,
    DIALECT_ANTHROPIC,
    DIALECT_GEMINI,
    DIALECT_OPENAI_CHAT,
    ApiProviderSpec,
)
from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.config.settings_fields import table_fields_problem
from llmgw_desktop.config.words import one_of

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "KEY_STRATEGIES",
    "STRATEGIES",
    "TARGET_STRATEGIES",
    "GatewayConfig",
    "RouteConfig",
    "check_passthrough_tables",
    "check_provider_tables",
    "check_route_tables",
    "gateway_config",
    "header_problem",
]

# How a route orders its keys, and its targets when it lists them: `priority` keeps the
# listed order, `round-robin` rotates the start on each request, `caller` hashes the caller to
# the start (a caller's prompt cache stays with one account or provider).
KEY_STRATEGIES = ("priority", "round-robin", "caller")
# How a route with `targets` chooses among them (engine/gateway/balancing/strategies.py); its
# keys are then tried in their listed order.
TARGET_STRATEGIES = ("weighted", "least-busy", "lowest-latency", "lowest-cost", "quota")
STRATEGIES = (*KEY_STRATEGIES, *TARGET_STRATEGIES)
# `gateway.max_sse_event_bytes`'s default: far above any real event (a whole long answer in
# one Responses `response.completed` is a few MB), far below what would hurt the process.
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
# `kind` in a provider table: which dialect its API speaks.
KINDS = {
    "openai-compatible": DIALECT_OPENAI_CHAT,
    "openai": DIALECT_OPENAI_CHAT,
    "anthropic": DIALECT_ANTHROPIC,
    "gemini": DIALECT_GEMINI,
}
PROVIDER_FIELDS = {
    "kind": str,
    "name": str,
    "base_url": str,
    "api_key": str,
    "api_keys": list,
    "api_key_env": str,
    "models": list,
    "enabled": bool,
    "headers": dict,
    "proxy": str,
    # The clouds' own settings (docs/CLOUDS.md).
    "region": str,
    "project": str,
    "location": str,
    "api_version": str,
    "deployments": dict,
    # The clouds' own guardrails, attached by name (docs/guard.md).
    "guardrail": str,
    "guardrail_version": str,
    "content_filter": str,
}
# Which fields belong to which cloud; another kind naming one is told so.
CLOUD_FIELDS = {
    "region": CLOUD_BEDROCK,
    "project": CLOUD_VERTEX,
    "location": CLOUD_VERTEX,
    "api_version": CLOUD_AZURE,
    "deployments": CLOUD_AZURE,
    "guardrail": CLOUD_BEDROCK,
    "guardrail_version": CLOUD_BEDROCK,
    "content_filter": CLOUD_AZURE,
}
# A Bedrock guardrail's identifier (its id, or its ARN) and version, as Bedrock's API takes
# them; an Azure OpenAI content filter configuration's name.
_GUARDRAIL_ID = re.compile(
    r"[a-z0-9]{1,64}|arn:aws(?:-[a-z-]+)?:bedrock:[a-z0-9-]{1,20}:\d{12}:guardrail/[a-z0-9]{1,64}"
)
_GUARDRAIL_VERSION = re.compile(r"[1-9]\d{0,7}|DRAFT")
_CONTENT_FILTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
ROUTE_FIELDS = {
    "strategy": str,
    "targets": list,
    "weights": list,
    "small_request": str,
    "fallback": list,
    "pin": dict,
}
_PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
# RFC 9110's token: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HEADER_VALUE_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Set by the gateway itself (framing), or a credential: keys belong in the vault, never here.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "content-type",
        "authorization",
        "x-api-key",
        "x-goog-api-key",
        "proxy-authorization",
    }
)
_BUILTIN = {p.id: p for p in API_PROVIDERS}
# A provider of a cloud kind of your own (a second Azure resource, Bedrock in another region)
# starts from the built-in one of its cloud: its URLs, dialects and credential chain. Its key
# is its own (vault, api_key, api_key_env), never the built-in's environment variable.
_CLOUD_TEMPLATES = {
    p.cloud: dataclasses.replace(p, key_env=(), base_url_env=None, models=())
    for p in API_PROVIDERS
    if p.cloud
}
# A region, project or location goes into a host name or a path: letters, digits and '-'.
_CLOUD_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CLI_IDS = {b.id for b in CLI_BRIDGES}


@dataclass(frozen=True)
class RouteConfig:
    """How requests for models matching `pattern` are served: which targets answer (the
    model's owner, or the route's `targets` chosen among by `strategy`), which go first for
    small requests or a pinned caller, and what is tried when they fail."""

    pattern: str
    strategy: str = "priority"
    fallback: tuple[str, ...] = ()
    pin: Mapping[str, str] = field(default_factory=dict)
    # The same model on several providers (ids as a client would send them); empty: the
    # requested model's owner answers.
    targets: tuple[str, ...] = ()
    # One per target, for `weighted` (empty: equal shares).
    weights: tuple[float, ...] = ()
    # Where a small request goes first on this route (empty: `gateway.small_request_model`).
    small_request: str = ""


@dataclass(frozen=True)
class GatewayConfig:
    """Everything routing needs from the settings, merged over the built-in catalog."""

    providers: Mapping[str, ApiProviderSpec]
    config_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    key_env_overrides: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    routes: tuple[RouteConfig, ...] = ()
    fallback: tuple[str, ...] = ()
    default_model: str = ""
    small_request_model: str = ""
    small_request_max_tokens: int = 0
    # Explicitly configured providers (a detected local server is offered only when listed).
    configured: frozenset[str] = frozenset()
    # The coding CLIs and ACP agents the gateway bridges (`NAME-cli/MODEL`): the engine's.
    catalog: ProviderCatalog = SHIPPED_CATALOG


def check_provider_tables(value: Mapping[str, Any]) -> str | None:
    """None when `gateway.providers` is well formed, else what is wrong with which key."""
    for pid, table in value.items():
        if (problem := _provider_table_problem(pid, table)) is not None:
            return problem
    return None


def _provider_table_problem(pid: str, table: Any) -> str | None:
    """What is wrong with one provider's id or table (None: nothing)."""
    where = f"gateway.providers.{pid}"
    if not _PROVIDER_ID.fullmatch(pid):
        return f"{where}: provider ids are lowercase letters, digits, '.', '_' or '-'"
    if pid in _CLI_IDS:
        return f"{where}: {pid!r} is a CLI provider; configure CLIs under [providers]"
    if not isinstance(table, Mapping):
        return f'{where} must be a table such as {{ base_url = "..." }}'
    if (problem := _fields_problem(where, table)) is not None:
        return problem
    kind = table.get("kind")
    if kind is not None and kind not in KINDS and kind not in CLOUD_KINDS:
        return f"{where}.kind {one_of(kind, (*KINDS, *CLOUD_KINDS))}"
    cloud = kind if kind in CLOUD_KINDS else (_BUILTIN[pid].cloud if pid in _BUILTIN else "")
    if (problem := _cloud_problem(where, cloud, table)) is not None:
        return problem
    return _endpoint_problem(where, pid, cloud, table)


def _fields_problem(where: str, table: Mapping[str, Any]) -> str | None:
    """A field a provider's table does not have, or one of the wrong type (None: none)."""
    if (problem := table_fields_problem(where, table, PROVIDER_FIELDS, "a provider")) is not None:
        return problem
    for name, item in table.items():
        if isinstance(item, list) and not all(isinstance(v, str) and v for v in item):
            return f"{where}.{name} must be a list of non-empty strings"
    return None


def _endpoint_problem(where: str, pid: str, cloud: str, table: Mapping[str, Any]) -> str | None:
    """What is wrong with how a provider is reached: its base URL, headers and proxy (None:
    nothing)."""
    base_url = table.get("base_url")
    # Bedrock and Vertex find their endpoints from the region or location.
    if pid not in _BUILTIN and not base_url and cloud not in (CLOUD_BEDROCK, CLOUD_VERTEX):
        return f"{where} is not a built-in provider, so it needs base_url (and kind)"
    if base_url is not None and not re.match(r"^https?://[^/\s]+", base_url):
        return f"{where}.base_url {base_url!r} must be an http(s) URL"
    for name, item in table.get("headers", {}).items():
        if (problem := header_problem(name, item)) is not None:
            return f"{where}.headers: {problem}"
    proxy = table.get("proxy")
    if proxy and not re.match(r"^http://[^/\s]+/?$", proxy):
        return f"{where}.proxy {proxy!r} must be an http:// proxy URL (host and port)"
    return None


def _cloud_problem(where: str, cloud: str, table: Mapping[str, Any]) -> str | None:
    """What is wrong with a table's cloud settings (None: nothing)."""
    for name, owner in CLOUD_FIELDS.items():
        if name not in table:
            continue
        if owner != cloud:
            return f"{where}.{name} is a setting of kind = {owner!r} providers only"
        value = table[name]
        if name == "deployments":
            if not all(
                isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
            ):
                return (
                    f"{where}.deployments maps deployment names to model ids, such as "
                    '{ prod = "gpt-4o" }'
                )
        elif name == "api_version":
            if not re.fullmatch(r"v1|preview|latest|\d{4}-\d{2}-\d{2}(-preview)?", value):
                return (
                    f"{where}.api_version {value!r} must be v1 (the v1 API) or a dated version "
                    "such as 2024-10-21"
                )
        elif name in _GUARDRAIL_FIELDS:
            if (problem := _guardrail_problem(where, name, value, table)) is not None:
                return problem
        elif not _CLOUD_NAME.fullmatch(value):
            return f"{where}.{name} {value!r} must be lowercase letters, digits and '-'"
    return None


_GUARDRAIL_FIELDS = ("guardrail", "guardrail_version", "content_filter")


def _guardrail_problem(where: str, name: str, value: str, table: Mapping[str, Any]) -> str | None:
    """What is wrong with a cloud's guardrail, named in a provider's table (None: nothing)."""
    if name == "guardrail":
        if not _GUARDRAIL_ID.fullmatch(value):
            return f"{where}.guardrail {value!r} must be a Bedrock guardrail's id or its ARN"
        if "guardrail_version" not in table:
            return f"{where}.guardrail needs guardrail_version (its version number, or DRAFT)"
    elif name == "guardrail_version":
        if not _GUARDRAIL_VERSION.fullmatch(value):
            return f"{where}.guardrail_version {value!r} must be a version number or DRAFT"
        if "guardrail" not in table:
            return f"{where}.guardrail_version needs guardrail (the guardrail's id or ARN)"
    elif not _CONTENT_FILTER.fullmatch(value):
        return f"{where}.content_filter {value!r} must be a content filter's name"
    return None


def header_problem(name: Any, value: Any) -> str | None:
    """None when `name: value` may be sent to a provider on every request, else why not."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        return f"{name!r} is not a header name (letters, digits and !#$%&'*+.^_`|~-, no spaces)"
    if name.lower() in RESERVED_HEADERS:
        return f"{name!r} is set by the gateway (keys go in the vault, through the provider's key)"
    if not isinstance(value, str):
        return f"{name!r} must be a string"
    if _HEADER_VALUE_BAD.search(value):
        return f"the value of {name!r} holds a line break or control character"
    return None


def check_route_tables(value: Mapping[str, Any]) -> str | None:
    """None when `gateway.routes` is well formed, else what is wrong with which key."""
    for pattern, table in value.items():
        where = f"gateway.routes.{pattern!r}"
        if not isinstance(table, Mapping):
            return f'{where} must be a table such as {{ fallback = ["..."] }}'
        if (problem := table_fields_problem(where, table, ROUTE_FIELDS, "a route")) is not None:
            return problem
        if (strategy := table.get("strategy", "priority")) not in STRATEGIES:
            return f"{where}.strategy {one_of(strategy, STRATEGIES)}"
        for name in ("fallback", "targets"):
            if not all(isinstance(m, str) and m for m in table.get(name, [])):
                return f"{where}.{name} must be a list of model ids"
        if "small_request" in table and not table["small_request"]:
            return f"{where}.small_request must be a model id"
        if not all(isinstance(t, str) and t for t in table.get("pin", {}).values()):
            return f"{where}.pin maps caller names to model ids (strings)"
        if (problem := _targets_problem(where, table)) is not None:
            return problem
    return None


def _targets_problem(where: str, table: Mapping[str, Any]) -> str | None:
    """What is wrong with a route's `targets`, `strategy` and `weights` together (None:
    nothing)."""
    targets = table.get("targets")
    strategy = table.get("strategy", "priority")
    weights = table.get("weights")
    if targets is not None:
        if not targets:
            return f"{where}.targets must name at least one model id"
        if len(set(targets)) != len(targets):
            return f"{where}.targets names a model id twice"
    elif strategy in TARGET_STRATEGIES:
        return (
            f'{where}.strategy "{strategy}" chooses among targets: list them in {where}.targets '
            '(such as ["openai/gpt-4o-mini", "azure/my-deployment"])'
        )
    if weights is None:
        return None
    if strategy != "weighted":
        return f'{where}.weights is for strategy = "weighted" (this route\'s is "{strategy}")'
    if not all(isinstance(w, int | float) and not isinstance(w, bool) for w in weights):
        return f"{where}.weights must be numbers, such as [3, 1, 1]"
    if len(weights) != len(targets or ()):
        return f"{where}.weights has {len(weights)} numbers for {len(targets or ())} targets"
    if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        return f"{where}.weights must be 0 or more, and one of them more than 0"
    return None


def gateway_config(
    *,
    providers: Mapping[str, Any],
    aliases: Mapping[str, str],
    routes: Mapping[str, Any],
    fallback: list[str],
    default_model: str = "",
    small_request_model: str = "",
    small_request_max_tokens: int = 0,
    catalog: ProviderCatalog = SHIPPED_CATALOG,
) -> GatewayConfig:
    """The typed gateway configuration from already-checked settings values; `catalog`: the
    CLIs it bridges (the engine's)."""
    merged = dict(_BUILTIN)
    keys: dict[str, tuple[str, ...]] = {}
    key_env: dict[str, str] = {}
    for pid, table in providers.items():
        merged[pid] = _configured_spec(pid, table, merged.get(pid))
        config_keys = ([table["api_key"]] if table.get("api_key") else []) + list(
            table.get("api_keys", [])
        )
        if config_keys:
            keys[pid] = tuple(config_keys)
        if table.get("api_key_env"):
            key_env[pid] = table["api_key_env"]
    return GatewayConfig(
        providers=merged,
        config_keys=keys,
        key_env_overrides=key_env,
        aliases=dict(aliases),
        routes=tuple(
            RouteConfig(
                pattern,
                table.get("strategy", "priority"),
                tuple(table.get("fallback", ())),
                dict(table.get("pin", {})),
                targets=tuple(table.get("targets", ())),
                weights=tuple(float(w) for w in table.get("weights", ())),
                small_request=table.get("small_request", ""),
            )
            for pattern, table in routes.items()
        ),
        fallback=tuple(fallback),
        default_model=default_model,
        small_request_model=small_request_model,
        small_request_max_tokens=small_request_max_tokens,
        configured=frozenset(providers),
        catalog=catalog,
    )


def _configured_spec(
    pid: str, table: Mapping[str, Any], builtin: ApiProviderSpec | None
) -> ApiProviderSpec:
    """A provider as its (checked) table makes it: the `builtin` of that id, else its kind's
    cloud template or a server of its dialect, with what the table sets."""
    kind = table.get("kind", "openai-compatible")
    base = builtin
    if base is None and kind in CLOUD_KINDS:
        base = dataclasses.replace(_CLOUD_TEMPLATES[kind], id=pid, name=pid)
    if base is None:
        base = ApiProviderSpec(pid, pid, KINDS[kind], table["base_url"])
    changes: dict[str, Any] = {}
    if "kind" in table and kind in KINDS:
        changes["dialect"] = KINDS[kind]
        changes["cloud"] = changes["ambient"] = ""
        changes["also_speaks"] = changes["model_dialects"] = ()
    for name in (
        "region",
        "project",
        "location",
        "api_version",
        "name",
        "proxy",
        "guardrail",
        "guardrail_version",
        "content_filter",
    ):
        if name in table:
            changes[name] = table[name]
    for name in ("deployments", "headers"):
        if name in table:
            changes[name] = tuple(table[name].items())
    if "base_url" in table:
        changes["base_url"] = table["base_url"].rstrip("/")
        # An explicit base URL wins over the environment's.
        changes["base_url_env"] = None
    if "models" in table:
        changes["models"] = tuple(table["models"])
    # Listing a provider switches it on unless it says otherwise.
    changes["enabled"] = bool(table.get("enabled", True))
    if pid not in _BUILTIN and kind not in CLOUD_KINDS:
        # A server that names its key (directly or by variable) must not be called without.
        changes["needs_key"] = bool(
            table.get("api_key") or table.get("api_keys") or table.get("api_key_env")
        )
    return dataclasses.replace(base, **changes)


def check_passthrough_tables(value: Mapping[str, Any]) -> str | None:
    """None when `gateway.remote_passthrough.principals` maps principals to lists of names."""
    for principal, names in value.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            return (
                f"gateway.remote_passthrough.principals.{principal} must be a list of feature names"
            )
    return None
