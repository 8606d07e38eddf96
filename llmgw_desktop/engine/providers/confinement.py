"""How each CLI runs a remote caller's call: the flags that hold it to read-only or edit-in-place.

One table, read by every adapter when `ProviderRequest.confined` is set (a remote call below
the `bypass` level, see `engine/workspaces/remote_power.py`); local calls keep each adapter's own
`PERMISSION_FLAGS`. A confined run replaces the adapter's permission flags with these, so no
user configuration (a default mode in the CLI's settings, a project file the caller wrote in
the workspace) can widen it. "default" is the CLI's own prompting mode, held to read-only:
headless, nothing can be asked, so whatever would ask is refused.

`CONFINED` below is the table (docs/ARCHITECTURE.md shows it as one); per CLI:

- claude: `--permission-mode plan|default|acceptEdits`, always `--setting-sources user`, so
  the workspace's `.claude/settings*.json` (allow rules, hooks) is not read.
- codex: `-c sandbox_mode="read-only"`, or `"workspace-write"` with no network and no `/tmp`.
  `-c` is taken on resume too, where `--sandbox` is refused. Its sandboxed commands can still
  read every file the operator can (the gateway's instance token, the vault key), so the
  engine refuses remote Codex calls below `bypass` (`remote_power.UNCONFINABLE`); these flags
  stay as the floor should a confined Codex run ever be started.
- gemini: `--approval-mode plan|default|auto_edit` (headless, it leaves its shell tool out
  unless pre-approved); agy: `--mode plan|accept-edits`. Headless gemini needs the workspace
  trusted, and then loads its `.gemini/` (settings with hooks, MCP servers and pre-approved
  tools, which a remote caller could have written): a workspace holding one is refused.
- copilot: never `--allow-all-tools`; `--deny-tool=shell`, plus `--deny-tool=write` below
  edit or `--allow-tool=write` at edit; `--disable-builtin-mcps` (the GitHub MCP server acts
  as the operator's account) and `--disallow-temp-dir`.
- opencode: `OPENCODE_PERMISSION` denies everything but the reading tools (and `edit` at
  edit; never other directories), `OPENCODE_DISABLE_PROJECT_CONFIG=1`, never `--auto`;
  `plan` adds `--agent plan`.
- mistral: `--agent plan|default|accept-edits`, without `--trust`, so the workspace's own
  vibe config stays ignored.
- grok: none. It runs every tool, its shell included, without asking: remote calls to it
  need the `bypass` level.

Commands the operator allow-listed (`remote_allowed_tools`, level `commands`) are added by the
adapters as their usual pre-approval flags (`--allowed-tools`, `--allow-tool=`, ...); for
Copilot, a granted `shell(...)` drops the blanket `--deny-tool=shell`, which would win.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest

__all__ = ["CONFINED", "Confined", "confined", "widening_paths"]


@dataclass(frozen=True)
class Confined:
    """The permission flags (and environment) of one CLI at one permission mode, confined."""

    flags: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    notice: str | None = None  # what the caller should know about this CLI's confinement
    # Project configuration in the working directory that no flag keeps the CLI from loading:
    # its presence refuses the confined run.
    widening_paths: tuple[str, ...] = ()


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


def _opencode(*, edit: bool) -> Mapping[str, str]:
    return MappingProxyType(
        {
            "OPENCODE_PERMISSION": _opencode_permission(edit=edit),
            "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
        }
    )


_CLAUDE_ALWAYS = ("--setting-sources", "user")
_CODEX_EDIT = (
    "-c",
    'sandbox_mode="workspace-write"',
    "-c",
    "sandbox_workspace_write.network_access=false",
    "-c",
    "sandbox_workspace_write.exclude_slash_tmp=true",
    "-c",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
)
_CODEX_NOTICE = (
    "codex runs its commands in its sandbox: they cannot write outside the workspace or reach "
    "the network, but they can read files outside it"
)
_COPILOT_ALWAYS = ("--disable-builtin-mcps", "--disallow-temp-dir")

CONFINED: Mapping[str, Mapping[str, Confined] | None] = MappingProxyType(
    {
        "claude": {
            "plan": Confined(("--permission-mode", "plan", *_CLAUDE_ALWAYS)),
            "default": Confined(("--permission-mode", "default", *_CLAUDE_ALWAYS)),
            "acceptEdits": Confined(("--permission-mode", "acceptEdits", *_CLAUDE_ALWAYS)),
        },
        "codex": {
            "plan": Confined(("-c", 'sandbox_mode="read-only"'), notice=_CODEX_NOTICE),
            "default": Confined(("-c", 'sandbox_mode="read-only"'), notice=_CODEX_NOTICE),
            "acceptEdits": Confined(_CODEX_EDIT, notice=_CODEX_NOTICE),
        },
        "gemini": {
            "plan": Confined(("--approval-mode", "plan"), widening_paths=(".gemini",)),
            "default": Confined(("--approval-mode", "default"), widening_paths=(".gemini",)),
            "acceptEdits": Confined(("--approval-mode", "auto_edit"), widening_paths=(".gemini",)),
        },
        "agy": {
            "plan": Confined(("--mode", "plan")),
            "default": Confined(("--mode", "plan")),
            "acceptEdits": Confined(("--mode", "accept-edits")),
        },
        "copilot": {
            "plan": Confined(("--deny-tool=shell", "--deny-tool=write", *_COPILOT_ALWAYS)),
            "default": Confined(("--deny-tool=shell", "--deny-tool=write", *_COPILOT_ALWAYS)),
            "acceptEdits": Confined(("--allow-tool=write", "--deny-tool=shell", *_COPILOT_ALWAYS)),
        },
        "opencode": {
            "plan": Confined(("--agent", "plan"), _opencode(edit=False)),
            "default": Confined((), _opencode(edit=False)),
            "acceptEdits": Confined((), _opencode(edit=True)),
        },
        "mistral": {
            "plan": Confined(("--agent", "plan")),
            "default": Confined(("--agent", "default")),
            "acceptEdits": Confined(("--agent", "accept-edits")),
        },
        "grok": None,
    }
)


def confined(cli: str, mode: str) -> Confined:
    """The confined flags of `cli` (a provider id, or "agy") at permission mode `mode`.

    Raises:
        InvalidRequest: the CLI cannot be confined, or the mode is not one a confined call may
            run at (the engine refuses those before an adapter sees them).
    """
    modes = CONFINED.get(cli)
    if modes is None or mode not in modes:
        raise InvalidRequest(
            f"{cli} cannot run permission mode {mode!r} for a remote caller",
            code=ErrorCode.INVALID_PERMISSION,
            param="permissionMode",
        )
    return modes[mode]


def widening_paths(cli: str, mode: str, directory: Path | None) -> list[str]:
    """The project configuration in `directory` that would widen a confined run (blocking I/O)."""
    modes = CONFINED.get(cli)
    if directory is None or modes is None or mode not in modes:
        return []
    return [name for name in modes[mode].widening_paths if (directory / name).exists()]
