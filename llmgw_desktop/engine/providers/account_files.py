"""Each vendor CLI's login as its own files on this machine say it: pure readers, offline.

Read where each CLI itself looks (its home variable, else the user's home), never written,
never sent anywhere, no login started. What comes back names the account (an email, a GitHub
login), the plan where the file holds it, and where it was read; secrets (tokens, keys) are
looked at only to see that they are there. The files, as the pinned CLIs write them:

- Claude Code: `.credentials.json` (`claudeAiOauth`: tokens, `expiresAt`, `subscriptionType`,
  `rateLimitTier`) in `CLAUDE_CONFIG_DIR` or `~/.claude`, and `.claude.json` beside it
  (`oauthAccount.emailAddress`, `organizationName`; `primaryApiKey` after an API-key login);
  on macOS the tokens live in the Keychain instead.
- Codex: `auth.json` in `CODEX_HOME` or `~/.codex`: `OPENAI_API_KEY`, or ChatGPT `tokens`
  whose `id_token` (a JWT, read without checking its signature: nothing is granted by it
  here) carries the email and `chatgpt_plan_type`; else `CODEX_API_KEY` (or `OPENAI_API_KEY`)
  in the environment; a `config.toml` naming a provider or profile cannot be told.
- Gemini CLI: `.gemini/settings.json` (`security.auth.selectedType`, or the older
  `selectedAuthType`), `oauth_creds.json` and `google_accounts.json` (`active`), under
  `GEMINI_CLI_HOME` or the home; or `GEMINI_API_KEY`, `GOOGLE_GENAI_USE_VERTEXAI` or
  `GOOGLE_GENAI_USE_GCA` in the environment (Google Cloud's credentials are not read).
- GitHub Copilot: `config.json` in `COPILOT_HOME` or `~/.copilot` (`logged_in_users`,
  `last_logged_in_user`), or a token in `COPILOT_GITHUB_TOKEN`, `GH_TOKEN`, `GITHUB_TOKEN`, or
  the GitHub CLI's login (a host in its `hosts.yml`, under `GH_CONFIG_DIR`, `XDG_CONFIG_HOME/gh`
  or `~/.config/gh`), as Copilot 1.0.102 says it looks; none of these where
  `COPILOT_PROVIDER_BASE_URL` points it at a model provider of its own (its key in
  `COPILOT_PROVIDER_API_KEY` and kin, or none for a local server).
- OpenCode: `opencode/auth.json` under `XDG_DATA_HOME` or `~/.local/share`: one entry per
  provider, `type` `oauth`, `api` or `wellknown`.
- Grok (xAI's CLI): `$GROK_HOME/auth.json` or `~/.grok/auth.json` (`access_token`, and
  `principal_display_name`), else `XAI_API_KEY`.
- Mistral Vibe: `.env` in `VIBE_HOME` or `~/.vibe` (`MISTRAL_API_KEY=`), or the variable; with
  neither, a `config.toml` of its own (other providers, a local server) cannot be told.
- The ACP agents the gateway points at itself (Claude and Codex through Zed's adapters, Qwen
  Code, Gemini CLI over ACP): "through the gateway", with its key for their vendor, unless their
  own settings choose their route (`acp/gateway_env.own_route`); then Codex's or Gemini CLI's
  files as above, or "cannot tell" with what their settings chose.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw_desktop.config.api_catalog import API_PROVIDERS, ApiProviderSpec
from llmgw_desktop.engine.gateway.shown_urls import origin_of
from llmgw_desktop.engine.providers.acp.gateway_env import ROUTES, own_route

__all__ = [
    "API_KEY",
    "FROM_ENVIRONMENT",
    "LOGGED_IN",
    "NOT_LOGGED_IN",
    "POINTED_AGENTS",
    "READERS",
    "THROUGH_GATEWAY",
    "UNKNOWN",
    "CliAccount",
    "read_account",
    "vendor_spec",
]

LOGGED_IN = "logged in"
API_KEY = "API key"
NOT_LOGGED_IN = "not logged in"
UNKNOWN = "cannot tell"
# An ACP agent whose model calls come back through the gateway: its login is the gateway's key.
THROUGH_GATEWAY = "through the gateway"
# The `detail` of a key read from an environment variable (`method` names it).
FROM_ENVIRONMENT = "from the environment"
# Login files are small; anything larger is not one, and is not read whole.
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class CliAccount:
    """One CLI's login as far as its files tell; never a secret."""

    provider: str  # the engine's CLI id
    state: str  # LOGGED_IN, API_KEY, NOT_LOGGED_IN or UNKNOWN
    method: str = ""  # how: "Claude account", "ChatGPT", "GEMINI_API_KEY", ...
    account: str | None = None  # who: an email or a login
    plan: str | None = None  # plan or quota tier, where the CLI keeps one
    detail: str = ""  # where this was read, or why it cannot be told


class _Unreadable(Exception):
    """A file that is there but cannot be used (too large, not JSON, not an object)."""


def _json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when there is no such file.

    Raises:
        _Unreadable: it is there but too large, not JSON or not an object.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Unreadable(f"{path} cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _Unreadable(f"{path} is larger than a login file")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except ValueError:
        raise _Unreadable(f"{path} is not JSON") from None
    if not isinstance(data, dict):
        raise _Unreadable(f"{path} is not a JSON object")
    return data


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _key(provider: str, method: str, detail: str) -> CliAccount:
    return CliAccount(provider, API_KEY, method, None, None, detail)


def _home(environ: Mapping[str, str], home: Path, variable: str, default: Path) -> Path:
    chosen = environ.get(variable, "").strip()
    return Path(chosen).expanduser() if chosen else default


def claude(environ: Mapping[str, str], home: Path) -> CliAccount:
    config_dir = environ.get("CLAUDE_CONFIG_DIR", "").strip()
    base = Path(config_dir).expanduser() if config_dir else home / ".claude"
    state_file = base / ".claude.json" if config_dir else home / ".claude.json"
    credentials = base / ".credentials.json"
    oauth = (_json(credentials) or {}).get("claudeAiOauth")
    profile = _json(state_file) or {}
    account = _table(profile, "oauthAccount")
    email = _text(account.get("emailAddress"))
    org = _text(account.get("organizationName"))
    who = f"{email} ({org})" if email and org else email
    if isinstance(oauth, dict) and _text(oauth.get("accessToken") or oauth.get("refreshToken")):
        plan = _text(oauth.get("subscriptionType"))
        tier = _text(oauth.get("rateLimitTier"))
        detail = f"read from {credentials}"
        expires = oauth.get("expiresAt")
        if isinstance(expires, int | float) and expires / 1000 < time.time():
            detail += "; the access token has expired (the CLI renews it on its next call)"
        return CliAccount(
            "claude",
            LOGGED_IN,
            "Claude account",
            who,
            " / ".join(filter(None, (plan, tier))) or None,
            detail,
        )
    if environ.get("ANTHROPIC_API_KEY", "").strip():
        return CliAccount("claude", API_KEY, "ANTHROPIC_API_KEY", None, None, FROM_ENVIRONMENT)
    if _text(profile.get("primaryApiKey")):
        return CliAccount(
            "claude", API_KEY, "key from /login", None, None, f"read from {state_file}"
        )
    if email and sys.platform == "darwin":
        return CliAccount(
            "claude",
            UNKNOWN,
            "Claude account",
            who,
            None,
            "Claude Code keeps its login in the macOS Keychain, which is not read here",
        )
    return CliAccount("claude", NOT_LOGGED_IN, detail=f"no login in {credentials}")


def codex(environ: Mapping[str, str], home: Path) -> CliAccount:
    base = _home(environ, home, "CODEX_HOME", home / ".codex")
    path = base / "auth.json"
    auth = _json(path)
    if auth is None:
        return _codex_without_login(environ, base, f"no {path}")
    tokens = auth.get("tokens")
    if isinstance(tokens, dict) and _text(tokens.get("id_token") or tokens.get("access_token")):
        claims = _jwt_claims(tokens.get("id_token"))
        openai = claims.get("https://api.openai.com/auth")
        plan = _text(openai.get("chatgpt_plan_type")) if isinstance(openai, dict) else None
        return CliAccount(
            "codex", LOGGED_IN, "ChatGPT", _text(claims.get("email")), plan, f"read from {path}"
        )
    if _text(auth.get("OPENAI_API_KEY")):
        return _key("codex", "OPENAI_API_KEY", f"read from {path}")
    return _codex_without_login(environ, base, f"{path} holds no login")


def _codex_without_login(environ: Mapping[str, str], base: Path, why: str) -> CliAccount:
    """No login in `auth.json`: a key in the environment (`codex exec` reads `CODEX_API_KEY`;
    `OPENAI_API_KEY` is taken as one too, in doubt), or a `config.toml` that may choose a
    provider of its own (an Ollama, a gateway) leaves it not logged out."""
    for name in ("CODEX_API_KEY", "OPENAI_API_KEY"):
        if environ.get(name, "").strip():
            return _key("codex", name, FROM_ENVIRONMENT)
    config = base / "config.toml"
    try:
        text = config.read_text(encoding="utf-8", errors="replace")[:MAX_FILE_BYTES]
    except FileNotFoundError:
        return CliAccount("codex", NOT_LOGGED_IN, detail=why)
    except OSError as exc:
        return CliAccount("codex", UNKNOWN, detail=f"{config} cannot be read: {exc}")
    if "model_provider" in text or "profile" in text:
        return CliAccount("codex", UNKNOWN, detail=f"{config} may choose another provider")
    return CliAccount("codex", NOT_LOGGED_IN, detail=why)


def _jwt_claims(token: Any) -> dict[str, Any]:
    """The payload of a JWT, unverified (only to name the account); {} when unreadable."""
    if not isinstance(token, str) or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


GEMINI_METHODS = {
    "oauth-personal": "Google account",
    "gemini-api-key": "GEMINI_API_KEY",
    "vertex-ai": "Vertex AI",
    "compute-default-credentials": "Google Cloud default credentials",
}


def gemini(environ: Mapping[str, str], home: Path) -> CliAccount:
    base = _home(environ, home, "GEMINI_CLI_HOME", home) / ".gemini"
    settings = _json(base / "settings.json") or {}
    auth = _table(_table(settings, "security"), "auth")
    chosen = _text(auth.get("selectedType")) or _text(settings.get("selectedAuthType"))
    has_key = bool(environ.get("GEMINI_API_KEY", "").strip())
    if chosen == "oauth-personal":
        accounts = _json(base / "google_accounts.json") or {}
        active = _text(accounts.get("active"))
        creds = _json(base / "oauth_creds.json")
        if creds is not None and _text(creds.get("refresh_token") or creds.get("access_token")):
            return CliAccount(
                "gemini", LOGGED_IN, "Google account", active, None, f"read from {base}"
            )
        if active:
            return CliAccount(
                "gemini",
                UNKNOWN,
                "Google account",
                active,
                None,
                f"no oauth_creds.json in {base}: the token may be in the OS keychain",
            )
        return CliAccount("gemini", NOT_LOGGED_IN, "Google account", detail=f"no login in {base}")
    if chosen == "gemini-api-key" or (chosen is None and has_key):
        if has_key:
            return CliAccount("gemini", API_KEY, "GEMINI_API_KEY", None, None, FROM_ENVIRONMENT)
        return CliAccount(
            "gemini",
            NOT_LOGGED_IN,
            "GEMINI_API_KEY",
            detail="settings.json chooses an API key, but GEMINI_API_KEY is not set here",
        )
    if chosen is not None:
        return CliAccount(
            "gemini",
            UNKNOWN,
            GEMINI_METHODS.get(chosen, chosen),
            detail="Google Cloud credentials are not read here",
        )
    cloud = [name for name in GEMINI_CLOUD_VARIABLES if environ.get(name, "").strip()]
    if cloud:
        return CliAccount(
            "gemini", UNKNOWN, detail=f"{cloud[0]} is set: Google Cloud credentials are not read"
        )
    # What Gemini CLI 0.61 itself refuses to run without (its error code 41).
    return CliAccount(
        "gemini", NOT_LOGGED_IN, detail=f"no sign-in chosen in {base / 'settings.json'}"
    )


# Besides GEMINI_API_KEY, what Gemini CLI takes for a sign-in from the environment.
GEMINI_CLOUD_VARIABLES = ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA")


COPILOT_TOKEN_VARIABLES = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")
# Copilot's own model provider ("bring your own key"): with its URL set, its calls go there and
# no GitHub login is needed (`copilot help environment`, 1.0.102). Its credential, in the order
# the CLI takes them; a local server (Ollama) may need none.
COPILOT_PROVIDER_URL = "COPILOT_PROVIDER_BASE_URL"
COPILOT_PROVIDER_CREDENTIALS = (
    "COPILOT_PROVIDER_API_KEY_COMMAND",
    "COPILOT_PROVIDER_BEARER_TOKEN",
    "COPILOT_PROVIDER_API_KEY",
)


def copilot(environ: Mapping[str, str], home: Path) -> CliAccount:
    own = _copilot_own_provider(environ)
    if own is not None:
        return own
    base = _home(environ, home, "COPILOT_HOME", home / ".copilot")
    for name in COPILOT_TOKEN_VARIABLES:
        if environ.get(name, "").strip():
            return CliAccount(
                "copilot", API_KEY, name, None, None, "a GitHub token from the environment"
            )
    config = _json(base / "config.json") or {}
    last = config.get("last_logged_in_user")
    users = [u for u in config.get("logged_in_users", []) if isinstance(u, dict)]
    user = last if isinstance(last, dict) else (users[0] if users else None)
    if user is not None and _text(user.get("login")):
        host = _text(user.get("host")) or "https://github.com"
        login = str(user["login"]).strip()
        who = login if host == "https://github.com" else f"{login} on {host}"
        return CliAccount(
            "copilot", LOGGED_IN, "GitHub account", who, None, f"read from {base / 'config.json'}"
        )
    return _gh_login(environ, home) or CliAccount(
        "copilot",
        NOT_LOGGED_IN,
        detail=f"no login in {base / 'config.json'}, no GitHub token and no gh CLI login",
    )


def _copilot_own_provider(environ: Mapping[str, str]) -> CliAccount | None:
    """Copilot pointed at a model provider of its own, named by its origin; None where it uses
    GitHub's."""
    url = environ.get(COPILOT_PROVIDER_URL, "").strip()
    if not url:
        return None
    where = origin_of(url)  # a URL may carry a user and password, a query a key
    credential = next((n for n in COPILOT_PROVIDER_CREDENTIALS if environ.get(n, "").strip()), None)
    if credential is None:  # a local server may answer without one: in doubt, not held back
        return CliAccount(
            "copilot",
            UNKNOWN,
            COPILOT_PROVIDER_URL,
            where,
            None,
            "its own model provider, with no key set (a local server needs none): no GitHub "
            "login needed",
        )
    return CliAccount(
        "copilot",
        API_KEY,
        credential,
        where,
        None,
        f"its own model provider ({COPILOT_PROVIDER_URL}): no GitHub login needed",
    )


def _gh_config_dir(environ: Mapping[str, str], home: Path) -> Path:
    """Where the GitHub CLI keeps `hosts.yml`, as `gh` itself chooses it."""
    chosen = environ.get("GH_CONFIG_DIR", "").strip()
    if chosen:
        return Path(chosen).expanduser()
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    if xdg:
        return Path(xdg).expanduser() / "gh"
    if sys.platform == "win32" and environ.get("APPDATA", "").strip():
        return Path(environ["APPDATA"]) / "GitHub CLI"
    return home / ".config" / "gh"


def _gh_login(environ: Mapping[str, str], home: Path) -> CliAccount | None:
    """The GitHub CLI's login, which Copilot uses where it has none of its own: a host in
    `hosts.yml` (its token may be in the OS keyring, which is not read). None where `gh` holds
    none; "cannot tell" where the file cannot be read."""
    path = _gh_config_dir(environ, home) / "hosts.yml"
    try:
        with path.open("rb") as handle:
            text = handle.read(MAX_FILE_BYTES).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return CliAccount("copilot", UNKNOWN, detail=f"{path} cannot be read: {exc}")
    host: str | None = None
    users: dict[str, str | None] = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#") and ":" in line:
            host = line.split(":", 1)[0].strip().strip("'\"")
            users.setdefault(host, None)
        elif host is not None and line.strip().startswith("user:"):
            users[host] = _text(line.split(":", 1)[1].strip().strip("'\""))
    if not users:
        return None
    host = "github.com" if "github.com" in users else next(iter(users))
    login = users[host]
    who = login if host == "github.com" or login is None else f"{login} on {host}"
    return CliAccount("copilot", LOGGED_IN, "the gh CLI's login", who, None, f"read from {path}")


OPENCODE_TYPES = {"oauth": "login", "api": "API key", "wellknown": "token"}


def opencode(environ: Mapping[str, str], home: Path) -> CliAccount:
    data_home = _home(environ, home, "XDG_DATA_HOME", home / ".local" / "share")
    path = data_home / "opencode" / "auth.json"
    auth = _json(path) or {}
    entries = {name: e for name, e in auth.items() if isinstance(e, dict) and e.get("type")}
    if not entries:
        return CliAccount("opencode", NOT_LOGGED_IN, detail=f"no credentials in {path}")
    described = ", ".join(
        f"{name} ({OPENCODE_TYPES.get(str(e['type']), str(e['type']))})"
        for name, e in sorted(entries.items())
    )
    state = LOGGED_IN if any(e["type"] == "oauth" for e in entries.values()) else API_KEY
    return CliAccount("opencode", state, described, None, None, f"read from {path}")


def grok(environ: Mapping[str, str], home: Path) -> CliAccount:
    """xAI's Grok CLI: a sign-in (`grok login`) in `$GROK_HOME/auth.json` wins over an API key
    (as the CLI itself prefers it); `XAI_API_KEY` (or `GROK_CODE_XAI_API_KEY`) otherwise."""
    path = _home(environ, home, "GROK_HOME", home / ".grok") / "auth.json"
    stored = _grok_credential(_json(path) or {})
    if stored is not None:
        who = _text(stored.get("principal_display_name")) or _text(stored.get("principal_id"))
        return CliAccount("grok", LOGGED_IN, "grok.com sign-in", who, None, f"read from {path}")
    for name in ("XAI_API_KEY", "GROK_CODE_XAI_API_KEY"):
        if environ.get(name, "").strip():
            return _key("grok", name, FROM_ENVIRONMENT)
    return CliAccount(
        "grok", NOT_LOGGED_IN, detail=f"no sign-in in {path} and no XAI_API_KEY (`grok login`)"
    )


def _grok_credential(data: Mapping[str, Any], depth: int = 0) -> Mapping[str, Any] | None:
    """The object holding grok's `access_token` (at the top, or one level of nesting down)."""
    if _text(data.get("access_token")):
        return data
    if depth < 2:
        for value in data.values():
            if isinstance(value, dict) and (found := _grok_credential(value, depth + 1)):
                return found
    return None


def mistral(environ: Mapping[str, str], home: Path) -> CliAccount:
    if environ.get("MISTRAL_API_KEY", "").strip():
        return _key("mistral", "MISTRAL_API_KEY", FROM_ENVIRONMENT)
    path = _home(environ, home, "VIBE_HOME", home / ".vibe") / ".env"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace")[:MAX_FILE_BYTES].splitlines()
    except OSError:
        lines = []
    for line in lines:
        name, equals, value = line.strip().removeprefix("export ").partition("=")
        if equals and name.strip() == "MISTRAL_API_KEY" and value.strip().strip("'\""):
            return CliAccount(
                "mistral", API_KEY, "MISTRAL_API_KEY", None, None, f"read from {path}"
            )
    config = path.with_name("config.toml")
    if config.exists():
        # Its own models and providers (a llama.cpp server needs no key): not told from here.
        return CliAccount("mistral", UNKNOWN, detail=f"no MISTRAL_API_KEY, and {config} is its own")
    return CliAccount("mistral", NOT_LOGGED_IN, detail=f"no MISTRAL_API_KEY here or in {path}")


Reader = Callable[[Mapping[str, str], Path], CliAccount]


# The ACP agents the gateway points at itself (`acp/gateway_env.ROUTES`), each with the CLI
# whose files say its login when its own settings choose its route instead (None: nothing
# does). The login watch (`cli_login.py`) looks at the same agents.
POINTED_AGENTS: Mapping[str, str | None] = {
    "claude-acp": None,
    "codex-acp": "codex",
    "qwen": None,
    "gemini-acp": "gemini",
}
_VENDOR_SPECS = {spec.id: spec for spec in API_PROVIDERS}


def vendor_spec(provider: str) -> ApiProviderSpec:
    """The API provider whose key a pointed agent's model calls go out with."""
    return _VENDOR_SPECS[ROUTES[provider].vendor]


def _pointed_agent(provider: str, own_cli: str | None) -> Reader:
    """An ACP agent the gateway points at itself: its model calls come back through the
    gateway and use the gateway's key for its vendor, unless its own settings choose its
    route; then its vendor CLI's files say (`own_cli`), or nothing does."""
    name = vendor_spec(provider).name

    def read(environ: Mapping[str, str], home: Path) -> CliAccount:
        elsewhere = own_route(provider, {"HOME": str(home), **environ})
        if elsewhere is None:
            return CliAccount(
                provider,
                THROUGH_GATEWAY,
                f"{name}'s key",
                detail=f"its model calls come back through the gateway, with its {name} key",
            )
        if own_cli is not None:
            return dataclasses.replace(READERS[own_cli](environ, home), provider=provider)
        return CliAccount(provider, UNKNOWN, detail=f"its own settings choose: {elsewhere}")

    return read


READERS: dict[str, Reader] = {
    "claude": claude,
    "codex": codex,
    "gemini": gemini,
    "copilot": copilot,
    "opencode": opencode,
    "grok": grok,
    "mistral": mistral,
    **{agent: _pointed_agent(agent, own_cli) for agent, own_cli in POINTED_AGENTS.items()},
}


def read_account(provider: str, environ: Mapping[str, str], home: Path) -> CliAccount:
    """`provider`'s login as its files say; a file that cannot be used is "cannot tell", with
    why (blocking: run it off the loop)."""
    reader = READERS.get(provider)
    if reader is None:
        return CliAccount(provider, UNKNOWN, detail="the gateway does not know where it logs in")
    try:
        return reader(environ, home)
    except _Unreadable as exc:
        return CliAccount(provider, UNKNOWN, detail=str(exc))
