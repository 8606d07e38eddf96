"""Operations: models, CLI versions, CLI upgrades (dry run by default), process health."""

from __future__ import annotations

import asyncio
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.providers.cli_catalog import PROVIDER_IDS
from llmgw_desktop.transports.mcp.caller import caller_of
from llmgw_desktop.transports.mcp.results import guarded, success

__all__ = ["register_ops_tools"]


def _check(provider: str | None) -> None:
    if provider is not None and provider not in PROVIDER_IDS:
        raise InvalidRequest(
            f"unknown provider {provider!r}; known: {', '.join(PROVIDER_IDS)}", param="provider"
        )


def register_ops_tools(server: MCPServer, engine: Engine) -> None:
    read_only = ToolAnnotations(read_only_hint=True)

    @guarded
    async def list_models(
        ctx: Context,
        provider: Annotated[str | None, Field(description="One provider; default: all.")] = None,
    ) -> CallToolResult:
        """Models each CLI takes: listed by the CLI where it can, else its known aliases."""
        _check(provider)
        wanted = [provider] if provider else list(PROVIDER_IDS)
        lists = await asyncio.gather(*(engine.discovery.models(p) for p in wanted))
        return success({"models": dict(zip(wanted, lists, strict=True))})

    @guarded
    async def cli_versions(
        ctx: Context,
        refresh: Annotated[bool, Field(description="Check again instead of the cache.")] = False,
    ) -> CallToolResult:
        """Which CLIs are installed, where, and their versions (checked in parallel)."""
        statuses = await engine.discovery.statuses(refresh=refresh)
        return success({"clis": [s.to_dict() for s in statuses]})

    @guarded
    async def cli_upgrade(
        ctx: Context,
        provider: Annotated[str, Field(description="Which CLI to upgrade.")],
        dryRun: Annotated[
            bool, Field(description="Only show the command (default). False runs it.")
        ] = True,
    ) -> CallToolResult:
        """Upgrade a CLI with its package manager; a dry run unless dryRun is false (operator
        only: the local user or the holder of the gateway's bearer token)."""
        _check(provider)
        principal = caller_of(ctx).as_principal
        outcome = await engine.discovery.upgrade(principal, provider, dry_run=dryRun)
        return success(outcome.to_dict())

    @guarded
    async def llm_process_health(ctx: Context) -> CallToolResult:
        """Live jobs by state and provider, limits, circuit breakers and provider switches."""
        return success(engine.process_health())

    server.add_tool(list_models, annotations=read_only)
    server.add_tool(cli_versions, annotations=read_only)
    server.add_tool(cli_upgrade, annotations=ToolAnnotations(destructive_hint=True))
    server.add_tool(llm_process_health, annotations=read_only)
