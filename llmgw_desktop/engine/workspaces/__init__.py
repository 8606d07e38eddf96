"""Workspaces: the named directories provider calls run in (`registry`), and what a remote
caller may make a CLI do in each (`remote_power`: the operator's grant, never the caller's).

The registry (and through it the store, peewee and psycopg) loads when first named: the
settings read the levels at start-up, and `--version` or the stdio relay must not pay for a
database layer they never open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmgw_desktop.engine.workspaces.remote_power import (
    DEFAULT_LEVEL,
    GLOBAL_LEVELS,
    LEVELS,
    UNCONFINED_FLAGS,
    Confinement,
    Grant,
    allows_edits,
    check_argv,
    confine,
    runs_commands,
    unspecific_command,
)

if TYPE_CHECKING:
    from llmgw_desktop.engine.workspaces.registry import (
        ADMIN_OPT_IN,
        Workspace,
        WorkspaceRegistry,
    )

__all__ = [
    "ADMIN_OPT_IN",
    "DEFAULT_LEVEL",
    "GLOBAL_LEVELS",
    "LEVELS",
    "UNCONFINED_FLAGS",
    "Confinement",
    "Grant",
    "Workspace",
    "WorkspaceRegistry",
    "allows_edits",
    "check_argv",
    "confine",
    "runs_commands",
    "unspecific_command",
]

_FROM_REGISTRY = frozenset({"ADMIN_OPT_IN", "Workspace", "WorkspaceRegistry"})


def __getattr__(name: str) -> Any:
    if name in _FROM_REGISTRY:
        from llmgw_desktop.engine.workspaces import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
