"""The gateway's MCP servers handed to a CLI for one call (`mcpServers` on the CLI tools).

The caller names servers the operator configured (`[mcp.servers.NAME]`); each CLI that can take
them gets them its own way:

- Claude Code: their definitions in a file, `--mcp-config FILE` (`{"mcpServers": {...}}`),
  each `alwaysLoad`: otherwise a server still starting is left out of the first turn (the model
  is offered a tool to wait for it); one that fails is named in the answer's notices
  (`cli/claude.py`);
- Codex: their definitions as `-c mcp_servers.NAME.command=...` overrides, each `required`:
  Codex gives a server it may do without one second before the first turn and then starts
  without its tools, silently; a server the call names is what the call is for, so Codex waits
  for it (its `startup_timeout_sec`) and fails the call, naming it, if it cannot start;
- Gemini CLI: `--allowed-mcp-server-names`, which limits the call to those of the servers its
  own settings define. It reads definitions only from its settings files, and a settings file
  given by path (`GEMINI_CLI_SYSTEM_SETTINGS_PATH`) is refused unless root owns it and every
  folder above it: so the operator defines the server in Gemini CLI's settings under the same
  name (docs/mcp-tools.md), and the gateway's grant decides who may name it. It waits for a
  server still starting; one that fails is a notice in the answer (`cli/gemini.py`).

A file is written into a directory of the call's own (0700, its file 0600), removed when the
call ends (`handoff_file`). A definition holding `env` or `headers` values goes only in a
file, never on a command line, which every local user can read: Codex is refused such a
server. A `vault:` value is the gateway's secret and stays in the gateway (it is offered on
`/mcp`): such a server is refused to a CLI given definitions. Which servers a remote caller
may name is the workspace's grant (`workspaces/remote_power.confine`), checked before this.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from llmgw_desktop.config.upstream_mcp import VAULT_PREFIX, UpstreamServerConfig
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.providers.base import ProviderRequest
from llmgw_desktop.engine.vault.auth_files import private_auth_dir

__all__ = [
    "HANDED_BY",
    "MCP_CONFIG_FILE",
    "WRITTEN_AT_START",
    "codex_overrides",
    "handed_file",
    "handoff_file",
    "not_started_notice",
    "servers_for",
]

MCP_CONFIG_FILE = "mcp-servers.json"
# Where a call's servers will be, before the runner writes them: the command line made when
# the call is checked (before it is queued) names this; the run's names the real file.
WRITTEN_AT_START = Path(MCP_CONFIG_FILE)
# How each CLI that can take MCP servers per call is handed them.
HANDED_BY: Mapping[str, str] = {"claude": "file", "codex": "argv", "gemini": "names"}


def servers_for(
    provider: str, names: Sequence[str], configured: Mapping[str, UpstreamServerConfig]
) -> tuple[UpstreamServerConfig, ...]:
    """The definitions of the servers `names` for a call of `provider`.

    Raises:
        InvalidRequest: the CLI cannot be handed servers, a name is not a configured (and
            enabled) server, or a server cannot be handed over (a `vault:` value; `env` or
            `headers` for a CLI that takes them on its command line). `param` is `mcpServers`.
    """
    if not names:
        return ()
    way = HANDED_BY.get(provider)
    if way is None:
        raise _refused(
            f"{provider} cannot be handed MCP servers per call; {', '.join(sorted(HANDED_BY))} can"
        )
    servers = []
    for name in dict.fromkeys(names):
        server = configured.get(name)
        if server is None or not server.enabled:
            known = ", ".join(sorted(n for n, s in configured.items() if s.enabled)) or "none"
            raise _refused(f"no MCP server {name!r} is configured ([mcp.servers]: {known})")
        secrets = {**(server.env or {}), **(server.headers or {})}
        if way == "names":
            servers.append(server)  # only its name goes to the CLI
            continue
        if any(str(value).startswith(VAULT_PREFIX) for value in secrets.values()):
            raise _refused(
                f"MCP server {name!r} reads a secret from the vault, which stays in the "
                "gateway: use its tools through /mcp instead"
            )
        if provider == "claude" and server.cwd:
            raise _refused(
                f"Claude Code's --mcp-config gives a server no working directory: MCP server "
                f"{name!r} names a cwd"
            )
        if way == "argv" and secrets:
            raise _refused(
                f"{provider} takes MCP servers on its command line, where the env or headers "
                f"of {name!r} would be readable by every local user"
            )
        servers.append(server)
    return tuple(servers)


@asynccontextmanager
async def handoff_file(
    provider: str, servers: Sequence[UpstreamServerConfig], *, root: Path
) -> AsyncIterator[Path | None]:
    """The private file `provider` reads `servers` from for one call (None: no file), under
    `root`, removed when the block ends.

    Raises:
        OSError: it cannot be written (nothing is left behind).
    """
    if not servers or HANDED_BY.get(provider) != "file":
        yield None
        return
    text = json.dumps({"mcpServers": {s.name: _entry(s) for s in servers}})
    async with private_auth_dir({MCP_CONFIG_FILE: text.encode()}, root=root) as directory:
        yield directory / MCP_CONFIG_FILE


def handed_file(request: ProviderRequest) -> Path:
    """The file the runner wrote a call's MCP servers to, for the adapter's command line.

    Raises:
        InvalidRequest: servers were named but no file was written (a caller that prepared
            the call outside the runner).
    """
    if request.mcp_config is None:
        raise _refused("mcpServers were named but not written for the CLI")
    return request.mcp_config


def not_started_notice(cli: str, names: Sequence[str], said: str) -> str:
    """The notice an answer carries when `cli` ran its turn though a server the call names did
    not start (`said`: what the CLI said of it). Codex, given them as required, refuses to."""
    listed = ", ".join(repr(name) for name in names)
    return (
        f"an MCP server the call names ({listed}) did not start in {cli} ({said}): the turn "
        "ran without its tools"
    )


def codex_overrides(servers: Sequence[UpstreamServerConfig]) -> list[str]:
    """Codex's `-c` overrides giving it `servers`, each required (values in TOML: JSON
    strings and lists of strings are TOML too)."""
    argv: list[str] = []
    for server in servers:
        key = f"mcp_servers.{server.name}"
        argv += ["-c", f"{key}.required=true"]
        if server.transport == "stdio":
            argv += ["-c", f"{key}.command={json.dumps(server.command)}"]
            argv += ["-c", f"{key}.args={json.dumps(list(server.args))}"]
            if server.cwd:
                argv += ["-c", f"{key}.cwd={json.dumps(server.cwd)}"]
        else:
            argv += ["-c", f"{key}.url={json.dumps(server.url)}"]
    return argv


def _entry(server: UpstreamServerConfig) -> dict[str, Any]:
    """One server as Claude Code's `--mcp-config` spells it, loaded before the first turn."""
    if server.transport == "stdio":
        entry: dict[str, Any] = {
            "command": server.command,
            "args": list(server.args),
            "alwaysLoad": True,
        }
        if server.env:
            entry["env"] = dict(server.env)
        return entry  # a cwd is refused in `servers_for`: Claude Code's config has none
    entry = {"type": "http", "url": server.url, "alwaysLoad": True}
    if server.headers:
        entry["headers"] = dict(server.headers)
    return entry


def _refused(message: str) -> InvalidRequest:
    return InvalidRequest(message, param="mcpServers")
