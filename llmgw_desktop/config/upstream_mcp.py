"""`[mcp.servers.NAME]` in config.toml: the user's own MCP servers, read and checked. Pure code.

A server is either started by the gateway over stdio (`command`, `args`, `env`, `cwd`) or
reached over Streamable HTTP (`url`, `headers`, and `oauth = true` for a server that wants its
user signed in: the SDK's OAuth client, tokens kept in the vault). What it offers appears on our
`/mcp` under its name: tools and prompts as `NAME__tool` and `NAME__prompt`, resources (and
resource templates) as `NAME+` before the server's own URI (`files+file:///tmp/a.txt`). A server
name holds letters, digits and '-' only, none of our own tools or prompts has a double
underscore and none of our resource URIs has a '+' before its first ':', so no two offered names
can meet, and the first `__` or `+` says whose it is.

Policy, per server: `deny` names tools, prompts and resource URIs nobody may use; the operator
(the local user, the holder of the bearer token) may use everything else; a remote principal
(an OAuth client, a user named by the trusted proxy) only what `remote` opens ("none", the
default; "read-only": the tools the server marks readOnlyHint, and every prompt and resource,
since getting a prompt or reading a resource changes nothing; "all") plus what `allow` lists.
A resource entry in `allow` or `deny` is the server's own URI, or a prefix of URIs ending in
`*` (`"file:///home/me/secret/*"`). `approval` names tools that wait for the person at the desk
before each call.

An `env` or `headers` value `vault:NAME` is the first API key stored in the vault under the
name NAME (`vault_store` with provider NAME), read when the server starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.words import one_of, unknown_names

__all__ = [
    "NAMESPACE_SEPARATOR",
    "REMOTE_LEVELS",
    "RESOURCE_SEPARATOR",
    "SERVER_NAME",
    "VAULT_PREFIX",
    "UpstreamServerConfig",
    "check_servers",
    "field_named",
    "offered_uri",
    "parse_servers",
    "split_offered",
]

NAMESPACE_SEPARATOR = "__"
RESOURCE_SEPARATOR = "+"
REMOTE_LEVELS = ("none", "read-only", "all")
VAULT_PREFIX = "vault:"
# A server's name: its tools are offered as NAME__tool, a CLI is handed it under it.
SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
_FIELDS = frozenset(
    {"command", "args", "env", "cwd", "url", "headers", "oauth", "enabled"}
    | {"remote", "allow", "deny", "approval"}
)


@dataclass(frozen=True)
class UpstreamServerConfig:
    """One upstream MCP server as the operator configured it."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str = ""
    url: str = ""
    headers: Mapping[str, str] | None = None
    oauth: bool = False
    enabled: bool = True
    remote: str = "none"
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    approval: frozenset[str] = frozenset()

    @property
    def transport(self) -> str:
        return "stdio" if self.command else "http"

    def key(self, field: str) -> str:
        """The setting's dotted key for one of this server's fields (for messages)."""
        return f"mcp.servers.{self.name}.{field}"


def offered_uri(server: str, uri: str) -> str:
    """A server's resource URI (or URI template) as our /mcp offers it."""
    return f"{server}{RESOURCE_SEPARATOR}{uri}"


def split_offered(offered: str, separator: str) -> tuple[str, str] | None:
    """(server, its own name or URI) of an offered name, or None when it names no server's."""
    server, sep, own = offered.partition(separator)
    if not sep or not own or not SERVER_NAME.fullmatch(server):
        return None
    return server, own


def parse_servers(value: Mapping[str, Any]) -> dict[str, UpstreamServerConfig]:
    """Each `[mcp.servers.NAME]` table as a config.

    Raises:
        ValueError: a table is malformed; the message names the server and the field.
    """
    servers: dict[str, UpstreamServerConfig] = {}
    for name, table in value.items():
        if not SERVER_NAME.fullmatch(name):
            raise ValueError(
                f"server name {name!r} must be letters, digits and '-' (at most 40; its tools "
                f"are offered as NAME{NAMESPACE_SEPARATOR}tool)"
            )
        if not isinstance(table, Mapping):
            raise ValueError(f"{name}: must be a table (command = ... or url = ...)")
        servers[name] = _server(name, table)
    return servers


def field_named(message: str) -> str:
    """The field a `parse_servers` message is about (the first one it names): "name" when it
    is about the server's name, the table's first field otherwise."""
    if message.startswith("server name"):
        return "name"
    about = message.partition(": ")[2]
    if about.startswith("unknown field"):
        # The names as `repr` writes them: in double quotes when a name holds a single one.
        unknown = re.search(r"""unknown fields? (['"])(.+?)\1""", about)
        return unknown.group(2) if unknown else "name"
    words = re.findall(r"[a-z]+", about)
    return next((w for w in words if w in _FIELDS), "command")


def check_servers(value: Mapping[str, Any]) -> str | None:
    """The settings check: None when every table is well formed, else the problem."""
    try:
        parse_servers(value)
    except ValueError as exc:
        return str(exc)
    return None


def _server(name: str, table: Mapping[str, Any]) -> UpstreamServerConfig:
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        raise ValueError(f"{name}: {unknown_names('field', unknown, sorted(_FIELDS))}")
    command, url = table.get("command", ""), table.get("url", "")
    if not isinstance(command, str) or not isinstance(url, str):
        raise ValueError(f"{name}: command and url must be strings")
    if bool(command) == bool(url):
        raise ValueError(f"{name}: give either command (stdio) or url (Streamable HTTP), not both")
    if url and not url.startswith(("http://", "https://")):
        raise ValueError(f"{name}: url must start with http:// or https://, not {url!r}")
    misplaced = [k for k in ("args", "env", "cwd") if k in table] if url else []
    misplaced += [k for k in ("headers", "oauth") if k in table] if command else []
    if misplaced:
        server = "a stdio server (command = ...)" if url else "a Streamable HTTP server (url = ...)"
        verb = "is" if len(misplaced) == 1 else "are"
        raise ValueError(f"{name}: {' and '.join(misplaced)} {verb} for {server}")
    oauth = table.get("oauth", False)
    if not isinstance(oauth, bool):
        raise ValueError(f"{name}: oauth must be true or false")
    remote = table.get("remote", "none")
    if remote not in REMOTE_LEVELS:
        raise ValueError(f"{name}: remote {one_of(remote, REMOTE_LEVELS)}")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError(f"{name}: enabled must be true or false")
    cwd = table.get("cwd", "")
    if not isinstance(cwd, str):
        raise ValueError(f"{name}: cwd must be a string (a directory)")
    return UpstreamServerConfig(
        name=name,
        command=command,
        args=_strings(name, "args", table.get("args", [])),
        env=_table(name, "env", table.get("env")),
        cwd=cwd,
        url=url,
        headers=_table(name, "headers", table.get("headers")),
        oauth=oauth,
        enabled=enabled,
        remote=remote,
        allow=frozenset(_strings(name, "allow", table.get("allow", []))),
        deny=frozenset(_strings(name, "deny", table.get("deny", []))),
        approval=frozenset(_strings(name, "approval", table.get("approval", []))),
    )


def _strings(name: str, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name}: {field} must be a list of strings")
    return tuple(value)


def _table(name: str, field: str, value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f'{name}: {field} must be a table of strings (KEY = "value")')
    for key, text in value.items():
        if text.startswith(VAULT_PREFIX) and not text[len(VAULT_PREFIX) :].strip():
            raise ValueError(f"{name}: {field}.{key} names no vault key after 'vault:'")
    return dict(value)
