"""Workspace tools: see the registered workspaces, and (when the operator allows it) make new
ones inside the allowed roots.

`workspace_create` and `workspace_register_existing_repo` need `LLM_GATEWAY_WORKSPACE_ADMIN=1`
in the gateway's environment and the `workspace:admin` scope (local and bearer callers are
the operator and hold every scope).
"""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import Engine
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.results import success
from llmgw_desktop.transports.mcp.tools.binding import NoInput

__all__ = [
    "RegisterRepoInput",
    "WorkspaceCreateInput",
    "WorkspaceInput",
    "workspace_create",
    "workspace_get",
    "workspace_list",
    "workspace_register_existing_repo",
]

Name = Annotated[str, Field(description="The workspace's name (letters, digits, . _ -).")]


class WorkspaceInput(BaseModel):
    name: Name


class WorkspaceCreateInput(BaseModel):
    name: Name
    root: Annotated[
        str | None, Field(description="One of workspaces.allowed_roots; default: the first.")
    ] = None


class RegisterRepoInput(BaseModel):
    name: Name
    path: Annotated[str, Field(description="Absolute path of a git repository.")]


async def workspace_list(engine: Engine, caller: Caller, inputs: NoInput) -> CallToolResult:
    """Workspaces you can run calls in: the operator's, and those you made."""
    found = await engine.workspaces.visible(caller.principal)
    return success(
        {
            "workspaces": [w.to_dict() for w in found],
            "default": engine.settings.workspaces.default or None,
        }
    )


async def workspace_get(engine: Engine, caller: Caller, inputs: WorkspaceInput) -> CallToolResult:
    """One workspace by name."""
    return success((await engine.workspaces.get(caller.principal, inputs.name)).to_dict())


async def workspace_create(
    engine: Engine, caller: Caller, inputs: WorkspaceCreateInput
) -> CallToolResult:
    """Make a new empty workspace directory inside an allowed root."""
    made = await engine.workspaces.create(caller.as_principal, inputs.name, inputs.root)
    return success(made.to_dict())


async def workspace_register_existing_repo(
    engine: Engine, caller: Caller, inputs: RegisterRepoInput
) -> CallToolResult:
    """Register an existing git repository inside an allowed root as a workspace."""
    made = await engine.workspaces.register_existing_repo(
        caller.as_principal, inputs.name, inputs.path
    )
    return success(made.to_dict())
