"""What a remote caller may make a CLI do: the operator's grant per workspace, never the caller's.

The local user runs CLIs as asked. Anyone else (an OAuth client, a user a trusted proxy names,
the static-bearer holder) gets at most what the workspace the call runs in grants:

- `read-only`: the CLI may read inside the workspace, no edits, no commands.
- `edit` (the default): it may also edit files inside the workspace.
- `commands`: it may run the commands the operator allow-listed for the workspace
  (`remote_allowed_tools`, such as `Bash(npm test)`), and its files stay read-only.
- `bypass`: the call runs as asked, like a local one, `fullAuto` included. Only a single
  workspace's own table can say this, never the global default.

`commands` does not include `edit`, and never meets it on the same files: what an allow-listed
command does comes from files (`package.json` scripts, a Makefile, test configuration), so a
caller that may both edit those files and run the command has a shell (`Bash(npm test)` after
writing `"test": "anything"`). So at `commands` the files are read-only, each allow-listed
command names one exact command (no bare tool, no wildcard: config validation refuses those),
and `overlapping_edits` refuses a call while any workspace that lets remote callers edit lies
inside the `commands` workspace or contains it; the registry does not make or register such a
workspace at all, so none appears during a run. Editing and running together is `bypass`.

A caller's `allowedTools` must each be on the workspace's allow-list; a permission mode or
`fullAuto` above the level, or an agent that cannot be held to the level at all (Codex, an
agent the operator added: `providers/confinement.cannot_confine`), is refused with
`remote_power_refused`, naming the field, the value and the setting that would permit it.
Nothing is dropped silently. Below `bypass` the agent then runs with the confined flags of
`providers/confinement.py`, the one table, applied at the one spawn point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.remote_power import LEVELS, runs_commands
from llmgw_desktop.engine.errors import ApprovalDenied, ErrorCode
from llmgw_desktop.engine.providers.confinement import cannot_confine

__all__ = [
    "Confinement",
    "Grant",
    "allows_edits",
    "confine",
]

# What each level lets a remote caller do. Not a ladder: `commands` leaves out `edit`, since a
# caller who edits the files an allowed command reads has a shell (see the module docstring).
POWERS: dict[str, frozenset[str]] = {
    "read-only": frozenset(),
    "edit": frozenset({"edit"}),
    "commands": frozenset({"commands"}),
    "bypass": frozenset({"edit", "commands", "bypass"}),
}

# The level each permission mode needs. "default" is the CLI's own prompting behaviour, which
# a confined run holds to read-only (see providers/confinement.py).
MODE_LEVEL = {
    "plan": "read-only",
    "default": "read-only",
    "acceptEdits": "edit",
    "bypassPermissions": "bypass",
}
# The highest permission mode a level runs at (a gate's accept-edits rung is clamped to it).
LEVEL_MODE = {"read-only": "default", "edit": "acceptEdits", "commands": "default"}


def allows_edits(level: str) -> bool:
    """Whether remote callers at `level` may edit files."""
    return "edit" in POWERS[level]


@dataclass(frozen=True)
class Grant:
    """What the operator lets remote callers do in one workspace."""

    level: str
    allowed_tools: frozenset[str]
    # Where the grant comes from, to name the setting that would permit more.
    workspace: str | None  # None: the call runs outside any registered workspace
    configured: bool  # an operator's [workspaces.registry] entry, which may have its own table
    # The operator's MCP servers a remote caller may hand a CLI here (`mcpServers`).
    mcp_servers: frozenset[str] = frozenset()

    def setting(self, name: str) -> str:
        """The config key that would change `name` (remote_level, remote_allowed_tools,
        remote_mcp_servers)."""
        if self.workspace is not None and self.configured:
            return f"workspaces.registry.{self.workspace}.{name}"
        return f"workspaces.{name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "allowedTools": sorted(self.allowed_tools),
            "mcpServers": sorted(self.mcp_servers),
            "workspace": self.workspace,
        }


@dataclass(frozen=True)
class Confinement:
    """How a remote call runs: held to its grant (`confined`), or as asked under `bypass`."""

    grant: Grant

    @property
    def confined(self) -> bool:
        return self.grant.level != "bypass"

    def clamp(self, mode: str) -> tuple[str, str | None]:
        """`mode` held to the level's highest mode, and a notice when it was lowered.

        Only the approval gate's own choice reaches here lowered: what the caller asked for was
        checked by `confine` and refused if too high.
        """
        if not self.confined:
            return mode, None
        top = LEVEL_MODE[self.grant.level]
        if _rank(MODE_LEVEL[mode]) <= _rank(MODE_LEVEL[top]):
            return mode, None
        return top, (
            f"runs at {top!r}, not {mode!r}: workspace {self.grant.workspace or '(none)'} lets "
            f"remote callers work at level {self.grant.level!r}"
        )


def confine(
    grant: Grant,
    *,
    provider: str,
    permission_mode: str,
    full_auto: bool,
    allowed_tools: Sequence[str],
    mcp_servers: Sequence[str] = (),
) -> Confinement:
    """Check a remote call against its workspace's grant: its permission mode, the tools it
    pre-approves and the MCP servers it hands the CLI.

    Raises:
        ApprovalDenied: something asked for is above the grant (code `remote_power_refused`,
            details: param, value, workspace, level, setting).
    """
    if grant.level == "bypass":
        return Confinement(grant)
    cannot = cannot_confine(provider)
    if cannot is not None:
        raise _refused(
            grant,
            "provider",
            provider,
            "bypass",
            f'{cannot}, so a remote call to it needs remote_level = "bypass"',
        )
    needed = MODE_LEVEL.get(permission_mode, "bypass")
    if not _allows(grant, needed):
        raise _refused(
            grant,
            "permissionMode",
            permission_mode,
            needed,
            f"permissionMode {permission_mode!r} needs level {needed!r}",
        )
    if full_auto and not _allows(grant, "bypass"):
        # Edits and commands together: a shell, whatever the CLI's own sandbox.
        raise _refused(
            grant,
            "fullAuto",
            True,
            "bypass",
            "fullAuto lets the CLI edit and act, commands included",
        )
    for tool in allowed_tools:
        if tool not in grant.allowed_tools:
            raise _unlisted(grant, "allowedTools", tool, "is not pre-approved for remote callers")
        if runs_commands(tool) and not _allows(grant, "commands"):
            raise _refused(grant, "allowedTools", tool, "commands", f"{tool!r} runs commands")
    for server in mcp_servers:
        if server not in grant.mcp_servers:
            raise _unlisted(grant, "mcpServers", server, "is not one remote callers may hand a CLI")
    return Confinement(grant)


def _refused(grant: Grant, param: str, value: Any, needed: str, why: str) -> ApprovalDenied:
    setting = grant.setting("remote_level")
    how = f'with {setting} = "{needed}"'
    if needed == "bypass" and not grant.configured:
        how = 'only in a registered workspace\'s own table: remote_level = "bypass"'
    if needed == "edit" and grant.level == "commands":
        how = (
            f'with {setting} = "edit", which takes the allow-listed commands away: at level '
            '"commands" files stay read-only, because a caller who may edit what an allowed '
            "command reads (package.json scripts, a Makefile) has a shell. Editing and running "
            'together is remote_level = "bypass", for a workspace you would hand a shell'
        )
    return _denied(
        grant,
        f"{why}; {_where(grant)} lets remote callers work at level {grant.level!r}. The "
        f"operator allows it {how}",
        param,
        value,
        setting,
        needs=needed,
    )


# The list of a workspace's table each listed parameter must be on.
_LISTS = {"allowedTools": "remote_allowed_tools", "mcpServers": "remote_mcp_servers"}


def _unlisted(grant: Grant, param: str, value: str, what: str) -> ApprovalDenied:
    """`value` of `param` is not on the workspace's list of it."""
    setting = grant.setting(_LISTS[param])
    return _denied(
        grant,
        f"{param} {value!r} {what} in {_where(grant)}; the operator allows it by adding it to "
        f"{setting}",
        param,
        value,
        setting,
    )


def _denied(
    grant: Grant, message: str, param: str, value: Any, setting: str, **more: Any
) -> ApprovalDenied:
    """The refusal of a remote caller's `param` = `value`, naming the workspace, its level and
    the `setting` that would allow it."""
    return ApprovalDenied(
        message,
        code=ErrorCode.REMOTE_POWER_REFUSED,
        param=param,
        value=value,
        workspace=grant.workspace,
        level=grant.level,
        setting=setting,
        **more,
    )


def _where(grant: Grant) -> str:
    return f"workspace {grant.workspace!r}" if grant.workspace else "this directory"


def _allows(grant: Grant, needed: str) -> bool:
    return POWERS[needed] <= POWERS[grant.level]


def _rank(level: str) -> int:
    return LEVELS.index(level)
