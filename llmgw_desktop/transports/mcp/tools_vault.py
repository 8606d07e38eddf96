"""Vault tools: store, list and delete API keys and CLI auth files (values never come back).

The vault belongs to whoever runs the gateway: the local user, or the holder of the static
bearer token. The vault itself refuses anyone else (`operator_only`, see engine/auth/access.py).
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from llmgw_desktop.engine.api import DEFAULT_KEY_NAME, GLOBAL_PROJECT, Engine
from llmgw_desktop.transports.mcp.caller import caller_of
from llmgw_desktop.transports.mcp.results import guarded, success

__all__ = ["register_vault_tools"]

Provider = Annotated[str, Field(description="Provider id, such as anthropic, openai, claude.")]
Project = Annotated[str, Field(description="Credential scope; _global is used by every project.")]
ListProject = Annotated[
    str | None, Field(description="Only this project's records and the global ones.")
]
RecordId = Annotated[str, Field(description="The record id from vault_list / vault_list_files.")]


def register_vault_tools(server: MCPServer, engine: Engine) -> None:
    vault = engine.vault

    @guarded
    async def vault_store(
        ctx: Context,
        provider: Provider,
        apiKey: Annotated[str, Field(description="The API key; stored encrypted.")],
        keyName: Annotated[str, Field(description="Name within the provider's pool.")] = (
            DEFAULT_KEY_NAME
        ),
        project: Project = GLOBAL_PROJECT,
    ) -> CallToolResult:
        """Store an API key in the encrypted vault (replaces the same provider/keyName/project)."""
        return success(
            await vault.store_key(
                caller_of(ctx).as_principal, provider, apiKey, key_name=keyName, project=project
            )
        )

    @guarded
    async def vault_list(ctx: Context, project: ListProject = None) -> CallToolResult:
        """Stored API keys with masked values."""
        return success({"credentials": await vault.list_keys(caller_of(ctx).as_principal, project)})

    @guarded
    async def vault_delete(ctx: Context, id: RecordId) -> CallToolResult:
        """Remove a stored API key."""
        await vault.delete_key(caller_of(ctx).as_principal, id)
        return success({"ok": True, "id": id})

    @guarded
    async def vault_store_file(
        ctx: Context,
        provider: Provider,
        fileName: Annotated[str, Field(description="Such as auth.json or .credentials.json.")],
        content: Annotated[str, Field(description="The file's text; stored encrypted.")],
        project: Project = GLOBAL_PROJECT,
    ) -> CallToolResult:
        """Store a CLI auth file; it is handed to that CLI for each call, then removed."""
        principal = caller_of(ctx).as_principal
        return success(
            await vault.store_file(principal, provider, fileName, content, project=project)
        )

    @guarded
    async def vault_list_files(ctx: Context, project: ListProject = None) -> CallToolResult:
        """Stored auth files: metadata only, never content."""
        return success({"files": await vault.list_files(caller_of(ctx).as_principal, project)})

    @guarded
    async def vault_delete_file(ctx: Context, id: RecordId) -> CallToolResult:
        """Remove a stored auth file."""
        await vault.delete_file(caller_of(ctx).as_principal, id)
        return success({"ok": True, "id": id})

    read_only = ToolAnnotations(read_only_hint=True)
    writes = ToolAnnotations(destructive_hint=False, idempotent_hint=True)
    deletes = ToolAnnotations(destructive_hint=True, idempotent_hint=True)
    server.add_tool(vault_store, annotations=writes)
    server.add_tool(vault_list, annotations=read_only)
    server.add_tool(vault_delete, annotations=deletes)
    server.add_tool(vault_store_file, annotations=writes)
    server.add_tool(vault_list_files, annotations=read_only)
    server.add_tool(vault_delete_file, annotations=deletes)
