"""How a setting is declared (`setting()`), and the checks behind them.

A check returns None when a value is fine, else a message meant to follow the setting's key
("http.port: 70000 is out of range ..."); `settings.load_settings` adds where the value came
from.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from llmgw_desktop.config.api_catalog import BUILTIN_SWITCH_IDS, switch_id_for
from llmgw_desktop.config.child_env_names import FAMILIES, never_passed
from llmgw_desktop.config.cli_catalog import PROVIDER_IDS
from llmgw_desktop.config.remote_power import GLOBAL_LEVELS, LEVELS, unspecific_command
from llmgw_desktop.config.upstream_mcp import SERVER_NAME
from llmgw_desktop.config.words import listed, not_all, one_of, unknown_names

__all__ = [
    "LOG_LEVELS",
    "aliases",
    "bind_host",
    "ip_networks",
    "is_loopback",
    "known_clis",
    "known_providers",
    "log_level",
    "not_negative",
    "origins",
    "port",
    "positive",
    "relay_silence_ms",
    "remote_level",
    "section",
    "server_names",
    "setting",
    "table_fields_problem",
    "tool_names",
    "url_has_password",
    "url_path",
    "workers",
    "workspace_paths",
]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
MIN_TOKEN_CHARS = 32
REGISTRATION_POLICIES = ("static_clients", "shared_secret", "open_dev")
OAUTH_CLIENT_FIELDS = frozenset(
    {"name", "redirect_uris", "scopes", "client_secret_sha256", "client_secret_env", "public"}
)
STORE_URL_SCHEMES = ("postgresql", "postgres")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# A workspace given as a table rather than a path: its path and what remote callers may do there.
WORKSPACE_FIELDS = frozenset({"path", "remote_level", "remote_allowed_tools", "remote_mcp_servers"})
# `workspaces.registry`: name = "path", or name = { path = ..., remote_level = ..., ... }.
WorkspaceEntries = dict[str, str | dict[str, Any]]
T = TypeVar("T")


def port(value: int) -> str | None:
    if 0 <= value <= 65535:
        return None
    return f"{value} is out of range; a port is 1 to 65535 (0 picks any free port)"


def positive(value: int) -> str | None:
    return None if value > 0 else f"{value} must be greater than 0"


def not_negative(value: int) -> str | None:
    return None if value >= 0 else f"{value} must be 0 or more"


# A bound on processes per host: each pools up to five store connections, so even this many
# needs a PostgreSQL with max_connections raised (or a pooler) beside its other clients.
MAX_WORKERS = 64


def workers(value: int) -> str | None:
    if not 1 <= value <= MAX_WORKERS:
        return f"must be from 1 to {MAX_WORKERS}"
    return None


def percent(value: int) -> str | None:
    return None if 1 <= value <= 100 else f"{value} must be a percentage from 1 to 100"


# A lease is renewed every third of its length: shorter than this, renewals would crowd the
# database thread; longer than a day, a dead process's jobs would wait that long.
LEASE_MS_MIN = 300
LEASE_MS_MAX = 86_400_000


def lease_ms(value: int) -> str | None:
    if LEASE_MS_MIN <= value <= LEASE_MS_MAX:
        return None
    return f"{value} must be between {LEASE_MS_MIN} and {LEASE_MS_MAX} (milliseconds)"


# The stdio relay's wait on a silent gateway: shorter than a second, a gateway busy for a moment
# (a full garbage collection, a slow disk) would have its editors' calls given up; longer than
# an hour is no bound an editor's user would wait out.
RELAY_SILENCE_MS_MIN = 1_000
RELAY_SILENCE_MS_MAX = 3_600_000


def relay_silence_ms(value: int) -> str | None:
    if RELAY_SILENCE_MS_MIN <= value <= RELAY_SILENCE_MS_MAX:
        return None
    return (
        f"{value} must be between {RELAY_SILENCE_MS_MIN} and {RELAY_SILENCE_MS_MAX} (milliseconds)"
    )


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    if host.lower().strip("[]") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_host(value: str) -> str | None:
    """An address or host name to listen on. Whether a non-loopback one may be used is decided
    with the authentication settings at start-up (`engine/auth/policy.py`)."""
    try:
        ipaddress.ip_address(value.strip("[]"))
        return None
    except ValueError:
        pass
    if re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})", value):
        return None
    return f"{value!r} is not an IP address or host name"


def auth_token(value: str) -> str | None:
    if value and len(value) < MIN_TOKEN_CHARS:
        return (
            f"is {len(value)} characters; a bearer token must be at least {MIN_TOKEN_CHARS} "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if value and any(c.isspace() for c in value):
        return "must not contain spaces or line breaks"
    return None


def public_url(value: str) -> str | None:
    if not value:
        return None
    if not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value) or value.endswith("/"):
        return f"{value!r} must be a URL such as https://gw.example.com (no query, no trailing /)"
    return None


def header_name(value: str) -> str | None:
    if value and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", value):
        return f"{value!r} is not a header name (letters, digits and '-')"
    return None


def _host_name(value: str) -> bool:
    """A host name or an IP address as a `Host` header names it, port left out (an IPv6
    address bare or in brackets): what `http.allowed_hosts` is matched on."""
    if re.fullmatch(r"[A-Za-z0-9.-]{1,253}", value):
        return True
    try:
        ipaddress.IPv6Address(value[1:-1] if value.startswith("[") else value)
    except ValueError:
        return False
    return value.startswith("[") == value.endswith("]")


def host_names(value: list[str]) -> str | None:
    bad = [h for h in value if not _host_name(h)]
    if not bad:
        return None
    return not_all(
        bad,
        "is not a host name (no scheme, port or path)",
        "are not host names (no scheme, port or path)",
    )


def ip_networks(value: list[str]) -> str | None:
    bad = []
    for entry in value:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            bad.append(entry)
    if not bad:
        return None
    such = "such as 10.0.0.0/8"
    return not_all(
        bad, f"is not an IP address or network {such}", f"are not IP addresses or networks {such}"
    )


def registration_policy(value: str) -> str | None:
    return None if value in REGISTRATION_POLICIES else one_of(value, REGISTRATION_POLICIES)


def consent_password_hash(value: str) -> str | None:
    if value and not value.startswith("scrypt$"):
        return (
            "must be a scrypt hash made by `llmgw-desktop hash-password`, never the password itself"
        )
    return None


def absolute_paths(value: list[str]) -> str | None:
    bad = [p for p in value if not Path(p).expanduser().is_absolute()]
    return not_all(bad, "is not an absolute path", "are not absolute paths") if bad else None


def dir_names(value: list[str]) -> str | None:
    bad = [n for n in value if not n or "/" in n or "\\" in n]
    if not bad:
        return None
    return not_all(
        bad,
        "is not a plain directory name such as .ssh",
        "are not plain directory names such as .ssh",
    )


def oauth_clients(value: dict[str, Any]) -> str | None:
    for client_id, table in value.items():
        where = f"client {client_id!r}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", client_id):
            return f"{where}: ids are letters, digits, '.', '_' or '-'"
        if not isinstance(table, dict):
            return f"{where} must be a table with redirect_uris"
        unknown = sorted(set(table) - OAUTH_CLIENT_FIELDS)
        if unknown:
            return f"{where}: {unknown_names('field', unknown, sorted(OAUTH_CLIENT_FIELDS))}"
        uris = table.get("redirect_uris")
        if (
            not isinstance(uris, list)
            or not uris
            or not all(isinstance(u, str) and re.match(r"^[a-z][a-z0-9+.-]*://", u) for u in uris)
        ):
            return f"{where}: redirect_uris must be a non-empty list of absolute URIs"
        for name in ("name", "scopes", "client_secret_sha256", "client_secret_env"):
            if name in table and not isinstance(table[name], str):
                return f"{where}: {name} must be a string"
        digest = table.get("client_secret_sha256", "")
        if digest and not re.fullmatch(r"[0-9a-f]{64}", digest):
            return f"{where}: client_secret_sha256 must be 64 lowercase hex characters"
        if "public" in table and not isinstance(table["public"], bool):
            return f"{where}: public must be true or false"
    return None


def url_path(value: str) -> str | None:
    if not value.startswith("/") or value == "/" or any(c in value for c in "?# "):
        return f"{value!r} must be a path such as /mcp (starts with '/', no query or spaces)"
    return None


def store_url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in STORE_URL_SCHEMES:
        return (
            # Not the value itself: a URL written without its scheme may still hold a password.
            f"must be a postgresql:// URL (the only server store), not "
            f"{parts.scheme + '://' if parts.scheme else 'one without a scheme'}"
            "; leave it empty for the SQLite file"
        )
    if not parts.hostname and "host=" not in parts.query:
        return "must name the server: postgresql://user@host:port/database"
    if not parts.path.strip("/"):
        return "must name the database: postgresql://user@host:port/database"
    return None


def url_has_password(url: str) -> bool:
    """Whether a store URL holds a password (in its authority or a `password` parameter)."""
    parts = urlsplit(url)
    return bool(parts.password) or any(
        name.lower() == "password" for name, _ in parse_qsl(parts.query)
    )


def time_zone(value: str) -> str | None:
    if not value or value.upper() == "UTC":
        return None
    import zoneinfo  # only for a named zone: the stdio relay and a start without one skip it

    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return (
            f"{value!r} is not a time zone this computer knows: name one such as Europe/Paris "
            "or UTC (on Windows, named zones need the tzdata package)"
        )
    return None


def log_level(value: str) -> str | None:
    return None if value.upper() in LOG_LEVELS else one_of(value, LOG_LEVELS)


def known_providers(
    value: list[str], added: Iterable[str] = (), agents: Iterable[str] = ()
) -> str | None:
    """Every name is a provider's switch: a CLI, a built-in API provider or local server, one
    of `added` (the ids of [gateway.providers] tables) or of `agents` ([providers.acp])."""
    known = list(dict.fromkeys([*BUILTIN_SWITCH_IDS, *(switch_id_for(a) for a in added), *agents]))
    unknown = [name for name in value if name not in known]
    if unknown:
        return unknown_names("provider", unknown, known)
    return None


def known_clis(value: list[str], agents: Iterable[str] = ()) -> str | None:
    """Every name is a CLI's or ACP agent's engine id: a shipped one, or one of `agents` (the
    names [providers.acp] tables add)."""
    known = list(dict.fromkeys([*PROVIDER_IDS, *agents]))
    unknown = [name for name in value if name not in known]
    if unknown:
        return unknown_names("CLI", unknown, known)
    return None


def origins(value: list[str]) -> str | None:
    bad = [o for o in value if not o.startswith(("http://", "https://")) or o.endswith("/")]
    if bad:
        such = "such as http://localhost:5173 (scheme and host, no path)"
        return not_all(bad, f"is not an origin {such}", f"are not origins {such}")
    return None


def workspace_paths(value: WorkspaceEntries) -> str | None:
    for name, entry in value.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
            return f"workspace name {name!r} must be letters, digits, '.', '_' or '-'"
        if isinstance(entry, dict):
            problem = _workspace_table(name, entry)
            if problem:
                return problem
            path = entry["path"]
        else:
            path = entry
        if not Path(path).expanduser().is_absolute():
            return f"workspace {name!r} must be an absolute path, not {path!r}"
    return None


def _workspace_table(name: str, table: dict[str, Any]) -> str | None:
    unknown = sorted(set(table) - WORKSPACE_FIELDS)
    if unknown:
        return f"workspace {name!r}: {unknown_names('field', unknown, sorted(WORKSPACE_FIELDS))}"
    if not isinstance(table.get("path"), str):
        return f'workspace {name!r} needs path = "/absolute/dir"'
    level = table.get("remote_level", LEVELS[1])
    if not isinstance(level, str) or level not in LEVELS:
        return f"workspace {name!r}: remote_level {one_of(level, LEVELS)}"
    tools = table.get("remote_allowed_tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        return f"workspace {name!r}: remote_allowed_tools must be a list of tool names"
    problem = tool_names(tools) or server_names(table.get("remote_mcp_servers", []))
    return f"workspace {name!r}: {problem}" if problem else None


def server_names(value: Any) -> str | None:
    """A list of MCP server names (`[mcp.servers.NAME]`), each well formed."""
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        return "remote_mcp_servers must be a list of MCP server names"
    bad = [n for n in value if not SERVER_NAME.fullmatch(n)]
    return f"remote_mcp_servers: {bad[0]!r} is not an MCP server name" if bad else None


def remote_level(value: str) -> str | None:
    if value in GLOBAL_LEVELS:
        return None
    if value == "bypass":
        return (
            'may not be "bypass": a full bypass is granted one workspace at a time, with '
            'remote_level = "bypass" in its [workspaces.registry.NAME] table'
        )
    return one_of(value, GLOBAL_LEVELS)


def tool_names(value: list[str]) -> str | None:
    bad = [t for t in value if not t.strip() or t.startswith("-") or len(t) > 200]
    if bad:
        return not_all(
            bad,
            "is not a tool name such as Bash(npm test)",
            "are not tool names such as Bash(npm test)",
        )
    # A remote grant of any command (or any arguments to one) is a shell: those go by bypass.
    shells = [t for t in value if unspecific_command(t)]
    if shells:
        return (
            f"{shells} would let a remote caller run any command (or any arguments); list "
            'exact commands such as "Bash(npm test)", or give a workspace you would hand a '
            'shell remote_level = "bypass" in its own table'
        )
    return None


def pass_env(value: dict[str, Any]) -> str | None:
    for provider, names in value.items():
        if provider not in FAMILIES:
            return f"{provider!r} is not a CLI; one of {listed(sorted(FAMILIES))}"
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return f'{provider}: must be a list of variable names, such as ["AWS_PROFILE"]'
        for name in names:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\*?", name) or name == "*":
                return f"{provider}: {name!r} is not a variable name (NAME, or PREFIX_*)"
            if never_passed(name.rstrip("*")) or never_passed(name):
                return (
                    f"{provider}: {name!r} is the gateway's own (LLM_GATEWAY_*, LLMGW_*) or the "
                    "store's (PG*): no child process may see those"
                )
    return None


def aliases(value: dict[str, str]) -> str | None:
    for name, target in value.items():
        if not name or not target or any(c.isspace() for c in name + target):
            return f"alias {name!r} = {target!r} must map a name to a model id (no spaces)"
        if name == target:
            return f"alias {name!r} points at itself"
    return None


def setting(
    default: Any,
    *,
    env: str,
    doc: str,
    check: Callable[[Any], str | None] | None = None,
    secret: bool = False,
    older_env: tuple[str, ...] = (),
) -> Any:
    """Declare one setting as a dataclass field carrying its env var, doc and check.

    Its key is where it sits: the field's name, under the names of the sections holding it
    (`declared_settings()` reads them). A `secret` setting's value is masked wherever settings
    are shown (`config --show`). `older_env`: other names the setting is read from when `env`
    is not set, the names people already have in their environment (a gateway the project
    was specified from); two of its names set to different values refuse to load.
    """
    meta = {"env": env, "doc": doc, "check": check, "secret": secret, "older_env": older_env}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def section(table: type[T]) -> T:
    """Declare a section: a field holding the settings of one TOML table (`[http.oauth]`)."""
    return field(default_factory=table, metadata={"section": True})


def table_fields_problem(
    where: str, table: Mapping[str, Any], fields: Mapping[str, type], what: str
) -> str | None:
    """A field `table` (at `where`) has that `fields` does not name, or one of another type
    than `fields` says; None when there is none (`what`: whose fields they are, in the
    message)."""
    for name, item in table.items():
        expected = fields.get(name)
        if expected is None:
            return f"{where}.{name} is not {what}'s field; known: {listed(fields, 'and')}"
        if not isinstance(item, expected):
            return f"{where}.{name} must be a {expected.__name__}"
    return None
