"""Session tools: create, list, get (with a cache-state block), set active, delete, clear."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from llmgw_desktop.engine.call_params import checked_working_dir
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.providers.cli_catalog import provider_info
from llmgw_desktop.transports.mcp.caller import caller_of
from llmgw_desktop.transports.mcp.results import guarded, success

__all__ = ["register_session_tools"]

SessionId = Annotated[str, Field(description="A gateway session id (gw-...).")]
Provider = Annotated[
    str,
    Field(description="claude, codex, gemini, grok, mistral, copilot or opencode."),
]


def register_session_tools(server: MCPServer, engine: Engine) -> None:
    @guarded
    async def session_create(
        ctx: Context,
        provider: Provider,
        title: Annotated[str, Field(description="A name to recognise it by.")] = "",
        workingDir: Annotated[
            str | None, Field(description="Absolute directory its calls run in (local callers).")
        ] = None,
        workspace: Annotated[
            str | None, Field(description="A registered workspace its calls run in.")
        ] = None,
        setActive: Annotated[
            bool,
            Field(description="Your calls to this provider without a sessionId continue it."),
        ] = True,
    ) -> CallToolResult:
        """Start a conversation to continue across calls (the CLI keeps the conversation)."""
        try:
            info = provider_info(provider)
        except KeyError:
            raise InvalidRequest(f"unknown provider {provider!r}", param="provider") from None
        if not info.supports_sessions:
            raise InvalidRequest(
                f"{provider} keeps no sessions: each call starts a new conversation",
                code="sessions_unsupported",
                param="provider",
            )
        who = caller_of(ctx)
        principal = who.principal
        # Remote callers may only make sessions in a registered workspace.
        workingDir = await engine.workspaces.anchor(
            principal, workspace=workspace, working_dir=workingDir
        )
        if workingDir is not None:
            workingDir = checked_working_dir(workingDir)
        session = await engine.sessions.create(
            principal,
            provider,
            caller=who.client,
            title=title,
            working_dir=workingDir,
            set_active=setActive,
        )
        return success(session.to_dict())

    @guarded
    async def session_list(
        ctx: Context,
        provider: Annotated[str | None, Field(description="Only this provider's.")] = None,
    ) -> CallToolResult:
        """Your sessions, newest first."""
        who = caller_of(ctx)
        sessions = await engine.sessions.list_sessions(who.principal, provider, caller=who.client)
        return success({"sessions": [s.to_dict() for s in sessions]})

    @guarded
    async def session_get(ctx: Context, sessionId: SessionId) -> CallToolResult:
        """One session, with a compact cache-state block once it has made calls."""
        who = caller_of(ctx)
        principal = who.principal
        session = await engine.sessions.get(principal, sessionId, caller=who.client)
        body = session.to_dict()
        cache = await engine.cache.session_view(principal, sessionId)
        if cache is not None:
            body["cacheState"] = cache
        return success(body)

    @guarded
    async def session_set_active(ctx: Context, sessionId: SessionId) -> CallToolResult:
        """Make this the session your calls to its provider continue when they name none."""
        who = caller_of(ctx)
        session = await engine.sessions.set_active(who.principal, sessionId, caller=who.client)
        return success(session.to_dict())

    @guarded
    async def session_delete(ctx: Context, sessionId: SessionId) -> CallToolResult:
        """Forget a session (the CLI's own history is left alone)."""
        session = await engine.sessions.delete(caller_of(ctx).principal, sessionId)
        return success({"deleted": session.to_dict()})

    @guarded
    async def session_clear_all(
        ctx: Context,
        provider: Annotated[str | None, Field(description="Only this provider's.")] = None,
    ) -> CallToolResult:
        """Forget all your sessions (for one provider, if given)."""
        removed = await engine.sessions.clear(caller_of(ctx).principal, provider)
        return success({"deleted": removed})

    server.add_tool(session_create)
    server.add_tool(session_list, annotations=ToolAnnotations(read_only_hint=True))
    server.add_tool(session_get, annotations=ToolAnnotations(read_only_hint=True))
    server.add_tool(session_set_active)
    server.add_tool(session_delete, annotations=ToolAnnotations(destructive_hint=True))
    server.add_tool(session_clear_all, annotations=ToolAnnotations(destructive_hint=True))
