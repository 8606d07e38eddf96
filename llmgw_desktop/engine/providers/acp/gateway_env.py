"""A coding agent's environment with its model calls pointed at the gateway's own HTTP door:
an ACP agent the gateway fronts for an editor, or a tool `llmgw-desktop run` starts.

When the gateway fronts an agent for an editor, the agent's model endpoint and key are the
gateway's address and the caller's connection key, so every model call it makes is a request
to the gateway: routed, recorded on the editor's lane, held to the caller's budgets and key
scope. The agent never sees the vendor key the gateway holds. `llmgw-desktop run` points the
coding CLIs themselves the same way, by their CLI ids (`claude`, `gemini`): Claude Code takes
the key as its bearer token there (`ANTHROPIC_AUTH_TOKEN`), which it uses without first asking
the person whether to trust a key found in its environment, as it does `ANTHROPIC_API_KEY`.
What each agent reads is its vendor's convention; the variables that would send it elsewhere
whatever the base URL says (another credential, a cloud platform) are taken out. OpenCode
chooses its endpoint in its own configuration, and an agent `[providers.acp.NAME]` adds has no
known convention: those are left as they are.

An agent's own settings can choose its login whatever its environment says (Claude Code applies
its settings' `env` over the environment it was started with; Gemini CLI and Qwen Code take the
login their settings select; Codex the model provider its config names). The gateway cannot
take those out, so an agent whose operator's settings do so is not pointed at the gateway at
all (`own_route`): its calls would be made with the operator's own login while the gateway
counted them as the caller's rows, which never come.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "own_route",
    "routed_back",
    "routed_environment",
    "routes_through_gateway",
    "tool_environment",
    "tool_own_route",
]

# A settings file is small; anything larger is not one, and is not read whole.
_MAX_SETTINGS_BYTES = 1 << 20

# The Gemini CLI's, as an ACP agent and started by `run` alike.
_GEMINI = (
    "GOOGLE_GEMINI_BASE_URL",
    "",
    "GEMINI_API_KEY",
    ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT"),
)
# provider -> (base URL variable, the suffix the vendor's SDK expects, key variable, dropped)
_ROUTES: Mapping[str, tuple[str, str, str, tuple[str, ...]]] = {
    "claude-acp": (
        "ANTHROPIC_BASE_URL",
        "",
        "ANTHROPIC_API_KEY",
        ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"),
    ),
    "codex-acp": ("OPENAI_BASE_URL", "/v1", "OPENAI_API_KEY", ("CODEX_API_KEY",)),
    "qwen": ("OPENAI_BASE_URL", "/v1", "OPENAI_API_KEY", ("DASHSCOPE_API_KEY",)),
    "gemini-acp": _GEMINI,
}
# The coding CLIs as `llmgw-desktop run` starts them, by CLI id. Apart from `_ROUTES`: a CLI
# job the gateway runs itself is not pointed at the gateway, so these ids must never count as
# routed back (`routes_through_gateway`, which lets a job run under a hard budget).
_TOOL_ROUTES: Mapping[str, tuple[str, str, str, tuple[str, ...]]] = {
    "claude": (
        "ANTHROPIC_BASE_URL",
        "",
        "ANTHROPIC_AUTH_TOKEN",
        ("ANTHROPIC_API_KEY", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"),
    ),
    "gemini": _GEMINI,
    # xAI's Grok CLI: its model list and calls from `GROK_MODELS_BASE_URL` (OpenAI's API), the
    # key as a bearer; the cli-chat-proxy and a second key variable would send them elsewhere.
    "grok": (
        "GROK_MODELS_BASE_URL",
        "/v1",
        "XAI_API_KEY",
        ("GROK_CODE_XAI_API_KEY", "GROK_CLI_CHAT_PROXY_BASE_URL", "GROK_MODELS_LIST_URL"),
    ),
}


def routes_through_gateway(provider: str) -> bool:
    """Whether the gateway knows how to point `provider`'s model calls at itself, and the
    operator's own settings of it do not send them elsewhere (blocking I/O: small files)."""
    return provider in _ROUTES and own_route(provider) is None


def own_route(provider: str, environment: Mapping[str, str] | None = None) -> str | None:
    """Why `provider`'s own settings (as its vendor reads them from `environment`, the
    gateway's own by default) send its model calls elsewhere than its environment's endpoint
    and key, or None where they do not (blocking I/O: small files)."""
    reader = _OWN_ROUTES.get(provider)
    return None if reader is None else reader(os.environ if environment is None else environment)


def _home(environment: Mapping[str, str], variable: str = "HOME") -> Path:
    return Path(environment.get(variable) or environment.get("HOME") or Path.home())


def _claude_own(environment: Mapping[str, str]) -> str | None:
    """Claude Code applies the `env` of its user and managed settings over its environment,
    and an `apiKeyHelper` they name."""
    routing = {"ANTHROPIC_BASE_URL"}
    for _, _, key_name, dropped in (_ROUTES["claude-acp"], _TOOL_ROUTES["claude"]):
        routing |= {key_name, *dropped}
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


def _codex_own(environment: Mapping[str, str]) -> str | None:
    """Codex calls the model provider its config names, whatever OPENAI_BASE_URL says."""
    folder = environment.get("CODEX_HOME")
    path = (Path(folder) if folder else _home(environment) / ".codex") / "config.toml"
    try:
        with path.open("rb") as handle:
            text = handle.read(_MAX_SETTINGS_BYTES).decode("utf-8", "replace")
        chosen = tomllib.loads(text).get("model_provider")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if chosen in (None, "openai"):
        return None
    return f"{path} chooses the model provider {chosen!r}"


def _settings(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; empty where there is none (absent, unreadable, not JSON)."""
    try:
        with path.open("rb") as handle:
            found = json.loads(handle.read(_MAX_SETTINGS_BYTES))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


_OWN_ROUTES = {
    "claude-acp": _claude_own,
    "gemini-acp": _gemini_own,
    "qwen": _qwen_own,
    "codex-acp": _codex_own,
}


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


_TOOL_OWN_ROUTES = {"claude": _claude_own, "gemini": _gemini_own, "grok": _grok_own}


def routed_back(provider: str, gateway_url: str) -> bool:
    """Whether a run of `provider` fronted for an editor whose gateway door is `gateway_url`
    ("": none) has its model calls come back through the gateway."""
    return bool(gateway_url) and routes_through_gateway(provider)


def routed_environment(
    provider: str, environment: Mapping[str, str], base_url: str, key: str
) -> dict[str, str]:
    """`environment` with `provider`'s model endpoint and key set to the gateway's `base_url`
    and `key` (unchanged for an agent the gateway cannot point, or without a `base_url`)."""
    route = _ROUTES.get(provider)
    if route is None or not base_url:
        return dict(environment)
    return _pointed(route, environment, base_url, key)


def tool_environment(
    tool: str, environment: Mapping[str, str], base_url: str, key: str
) -> dict[str, str] | None:
    """`environment` with the coding CLI `tool`'s (`claude`, `gemini`) model endpoint and key
    set to the gateway's `base_url` and `key`, as `llmgw-desktop run` starts it; None for a
    tool whose variables are not known here."""
    route = _TOOL_ROUTES.get(tool)
    return None if route is None else _pointed(route, environment, base_url, key)


def tool_own_route(tool: str, environment: Mapping[str, str] | None = None) -> str | None:
    """Why the coding CLI `tool`'s own settings send its model calls elsewhere than its
    environment says (as `own_route` says it of an agent), or None (blocking I/O)."""
    reader = _TOOL_OWN_ROUTES.get(tool)
    return None if reader is None else reader(os.environ if environment is None else environment)


def _pointed(
    route: tuple[str, str, str, tuple[str, ...]],
    environment: Mapping[str, str],
    base_url: str,
    key: str,
) -> dict[str, str]:
    url_name, suffix, key_name, dropped = route
    routed = {name: value for name, value in environment.items() if name not in dropped}
    routed[url_name] = base_url.rstrip("/") + suffix
    routed[key_name] = key
    return routed
