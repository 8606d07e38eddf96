"""The user's own MCP servers on our endpoint: their tools listed and called as `NAME__tool`.

A middleware, not registered tools: what a server offers is known only once it runs, and
changes when it says so. `tools/list` gets our tools, then each running server's tools the
caller may use (`engine.upstream_mcp` decides, by the server's policy); a `tools/call` whose
name is in a server's namespace is relayed by the engine, which checks, asks the desk when
the server says so, and records it. The edge's rule still comes first: a relayed tool needs
`gateway.use` like every ordinary tool. Progress the server reports for the call is passed to
our client under the client's own progress token; a client that cancels its call cancels the
relayed one.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import ListToolsResult, Tool

from llmgw_desktop.engine.api import Capability, Engine, EngineError, refusal
from llmgw_desktop.transports.mcp.caller import current_caller
from llmgw_desktop.transports.mcp.results import tool_error

__all__ = ["upstream_middleware"]


def upstream_middleware(engine: Engine) -> Any:
    """The middleware that adds the upstream servers' tools to ours."""
    servers = engine.upstream_mcp

    async def relay(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if not servers.configured:
            return await call_next(ctx)
        params = ctx.params or {}
        if ctx.method == "tools/list" and not params.get("cursor"):
            result = await call_next(ctx)
            principal = current_caller().as_principal
            if refusal(principal, Capability.GATEWAY_USE) is not None:
                return result
            relayed = await servers.tools(principal)
            extra = [
                t.tool.model_dump(mode="json", by_alias=True, exclude_none=True)
                | {"name": t.offered}
                for t in relayed
            ]
            if isinstance(result, dict) and isinstance(result.get("tools"), list):
                return {**result, "tools": [*result["tools"], *extra]}
            if isinstance(result, ListToolsResult):
                tools = [*result.tools, *(Tool.model_validate(t) for t in extra)]
                return result.model_copy(update={"tools": tools})
            return result
        name = str(params.get("name", ""))
        if ctx.method != "tools/call" or not servers.owns(name):
            return await call_next(ctx)
        caller = current_caller()
        principal = caller.as_principal
        denied = refusal(principal, Capability.GATEWAY_USE)
        if denied is not None:
            return tool_error(denied)
        token = _progress_token(params)

        async def progress(done: float, total: float | None, message: str | None) -> None:
            if token is not None:
                await ctx.session.send_progress_notification(
                    token,
                    done,
                    total,
                    message,
                    related_request_id=None if ctx.request_id is None else str(ctx.request_id),
                )

        arguments = params.get("arguments")
        try:
            return await servers.call(
                name,
                arguments if isinstance(arguments, dict) else None,
                principal=principal,
                client=caller.client,
                transport=caller.transport,
                progress=progress if token is not None else None,
            )
        except EngineError as error:
            return tool_error(error)

    return relay


def _progress_token(params: Any) -> str | int | None:
    meta = params.get("_meta")
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    return token if isinstance(token, str | int) and not isinstance(token, bool) else None
