"""How a coding agent's model calls are pointed at the gateway's own HTTP door for one run: the
one table (`ROUTES`) of every agent and CLI the gateway knows how to point, and what of their
own settings would send them elsewhere whatever they are told (`own_route`).

Three kinds of run are pointed by these rows:

- an ACP agent the gateway fronts for an editor, or runs for any caller (`claude-acp`,
  `codex-acp`, `qwen`, `gemini-acp`), always, where it can be (`auth/agent_callbacks.py`);
- a coding CLI's job under a hard budget (`claude`, `codex`, `gemini`, `grok`, `opencode`):
  each of its model calls is then a request to the gateway, held and counted on its own row, so
  the budget is counted at the upstream rather than from what the CLI prints afterwards
  (`calls/cli_spend.py` says when);
- a tool `llmgw-desktop run` starts, by its CLI id (the rows' variables; `shell/tool_runs.py`).

The model endpoint becomes the gateway's address and the key a connection key standing for the
caller (or the run's gateway key), so the vendor key the gateway holds is never in the agent's
environment. What each agent reads is its vendor's convention: variables for most (and those
that would send it elsewhere whatever the base URL says, another credential or a cloud platform,
taken out); Codex a model provider of its own given as `-c` overrides, which come over its
config files' `model_provider`; OpenCode an inline configuration (`OPENCODE_CONFIG_CONTENT`)
that comes over the user's and the project's `opencode.json`, pointing each provider the
gateway has a key for at the gateway and enabling only those. Whose key pays is the gateway's
key for the row's vendor (OpenCode: the vendor its model names).

An agent's own settings can choose its endpoint or login whatever it is told (Claude Code applies
its settings' `env` over its environment and runs an `apiKeyHelper`; Gemini CLI and Qwen Code
take the login their settings select; Codex-ACP the model provider its config names; Codex and
OpenCode a managed configuration the machine's administrator installs, which comes over
everything else). The gateway cannot take those out, so such an agent is not pointed at the
gateway (`own_route` says why): its calls would be made with the operator's own login while the
gateway counted them as the caller's rows, which never come.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CLAUDE_CODE_KEY_ENV",
    "CODEX_KEY_ENV",
    "ROUTES",
    "Route",
    "RoutePointing",
    "own_route",
    "pointed_arguments",
    "pointed_environment",
    "tool_environment",
    "tool_own_route",
    "vendor_of",
]

# A settings file is small; anything larger is not one, and is not read whole.
_MAX_SETTINGS_BYTES = 1 << 20
# Where Codex reads the key of the model provider its `-c` overrides name (as `connect codex`
# writes it in its config).
CODEX_KEY_ENV = "LLMGW_API_KEY"
# Where Claude Code is given the gateway's key: it sends it as its bearer token and uses it
# at once, where a key in `ANTHROPIC_API_KEY` is first offered to the person to trust, with
# "No (recommended)" preselected, and refused leaves Claude Code "Not logged in".
CLAUDE_CODE_KEY_ENV = "ANTHROPIC_AUTH_TOKEN"
_CODEX_PROVIDER = "llmgw"
# OpenCode's providers the gateway can stand in for: OpenCode provider id -> (the gateway's API
# provider whose key pays, the path the provider's SDK expects after the gateway's address).
_OPENCODE_PROVIDERS: Mapping[str, tuple[str, str]] = {
    "anthropic": ("anthropic", "/v1"),
    "openai": ("openai", "/v1"),
    "google": ("google", "/v1beta"),
}

OwnReader = Callable[[Mapping[str, str]], str | None]


@dataclass(frozen=True)
class RoutePointing:
    """Where one run's model calls go: the gateway's address, the key they carry, and the
    gateway's API providers with a key here (OpenCode is given only those)."""

    base_url: str
    key: str
    vendors: tuple[str, ...] = ()
    # The model it asks for, where its row names a variable for it (`Route.model_variable`):
    # one the gateway answers on the vendor's key ("": left to the agent).
    model: str = ""


@dataclass(frozen=True)
class Variables:
    """An agent pointed by its environment: its base URL variable (and the suffix its SDK
    expects) and its key variable."""

    url: str
    suffix: str
    key: str


@dataclass(frozen=True)
class Route:
    """How one agent or CLI is pointed at the gateway for a run, and whose key pays."""

    # The gateway's API provider its model calls take ("": the one its model names, OpenCode).
    vendor: str
    variables: Variables | None = None
    # Taken out of its environment: what would send it elsewhere whatever it is told (another
    # credential, a cloud platform), and the vendor keys it has no use for once pointed.
    dropped: tuple[str, ...] = ()
    # Its own settings that choose an endpoint or login whatever it is told.
    own: OwnReader | None = None
    # The configuration given in its environment (OpenCode's), and its command line's (Codex's).
    configuration: Callable[[RoutePointing], dict[str, str]] | None = None
    arguments: Callable[[RoutePointing], tuple[str, ...]] | None = None
    # The program the row is for, where the provider has two (`gemini`, not Antigravity's `agy`).
    binary: str = ""
    # The variable naming the model it asks for, set to one the gateway answers where the agent
    # would otherwise ask for its own vendor's (Qwen Code asks for `qwen3-coder-plus`, which no
    # OpenAI key serves, and without the variable refuses to start a session at all).
    model_variable: str = ""


def _home(environment: Mapping[str, str], variable: str = "HOME") -> Path:
    return Path(environment.get(variable) or environment.get("HOME") or Path.home())


def _settings(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; empty where there is none (absent, unreadable, not JSON)."""
    try:
        with path.open("rb") as handle:
            found = json.loads(handle.read(_MAX_SETTINGS_BYTES))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _claude_own(environment: Mapping[str, str]) -> str | None:
    """Claude Code applies the `env` of its user and managed settings over its environment,
    and an `apiKeyHelper` they name."""
    routing = {"ANTHROPIC_BASE_URL"}
    for route in (ROUTES["claude"], ROUTES["claude-acp"]):
        assert route.variables is not None
        routing |= {route.variables.key, *route.dropped}
    folder = environment.get("CLAUDE_CONFIG_DIR")
    user = Path(folder) if folder else _home(environment) / ".claude"
    for path in (user / "settings.json", Path("/etc/claude-code/managed-settings.json")):
        settings = _settings(path)
        env = settings.get("env")
        named = sorted(routing.intersection(env)) if isinstance(env, dict) else []
        if named:
            return f"{path} sets {', '.join(named)} for it"
        if settings.get("apiKeyHelper"):
            return f"{path} names an apiKeyHelper for its key"
    return None


def _chosen_login(path: Path, allowed: tuple[str, ...], *, keyed: bool = False) -> str | None:
    """A Gemini-style settings file's login (`security.auth.selectedType`, or the older
    `selectedAuthType`) when it is not one of `allowed`; `keyed`: a key or base URL of its own
    there counts too (Qwen Code prefers them to its environment's)."""
    settings = _settings(path)
    security = settings.get("security")
    auth = security.get("auth") if isinstance(security, dict) else None
    auth = auth if isinstance(auth, dict) else {}
    chosen = auth.get("selectedType") or settings.get("selectedAuthType")
    if chosen and chosen not in allowed:
        return f"{path} chooses the {chosen} login"
    if keyed and (auth.get("apiKey") or auth.get("baseUrl")):
        return f"{path} names a key or base URL of its own"
    return None


def _gemini_own(environment: Mapping[str, str]) -> str | None:
    system = environment.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH") or "/etc/gemini-cli/settings.json"
    user = _home(environment, "GEMINI_CLI_HOME") / ".gemini" / "settings.json"
    allowed = ("gemini-api-key", "gateway")
    return _chosen_login(Path(system), allowed) or _chosen_login(user, allowed)


def _qwen_own(environment: Mapping[str, str]) -> str | None:
    return _chosen_login(_home(environment) / ".qwen" / "settings.json", ("openai",), keyed=True)


def _toml_provider(path: Path) -> str | None:
    """The `model_provider` a Codex config file names, None where it names none (or none of
    it can be read)."""
    try:
        with path.open("rb") as handle:
            text = handle.read(_MAX_SETTINGS_BYTES).decode("utf-8", "replace")
        chosen = tomllib.loads(text).get("model_provider")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return chosen if isinstance(chosen, str) else None


def _codex_home(environment: Mapping[str, str]) -> Path:
    folder = environment.get("CODEX_HOME")
    return Path(folder) if folder else _home(environment) / ".codex"


def _codex_managed_own(environment: Mapping[str, str]) -> str | None:
    """Codex takes a managed configuration (its administrator's, or one beside its config)
    over its command line's `-c` overrides."""
    for path in (
        Path("/etc/codex/managed_config.toml"),
        _codex_home(environment) / "managed_config.toml",
    ):
        chosen = _toml_provider(path)
        if chosen is not None and chosen != _CODEX_PROVIDER:
            return f"{path} chooses the model provider {chosen!r}"
    return None


def _codex_acp_own(environment: Mapping[str, str]) -> str | None:
    """Codex (through Zed's adapter, pointed by its variables) calls the model provider its
    config names, whatever OPENAI_BASE_URL says."""
    path = _codex_home(environment) / "config.toml"
    chosen = _toml_provider(path)
    if chosen in (None, "openai"):
        return _codex_managed_own(environment)
    return f"{path} chooses the model provider {chosen!r}"


def _opencode_own(environment: Mapping[str, str]) -> str | None:
    """OpenCode reads a managed configuration over everything it is given, the inline one
    included; one that names providers or models chooses where its calls go."""
    folder = Path(environment.get("OPENCODE_TEST_MANAGED_CONFIG_DIR") or "/etc/opencode")
    chooses = ("provider", "enabled_providers", "disabled_providers", "model", "small_model")
    for name in ("opencode.json", "opencode.jsonc"):
        path = folder / name
        named = sorted(key for key in chooses if key in _settings(path))
        if named:
            return f"{path} (its managed configuration) sets {', '.join(named)}"
    return None


def _codex_arguments(pointing: RoutePointing) -> tuple[str, ...]:
    """Codex's `-c` overrides: the gateway as its model provider for this run alone (its
    config file is left as it is)."""
    base_url = json.dumps(pointing.base_url.rstrip("/") + "/v1")
    provider = (
        f'{{name = "llmgw-desktop", base_url = {base_url}, env_key = "{CODEX_KEY_ENV}", '
        'wire_api = "responses", supports_websockets = false}'
    )
    overrides = (
        f'model_provider="{_CODEX_PROVIDER}"',
        f"model_providers.{_CODEX_PROVIDER}={provider}",
    )
    return tuple(arg for override in overrides for arg in ("-c", override))


def _codex_key(pointing: RoutePointing) -> dict[str, str]:
    return {CODEX_KEY_ENV: pointing.key}


def _opencode_configuration(pointing: RoutePointing) -> dict[str, str]:
    """OpenCode's inline configuration: each of its providers the gateway has a key for pointed
    at the gateway, and only those enabled (a provider the project's `opencode.json` adds, or
    one with a login of its own, is not)."""
    base = pointing.base_url.rstrip("/")
    providers = {
        name: {"options": {"baseURL": base + suffix, "apiKey": pointing.key}}
        for name, (vendor, suffix) in _OPENCODE_PROVIDERS.items()
        if vendor in pointing.vendors
    }
    config = {"provider": providers, "enabled_providers": sorted(providers)}
    return {"OPENCODE_CONFIG_CONTENT": json.dumps(config)}


def _grok_own(environment: Mapping[str, str]) -> str | None:
    """Grok takes a model's own `api_key`, `env_key` or `base_url` in its config over its
    environment's, and an `[endpoints]` base URL of its own."""
    folder = environment.get("GROK_HOME")
    path = (Path(folder) if folder else _home(environment) / ".grok") / "config.toml"
    try:
        with path.open("rb") as handle:
            config = tomllib.loads(handle.read(_MAX_SETTINGS_BYTES).decode("utf-8", "replace"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    endpoints = config.get("endpoints")
    if isinstance(endpoints, dict) and endpoints.get("models_base_url"):
        return f"{path} names its own models_base_url"
    models = config.get("model")
    for name, model in models.items() if isinstance(models, dict) else ():
        own = sorted(
            k
            for k in ("api_key", "env_key", "base_url")
            if isinstance(model, dict) and model.get(k)
        )
        if own:
            return f"{path} gives the model {name} its own {', '.join(own)}"
    return None


_ANTHROPIC = Variables("ANTHROPIC_BASE_URL", "", "ANTHROPIC_API_KEY")
_CLOUDS = ("CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX")
_GEMINI = Variables("GOOGLE_GEMINI_BASE_URL", "", "GEMINI_API_KEY")
_NOT_GEMINI = ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT")
_OPENAI = Variables("OPENAI_BASE_URL", "/v1", "OPENAI_API_KEY")
# Every vendor key an agent could read from its environment, and spend with from its shell.
_VENDOR_KEYS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GENERATIVE_AI_API_KEY",
)

# Every agent and CLI the gateway can point at itself, by provider id (a CLI's is also the
# name `llmgw-desktop run` knows it by). A provider without a row is never routed: under a hard
# budget its jobs are refused unless the operator accepts it (`calls/cli_spend.unmetered`).
ROUTES: Mapping[str, Route] = {
    "claude": Route(
        "anthropic",
        Variables("ANTHROPIC_BASE_URL", "", CLAUDE_CODE_KEY_ENV),
        ("ANTHROPIC_API_KEY", *_CLOUDS),
        _claude_own,
    ),
    "codex": Route(
        "openai",
        dropped=_VENDOR_KEYS,
        own=_codex_managed_own,
        configuration=_codex_key,
        arguments=_codex_arguments,
    ),
    "gemini": Route("google", _GEMINI, _NOT_GEMINI, _gemini_own, binary="gemini"),
    "opencode": Route(
        "", dropped=_VENDOR_KEYS, own=_opencode_own, configuration=_opencode_configuration
    ),
    # xAI's Grok CLI: its model list and calls from its models base URL (OpenAI's API), the key
    # as a bearer; the cli-chat-proxy and a second key variable would send them elsewhere.
    "grok": Route(
        "xai",
        Variables("GROK_MODELS_BASE_URL", "/v1", "XAI_API_KEY"),
        ("GROK_CODE_XAI_API_KEY", "GROK_CLI_CHAT_PROXY_BASE_URL", "GROK_MODELS_LIST_URL"),
        _grok_own,
    ),
    "claude-acp": Route("anthropic", _ANTHROPIC, ("ANTHROPIC_AUTH_TOKEN", *_CLOUDS), _claude_own),
    "codex-acp": Route("openai", _OPENAI, ("CODEX_API_KEY",), _codex_acp_own),
    "qwen": Route(
        "openai", _OPENAI, ("DASHSCOPE_API_KEY",), _qwen_own, model_variable="OPENAI_MODEL"
    ),
    "gemini-acp": Route("google", _GEMINI, _NOT_GEMINI, _gemini_own),
}


def own_route(provider: str, environment: Mapping[str, str] | None = None) -> str | None:
    """Why `provider`'s own settings (as its vendor reads them from `environment`, the
    gateway's own by default) send its model calls elsewhere than the gateway points them, or
    None where they do not (blocking I/O: small files)."""
    route = ROUTES.get(provider)
    if route is None or route.own is None:
        return None
    return route.own(os.environ if environment is None else environment)


def vendor_of(provider: str, model: str | None) -> str | None:
    """The gateway's API provider whose key a routed run of `provider` on `model` is paid by:
    the row's, or for OpenCode the one its `provider/model` names; "" where OpenCode names no
    model (any of its providers the gateway has a key for); None where the gateway cannot
    stand in for it."""
    route = ROUTES.get(provider)
    if route is None:
        return None
    if route.vendor:
        return route.vendor
    if not model:
        return ""
    named = model.split("/", 1)[0] if "/" in model else ""
    found = _OPENCODE_PROVIDERS.get(named)
    return None if found is None else found[0]


def pointed_environment(
    provider: str, environment: Mapping[str, str], pointing: RoutePointing
) -> dict[str, str]:
    """`environment` with `provider`'s model calls pointed as `pointing` says (unchanged for
    an agent the gateway cannot point, or without an address)."""
    route = ROUTES.get(provider)
    if route is None or not pointing.base_url:
        return dict(environment)
    pointed = {name: value for name, value in environment.items() if name not in route.dropped}
    if route.variables is not None:
        pointed |= _variables(route.variables, pointing.base_url, pointing.key)
    if route.model_variable and pointing.model:
        pointed[route.model_variable] = pointing.model
    if route.configuration is not None:
        pointed |= route.configuration(pointing)
    return pointed


def pointed_arguments(provider: str, pointing: RoutePointing) -> tuple[str, ...]:
    """What `provider`'s command line takes to be pointed as `pointing` says (Codex's
    overrides); empty for the rest."""
    route = ROUTES.get(provider)
    if route is None or route.arguments is None or not pointing.base_url:
        return ()
    return route.arguments(pointing)


def tool_environment(
    tool: str, environment: Mapping[str, str], base_url: str, key: str
) -> dict[str, str] | None:
    """`environment` with the coding CLI `tool`'s (`claude`, `gemini`, `grok`) model endpoint
    and key set to the gateway's `base_url` and `key` by its variables, as `llmgw-desktop run`
    starts it; None for a tool not pointed by variables."""
    route = ROUTES.get(tool)
    if route is None or route.variables is None:
        return None
    kept = {name: value for name, value in environment.items() if name not in route.dropped}
    return kept | _variables(route.variables, base_url, key)


def tool_own_route(tool: str, environment: Mapping[str, str] | None = None) -> str | None:
    """Why the coding CLI `tool`'s own settings send its model calls elsewhere than its
    environment says (as `own_route` says it of an agent), or None (blocking I/O)."""
    return own_route(tool, environment)


def _variables(variables: Variables, base_url: str, key: str) -> dict[str, str]:
    return {variables.url: base_url.rstrip("/") + variables.suffix, variables.key: key}
