"""Vault tools: store, list and delete API keys and CLI auth files (values never come back).

The vault belongs to whoever runs the gateway: the local user, or the holder of the static
bearer token. The vault itself refuses anyone else (`operator_only`, see engine/auth/access.py).
"""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import DEFAULT_KEY_NAME, GLOBAL_PROJECT, Engine
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.results import success

__all__ = [
    "ProjectInput",
    "RecordInput",
    "StoreFileInput",
    "StoreKeyInput",
    "vault_delete",
    "vault_delete_file",
    "vault_list",
    "vault_list_files",
    "vault_store",
    "vault_store_file",
]

Provider = Annotated[str, Field(description="Provider id, such as anthropic, openai, claude.")]
Project = Annotated[str, Field(description="Credential scope; _global is used by every project.")]
ListProject = Annotated[
    str | None, Field(description="Only this project's records and the global ones.")
]
RecordId = Annotated[str, Field(description="The record id from vault_list / vault_list_files.")]


class StoreKeyInput(BaseModel):
    provider: Provider
    apiKey: Annotated[str, Field(description="The API key; stored encrypted.")]
    keyName: Annotated[str, Field(description="Name within the provider's pool.")] = (
        DEFAULT_KEY_NAME
    )
    project: Project = GLOBAL_PROJECT


class StoreFileInput(BaseModel):
    provider: Provider
    fileName: Annotated[str, Field(description="Such as auth.json or .credentials.json.")]
    content: Annotated[str, Field(description="The file's text; stored encrypted.")]
    project: Project = GLOBAL_PROJECT


class ProjectInput(BaseModel):
    project: ListProject = None


class RecordInput(BaseModel):
    id: RecordId


async def vault_store(engine: Engine, caller: Caller, inputs: StoreKeyInput) -> CallToolResult:
    """Store an API key in the encrypted vault (replaces the same provider/keyName/project)."""
    return success(
        await engine.vault.store_key(
            caller.as_principal,
            inputs.provider,
            inputs.apiKey,
            key_name=inputs.keyName,
            project=inputs.project,
        )
    )


async def vault_list(engine: Engine, caller: Caller, inputs: ProjectInput) -> CallToolResult:
    """Stored API keys with masked values."""
    return success(
        {"credentials": await engine.vault.list_keys(caller.as_principal, inputs.project)}
    )


async def vault_delete(engine: Engine, caller: Caller, inputs: RecordInput) -> CallToolResult:
    """Remove a stored API key."""
    await engine.vault.delete_key(caller.as_principal, inputs.id)
    return success({"ok": True, "id": inputs.id})


async def vault_store_file(
    engine: Engine, caller: Caller, inputs: StoreFileInput
) -> CallToolResult:
    """Store a CLI auth file; it is handed to that CLI for each call, then removed."""
    return success(
        await engine.vault.store_file(
            caller.as_principal,
            inputs.provider,
            inputs.fileName,
            inputs.content,
            project=inputs.project,
        )
    )


async def vault_list_files(engine: Engine, caller: Caller, inputs: ProjectInput) -> CallToolResult:
    """Stored auth files: metadata only, never content."""
    return success({"files": await engine.vault.list_files(caller.as_principal, inputs.project)})


async def vault_delete_file(engine: Engine, caller: Caller, inputs: RecordInput) -> CallToolResult:
    """Remove a stored auth file."""
    await engine.vault.delete_file(caller.as_principal, inputs.id)
    return success({"ok": True, "id": inputs.id})
