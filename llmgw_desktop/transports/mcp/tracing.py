"""An OpenTelemetry span around each MCP tool call (nothing at all while export is off).

Named `execute_tool {name}` with the GenAI conventions' `gen_ai.operation.name` and
`gen_ai.tool.name`; the CLI job a tool starts, and any gateway request it makes, are its
children. A tool call that answers with an error result is marked failed.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from llmgw_desktop.engine.api import Engine
from llmgw_desktop.transports.mcp.caller import current_caller

__all__ = ["tracing_middleware"]


def tracing_middleware(engine: Engine) -> Any:
    """The server middleware that spans tool calls (None-cost passthrough when export is off)."""
    telemetry = engine.telemetry

    async def tracing(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if not telemetry.enabled or ctx.method != "tools/call":
            return await call_next(ctx)
        name = str((ctx.params or {}).get("name", ""))
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "llmgw.agent": current_caller().client,
        }
        with telemetry.span(f"execute_tool {name}", attributes) as span:
            result = await call_next(ctx)
            failed = (
                result.get("isError")
                if isinstance(result, dict)
                else getattr(result, "is_error", False)
            )
            if failed:
                span.failed("tool_error")
            return result

    return tracing
