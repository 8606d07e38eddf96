"""An ACP agent's environment with its model calls pointed at the gateway's own HTTP door.

When the gateway fronts an agent for an editor, the agent's model endpoint and key are the
gateway's address and the caller's connection key, so every model call it makes is a request
to the gateway: routed, recorded on the editor's lane, held to the caller's budgets and key
scope. The agent never sees the vendor key the gateway holds. What each agent reads is its
vendor's convention; the variables that would send it elsewhere whatever the base URL says
(another credential, a cloud platform) are taken out. OpenCode chooses its endpoint in its own
configuration, and an agent `[providers.acp.NAME]` adds has no known convention: those are
left as they are.

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

__all__ = ["own_route", "routed_back", "routed_environment", "routes_through_gateway"]

# A settings file is small; anything larger is not one, and is not read whole.
_MAX_SETTINGS_BYTES = 1 << 20

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
    "gemini-acp": (
        "GOOGLE_GEMINI_BASE_URL",
        "",
        "GEMINI_API_KEY",
        ("GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT"),
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
    _, _, key_name, dropped = _ROUTES["claude-acp"]
    routing = {"ANTHROPIC_BASE_URL", key_name, *dropped}
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
    url_name, suffix, key_name, dropped = route
    routed = {name: value for name, value in environment.items() if name not in dropped}
    routed[url_name] = base_url.rstrip("/") + suffix
    routed[key_name] = key
    return routed
