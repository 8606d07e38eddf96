"""Workspace tools: see the registered workspaces, and (when the operator allows it) make new
ones inside the allowed roots.

`workspace_create` and `workspace_register_existing_repo` need `LLM_GATEWAY_WORKSPACE_ADMIN=1`
in the gateway's environment and the `workspace:admin` scope (local and bearer callers are
the operator and hold every scope).
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from llmgw_desktop.engine.api import Engine
from llmgw_desktop.transports.mcp.caller import caller_of
from llmgw_desktop.transports.mcp.results import guarded, success

__all__ = ["register_workspace_tools"]

Name = Annotated[str, Field(description="The workspace's name (letters, digits, . _ -).")]


def register_workspace_tools(server: MCPServer, engine: Engine) -> None:
    workspaces = engine.workspaces

    @guarded
    async def workspace_list(ctx: Context) -> CallToolResult:
        """Workspaces you can run calls in: the operator's, and those you made."""
        found = await workspaces.visible(caller_of(ctx).principal)
        return success(
            {
                "workspaces": [w.to_dict() for w in found],
                "default": engine.settings.workspace_default or None,
            }
        )

    @guarded
    async def workspace_get(ctx: Context, name: Name) -> CallToolResult:
        """One workspace by name."""
        return success((await workspaces.get(caller_of(ctx).principal, name)).to_dict())

    @guarded
    async def workspace_create(
        ctx: Context,
        name: Name,
        root: Annotated[
            str | None, Field(description="One of workspaces.allowed_roots; default: the first.")
        ] = None,
    ) -> CallToolResult:
        """Make a new empty workspace directory inside an allowed root."""
        made = await workspaces.create(caller_of(ctx).as_principal, name, root)
        return success(made.to_dict())

    @guarded
    async def workspace_register_existing_repo(
        ctx: Context,
        name: Name,
        path: Annotated[str, Field(description="Absolute path of a git repository.")],
    ) -> CallToolResult:
        """Register an existing git repository inside an allowed root as a workspace."""
        made = await workspaces.register_existing_repo(caller_of(ctx).as_principal, name, path)
        return success(made.to_dict())

    read_only = ToolAnnotations(read_only_hint=True)
    server.add_tool(workspace_list, annotations=read_only)
    server.add_tool(workspace_get, annotations=read_only)
    server.add_tool(workspace_create, annotations=ToolAnnotations(destructive_hint=False))
    server.add_tool(
        workspace_register_existing_repo, annotations=ToolAnnotations(destructive_hint=False)
    )
