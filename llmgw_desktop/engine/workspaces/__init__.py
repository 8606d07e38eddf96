"""Workspaces: the named directories provider calls run in (`registry`), and what a remote
caller may make a CLI do in each (`remote_power`: the operator's grant, never the caller's)."""

from llmgw_desktop.engine.workspaces.registry import ADMIN_OPT_IN, Workspace, WorkspaceRegistry
from llmgw_desktop.engine.workspaces.remote_power import (
    DEFAULT_LEVEL,
    GLOBAL_LEVELS,
    LEVELS,
    UNCONFINED_FLAGS,
    Confinement,
    Grant,
    check_argv,
    confine,
    runs_commands,
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
    "check_argv",
    "confine",
    "runs_commands",
]
