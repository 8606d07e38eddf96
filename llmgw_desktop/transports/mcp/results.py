"""Tool results in one shape: JSON text plus structured content; errors carry a stable code.

Engine errors become `isError` results whose JSON body holds `error.code`, `error.message`,
`error.retryable` and any details, so an orchestrating agent can act on them; `tool_error` is
the one place that mapping is written. A bug becomes an `internal_error` result, logged with
its traceback, never a traceback in the answer.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from mcp_types import CallToolResult, TextContent

from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = ["failure", "guarded", "success", "tool_error"]

log = logging.getLogger(__name__)
P = ParamSpec("P")


def success(data: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False, default=str))],
        structured_content=data,
    )


def failure(error: dict[str, Any], **extra: Any) -> CallToolResult:
    body = {"error": error, **extra}
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body, ensure_ascii=False, default=str))],
        structured_content=body,
        is_error=True,
    )


def tool_error(error: EngineError) -> CallToolResult:
    """The MCP envelope of an engine error: an `isError` result with the error's structured form."""
    return failure(error.to_dict())


def guarded(
    fn: Callable[P, Awaitable[CallToolResult]],
) -> Callable[P, Awaitable[CallToolResult]]:
    """Turn engine errors into structured tool errors; keeps `fn`'s signature for the schema."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except EngineError as error:
            return tool_error(error)
        except Exception:
            log.exception("tool %s failed", getattr(fn, "__name__", "?"))
            return tool_error(
                EngineError(
                    "the gateway failed while handling this tool; see its log",
                    code=ErrorCode.INTERNAL_ERROR,
                )
            )

    return wrapper
