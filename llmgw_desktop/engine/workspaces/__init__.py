"""Workspaces: the named directories provider calls run in (`registry`), and what a remote
caller may make a CLI do in each (`remote_power`: the operator's grant, never the caller's).

The level words and the command-tool test the settings check with are `config/remote_power.py`.
"""

from __future__ import annotations

from llmgw_desktop.engine.workspaces.registry import Workspace, WorkspaceRegistry
from llmgw_desktop.engine.workspaces.remote_power import (
    Confinement,
    Grant,
    confine,
)

__all__ = [
    "Confinement",
    "Grant",
    "Workspace",
    "WorkspaceRegistry",
    "confine",
]
