"""Session tools: create, list, get (with a cache-state block), set active, delete, clear."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import (
    Engine,
    ErrorCode,
    InvalidRequest,
    checked_working_dir,
)
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.results import success

__all__ = [
    "ProviderFilterInput",
    "SessionCreateInput",
    "SessionInput",
    "session_clear_all",
    "session_create",
    "session_delete",
    "session_get",
    "session_list",
    "session_set_active",
]

SessionId = Annotated[str, Field(description="A gateway session id (gw-...).")]
Provider = Annotated[
    str,
    Field(description="claude, codex, gemini, grok, mistral, copilot or opencode."),
]


class SessionCreateInput(BaseModel):
    provider: Provider
    title: Annotated[str, Field(description="A name to recognise it by.")] = ""
    workingDir: Annotated[
        str | None, Field(description="Absolute directory its calls run in (local callers).")
    ] = None
    workspace: Annotated[
        str | None, Field(description="A registered workspace its calls run in.")
    ] = None
    setActive: Annotated[
        bool,
        Field(description="Your calls to this provider without a sessionId continue it."),
    ] = True


class ProviderFilterInput(BaseModel):
    provider: Annotated[str | None, Field(description="Only this provider's.")] = None


class SessionInput(BaseModel):
    sessionId: SessionId


async def session_create(
    engine: Engine, caller: Caller, inputs: SessionCreateInput
) -> CallToolResult:
    """Start a conversation to continue across calls (the CLI keeps the conversation)."""
    provider = inputs.provider
    try:
        info = engine.providers.catalog().info(provider)
    except KeyError:
        raise InvalidRequest(f"unknown provider {provider!r}", param="provider") from None
    if not info.supports_sessions:
        raise InvalidRequest(
            f"{provider} keeps no sessions: each call starts a new conversation",
            code=ErrorCode.SESSIONS_UNSUPPORTED,
            param="provider",
        )
    # Remote callers may only make sessions in a registered workspace.
    working_dir = await engine.workspaces.anchor(
        caller.principal, workspace=inputs.workspace, working_dir=inputs.workingDir
    )
    if working_dir is not None:
        working_dir = checked_working_dir(working_dir)
    session = await engine.sessions.create(
        caller.principal,
        provider,
        caller=caller.client,
        title=inputs.title,
        working_dir=working_dir,
        set_active=inputs.setActive,
    )
    return success(session.to_dict())


async def session_list(
    engine: Engine, caller: Caller, inputs: ProviderFilterInput
) -> CallToolResult:
    """Your sessions, newest first."""
    sessions = await engine.sessions.list_sessions(
        caller.principal, inputs.provider, caller=caller.client
    )
    return success({"sessions": [s.to_dict() for s in sessions]})


async def session_get(engine: Engine, caller: Caller, inputs: SessionInput) -> CallToolResult:
    """One session, with a compact cache-state block once it has made calls."""
    principal, session_id = caller.principal, inputs.sessionId
    session = await engine.sessions.get(principal, session_id, caller=caller.client)
    body = session.to_dict()
    cache = await engine.cache.session_view(principal, session_id)
    if cache is not None:
        body["cacheState"] = cache
    return success(body)


async def session_set_active(
    engine: Engine, caller: Caller, inputs: SessionInput
) -> CallToolResult:
    """Make this the session your calls to its provider continue when they name none."""
    session = await engine.sessions.set_active(
        caller.principal, inputs.sessionId, caller=caller.client
    )
    return success(session.to_dict())


async def session_delete(engine: Engine, caller: Caller, inputs: SessionInput) -> CallToolResult:
    """Forget a session (the CLI's own history is left alone)."""
    session = await engine.sessions.delete(caller.principal, inputs.sessionId)
    return success({"deleted": session.to_dict()})


async def session_clear_all(
    engine: Engine, caller: Caller, inputs: ProviderFilterInput
) -> CallToolResult:
    """Forget all your sessions (for one provider, if given)."""
    removed = await engine.sessions.clear(caller.principal, inputs.provider)
    return success({"deleted": removed})
