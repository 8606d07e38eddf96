"""What confines each agent the gateway starts: one row per CLI and per shipped ACP agent.

A run is *confined* when a remote caller's call runs below the `bypass` level (see
`engine/workspaces/remote_power.py`), or when the local user's `mcp_managed` call runs at a rung
that only the table's flags hold (`Row.managed`). A confined run replaces the agent's own
permission flags with the row's, so no user configuration (a default mode in the agent's
settings, a project file the caller wrote in the workspace) can widen it. "default" is the
agent's own prompting mode, held to read-only: headless, nothing can be asked, so whatever
would ask is refused; an ACP agent's requests are each checked against the caller's grant
(`engine/calls/permission_check.py`).

`CONFINEMENT` below is the table (docs/ARCHITECTURE.md shows it as one). What each column
means: `modes`, the flags, environment and ACP session options of a confined run at each
permission mode (None: the agent cannot be held below a full bypass, `cannot` says why);
`widening_paths`, project configuration in the run's directory that no flag keeps the agent from
loading, whose presence refuses the run; `loads` and `reads`, what configuration a confined run
still loads and what its own tools (or sandbox) can read; `asks`, whether its tool calls come
to the gateway as permission requests; `managed`, the rung the local user's `mcp_managed` call
runs at. An agent an operator adds (`[providers.acp.NAME]` with a new name) has no row: the
gateway does not know how it holds its tools, so it runs for a remote caller only at `bypass`.

The adapters place a row's flags on their command lines (`confined(agent, mode).flags`); the
one spawn point (`providers/invoke.py`, through `hold`) applies everything else for every agent
and every door alike: it refuses an agent that cannot be held, adds the row's environment, and
takes the last look at the command line and the directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from llmgw_desktop.engine.errors import ApprovalDenied, ErrorCode, InvalidRequest
from llmgw_desktop.engine.providers.base import ProviderRequest
from llmgw_desktop.engine.providers.kernel_sandbox import kernel_sandbox_missing

__all__ = [
    "CONFINEMENT",
    "UNCONFINED_FLAGS",
    "Confined",
    "Managed",
    "Row",
    "cannot_confine",
    "check_argv",
    "confined",
    "last_look",
    "managed_rung",
    "row",
    "widening_paths",
]

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Confined:
    """How one agent runs confined at one permission mode."""

    flags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    notice: str | None = None  # what the caller should know about this agent's confinement
    # Project configuration in the working directory that no flag keeps the agent from loading:
    # its presence refuses the confined run.
    widening_paths: tuple[str, ...] = ()
    # An ACP agent's `session/new` `_meta` (options its adapter takes only there).
    session_meta: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    # Held by the agent's kernel sandbox (Landlock on Linux), which it drops silently where
    # the kernel has none: such a run is refused there (`kernel_sandbox.py`).
    kernel_sandbox: bool = False


@dataclass(frozen=True)
class Managed:
    """The rung the local user's `mcp_managed` call runs at: a permission mode, and whether
    only the table's confined flags hold the agent there (its own flags at that mode would
    run its shell unasked)."""

    mode: str
    confined: bool = False
    warning: str | None = None


@dataclass(frozen=True)
class Row:
    """What confines one agent."""

    modes: Mapping[str, Confined] | None  # None: cannot be held below a full bypass
    loads: str  # the configuration a confined run still loads
    reads: str  # what its own tools (or its sandbox) can read
    managed: Managed | None  # None: no rung short of a full bypass; refused under mcp_managed
    cannot: str = ""  # why it cannot be confined (when `modes` is None)
    asks: bool = False  # an ACP agent: each tool call it makes is a permission request


def _opencode_permission(*, edit: bool) -> str:
    # Last matching rule wins in opencode: deny everything, then allow the reading tools.
    rules = {
        "*": "deny",
        "read": "allow",
        "glob": "allow",
        "grep": "allow",
        "list": "allow",
        "lsp": "allow",
        "todowrite": "allow",
        "edit": "allow" if edit else "deny",
        "external_directory": "deny",
    }
    return json.dumps(rules, separators=(",", ":"))


def _opencode(flags: tuple[str, ...] = (), *, edit: bool) -> Confined:
    env = {
        "OPENCODE_PERMISSION": _opencode_permission(edit=edit),
        "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
    }
    return Confined(flags, MappingProxyType(env))


def _three(plan: Confined, default: Confined, edits: Confined) -> Mapping[str, Confined]:
    return MappingProxyType({"plan": plan, "default": default, "acceptEdits": edits})


def _approval_modes(edit_mode: str, *, folder: str) -> Mapping[str, Confined]:
    """Gemini CLI and Qwen Code: `--approval-mode`, and their project folder and the
    workspace's `.env` refused. Both load every variable of a `.env` in a folder they trust (as
    they trust every folder unless told otherwise) into their own environment, where
    `GEMINI_SANDBOX`/`QWEN_SANDBOX` and `SANDBOX_FLAGS` start Docker with the writer's flags, a
    sandbox proxy command runs and the login changes; neither has a flag that leaves it out."""
    widening = (folder, ".env")
    return _three(
        Confined(("--approval-mode", "plan"), widening_paths=widening),
        Confined(("--approval-mode", "default"), widening_paths=widening),
        Confined(("--approval-mode", edit_mode), widening_paths=widening),
    )


_CLAUDE_ALWAYS = ("--setting-sources", "user")
# claude-agent-acp passes `_meta.claudeCode.options` to the Claude Agent SDK: only the user's
# settings are read. Its own settings reader still reads the project's files (a default
# permission mode, an environment), so those files refuse the run.
_CLAUDE_ACP = Confined(
    session_meta=MappingProxyType({"claudeCode": {"options": {"settingSources": ["user"]}}}),
    widening_paths=(".claude/settings.json", ".claude/settings.local.json"),
)
_CODEX_CANNOT = (
    "codex's sandbox lets its commands read every file the operator can read, the gateway's "
    "own tokens and keys included"
)
_COPILOT_ALWAYS = ("--disable-builtin-mcps", "--disallow-temp-dir")
# xAI's Grok CLI: its flag applies `default` (a tool call that would ask ends the turn), its
# `strict` kernel sandbox (Landlock, Seatbelt) keeps reads to the workspace, system paths and
# the temp directories, writes to the workspace, the temp directories and ~/.grok. Its deny
# rules win over every allow rule: no edit of a `.grok` folder (the user's config: MCP servers,
# hooks), none of the gateway's own files in the temp directory (a call's vault auth files and
# MCP handoff), and no web search or fetch.
_GROK_ALWAYS = (
    "--permission-mode",
    "default",
    "--sandbox",
    "strict",
    "--deny",
    "Edit(**/.grok/**)",
    "--deny",
    "Read(**/llmgw-auth-*/**)",
    "--deny",
    "Edit(**/llmgw-auth-*/**)",
    "--disable-web-search",
)
# Project rules that widen it with no trust asked (permission rules, a default mode).
_GROK_PROJECT = (".grok", ".claude/settings.json", ".claude/settings.local.json")


def _grok(*rule: str) -> Confined:
    return Confined((*_GROK_ALWAYS, *rule), widening_paths=_GROK_PROJECT, kernel_sandbox=True)


_ASKS_EACH = "its tools' permission requests, each checked against the grant"

CONFINEMENT: Mapping[str, Row] = MappingProxyType(
    {
        "claude": Row(
            _three(
                Confined(("--permission-mode", "plan", *_CLAUDE_ALWAYS)),
                Confined(("--permission-mode", "default", *_CLAUDE_ALWAYS)),
                Confined(("--permission-mode", "acceptEdits", *_CLAUDE_ALWAYS)),
            ),
            loads="the user's settings only (`--setting-sources user`)",
            reads="the workspace; a read outside it asks, which headless refuses",
            managed=Managed("acceptEdits"),
        ),
        "codex": Row(
            None,
            loads="the user's config.toml",
            reads="every file the operator can read, from its sandboxed commands",
            managed=Managed("default"),
            cannot=_CODEX_CANNOT,
        ),
        "gemini": Row(
            _approval_modes("auto_edit", folder=".gemini"),
            loads="the user's settings; a workspace holding `.gemini/` or `.env` is refused",
            reads="the workspace (its file tools refuse paths outside it)",
            managed=Managed(
                "default", warning="gemini has no accept-edits rung headless: edits stay gated"
            ),
        ),
        "agy": Row(
            _three(
                Confined(("--mode", "plan")),
                Confined(("--mode", "plan")),
                Confined(("--mode", "accept-edits")),
            ),
            loads="the user's settings",
            reads="the workspace",
            managed=Managed("default"),
        ),
        "copilot": Row(
            _three(
                Confined(("--deny-tool=shell", "--deny-tool=write", *_COPILOT_ALWAYS)),
                Confined(("--deny-tool=shell", "--deny-tool=write", *_COPILOT_ALWAYS)),
                Confined(("--allow-tool=write", "--deny-tool=shell", *_COPILOT_ALWAYS)),
            ),
            loads="the user's config; no built-in MCP servers (they act as the operator)",
            reads="the workspace; no temporary directory",
            managed=Managed("acceptEdits"),
        ),
        "opencode": Row(
            _three(
                _opencode(("--agent", "plan"), edit=False),
                _opencode(edit=False),
                _opencode(edit=True),
            ),
            loads="the user's config; never the project's (`OPENCODE_DISABLE_PROJECT_CONFIG`)",
            reads="the workspace (`external_directory` denied)",
            managed=Managed("acceptEdits", confined=True),
        ),
        "mistral": Row(
            # Vibe 3's builtin agents: headless, `ask` refuses whatever would ask.
            _three(
                Confined(("--agent", "ask")),
                Confined(("--agent", "ask")),
                Confined(("--agent", "accept-edits")),
            ),
            loads="the user's config; not the workspace's (no `--trust`)",
            reads="the workspace",
            managed=Managed("acceptEdits"),
        ),
        "grok": Row(
            _three(_grok("--deny", "Edit"), _grok(), _grok("--allow", "Edit")),
            loads="the user's config; a workspace holding `.grok/` or `.claude/settings*.json` "
            "is refused",
            reads="the workspace, system paths and temp directories (its `strict` kernel "
            "sandbox), less the gateway's own files there",
            managed=Managed("acceptEdits"),
        ),
        "qwen": Row(
            _approval_modes("auto-edit", folder=".qwen"),
            loads="the user's settings; a workspace holding `.qwen/` or `.env` is refused",
            reads=_ASKS_EACH,
            managed=Managed("default"),
            asks=True,
        ),
        "gemini-acp": Row(
            _approval_modes("auto_edit", folder=".gemini"),
            loads="the user's settings; a workspace holding `.gemini/` or `.env` is refused",
            reads=_ASKS_EACH,
            managed=Managed("default"),
            asks=True,
        ),
        "opencode-acp": Row(
            _three(_opencode(edit=False), _opencode(edit=False), _opencode(edit=True)),
            loads="the user's config; never the project's (`OPENCODE_DISABLE_PROJECT_CONFIG`)",
            reads="the workspace (`external_directory` denied); " + _ASKS_EACH,
            managed=Managed("acceptEdits", confined=True),
            asks=True,
        ),
        "claude-acp": Row(
            _three(_CLAUDE_ACP, _CLAUDE_ACP, _CLAUDE_ACP),
            loads="the user's settings only; a workspace holding `.claude/settings*.json` is "
            "refused",
            reads="the workspace; a read outside it is a request, checked against the grant",
            managed=Managed("default"),
            asks=True,
        ),
        "codex-acp": Row(
            None,
            loads="the user's config.toml",
            reads="every file the operator can read, from its sandboxed commands",
            managed=Managed("default"),
            cannot=_CODEX_CANNOT,
            asks=True,
        ),
    }
)

# Flags that lift an agent's own guards: never on a confined command line, in any spelling.
UNCONFINED_FLAGS = frozenset(
    {
        "--dangerously-skip-permissions",
        "--allow-dangerously-skip-permissions",
        "bypassPermissions",
        "--dangerously-bypass-approvals-and-sandbox",
        "--dangerously-bypass-hook-trust",
        "danger-full-access",
        'sandbox_mode="danger-full-access"',
        "--yolo",
        "-y",
        "yolo",
        "--allow-all",
        "--allow-all-tools",
        "--allow-all-paths",
        "--allow-all-urls",
        "--auto",
        "auto-approve",
        "--add-dir",
        "--include-directories",
        "--trust",
        "--always-approve",
    }
)


def row(agent: str) -> Row | None:
    """The table's row of `agent` (a provider id, or "agy"); None for an agent an operator
    added, of which the gateway knows nothing."""
    return CONFINEMENT.get(agent)


def cannot_confine(agent: str) -> str | None:
    """Why `agent` cannot be held below a full bypass, or None where it can."""
    found = row(agent)
    if found is None:
        return (
            f"{agent} is an agent the gateway does not ship: it does not know how the agent "
            "holds its tools, which may run without asking"
        )
    return (found.cannot or None) if found.modes is None else None


def confined(agent: str, mode: str) -> Confined:
    """The confined run of `agent` (a provider id, or "agy") at permission mode `mode`.

    Raises:
        InvalidRequest: the agent cannot be confined, or the mode is not one a confined call
            may run at (the engine refuses those before an adapter sees them).
    """
    found = row(agent)
    modes = None if found is None else found.modes
    if modes is None or mode not in modes:
        raise InvalidRequest(
            f"{agent} cannot be held at permission mode {mode!r}: "
            + (cannot_confine(agent) or "a confined run takes plan, default or acceptEdits"),
            code=ErrorCode.INVALID_PERMISSION,
            param="permissionMode",
        )
    return modes[mode]


def managed_rung(agent: str) -> Managed | None:
    """The rung the local user's `mcp_managed` call of `agent` runs at; None where the agent
    has none short of a full bypass. An added ACP agent asks for each tool: `default`."""
    found = row(agent)
    return Managed("default") if found is None else found.managed


def widening_paths(agent: str, mode: str, directory: Path | None) -> list[str]:
    """The project configuration in `directory` that would widen a confined run (blocking I/O)."""
    found = row(agent)
    modes = None if found is None else found.modes
    if directory is None or modes is None or mode not in modes:
        return []
    return [name for name in modes[mode].widening_paths if (directory / name).exists()]


def check_argv(agent: str, argv: Sequence[str]) -> None:
    """The last look before a confined agent starts: no flag that lifts its guards.

    Raises:
        ApprovalDenied: such a flag is on the command line (a bug in an adapter or the table;
            the call is refused rather than run).
    """
    found = sorted({arg for arg in argv[1:] if arg in UNCONFINED_FLAGS})
    if found:
        raise ApprovalDenied(
            f"refused to start {agent} confined with {', '.join(found)}: those flags lift the "
            "agent's own guards",
            code=ErrorCode.REMOTE_POWER_REFUSED,
            param="permissionMode",
            value=found,
        )


def last_look(agent: str, request: ProviderRequest, argv: Sequence[str]) -> None:
    """The last look at a confined run before it starts (blocking I/O): no flag on its command
    line that lifts its guards, and no project configuration in its directory that would widen
    it. Taken at each start, not only when the call came: it may wait in the queue (or for a
    retry) while a remote caller with edit rights writes `.gemini/` there.

    Raises:
        ApprovalDenied: either would widen the run (code `remote_power_refused`).
    """
    if not request.confined:
        return
    check_argv(agent, argv)
    modes = row(agent)
    held = (
        None if modes is None or modes.modes is None else modes.modes.get(request.permission_mode)
    )
    if held is not None and held.kernel_sandbox:
        missing = kernel_sandbox_missing()
        if missing:
            raise ApprovalDenied(
                f"{agent} would run unconfined: {missing}",
                code=ErrorCode.REMOTE_POWER_REFUSED,
                param="permissionMode",
            )
    found = widening_paths(agent, request.permission_mode, request.working_dir)
    if found:
        raise ApprovalDenied(
            f"{agent} would load {', '.join(found)} from {request.working_dir} as trusted "
            "project configuration (hooks, MCP servers, pre-approved tools, a permission mode), "
            "which could widen what a remote caller may do; remove it, or grant the workspace "
            'remote_level = "bypass"',
            code=ErrorCode.REMOTE_POWER_REFUSED,
            param="workspace",
            value=found,
        )
