"""Tool results in one shape: JSON text plus structured content; errors carry a stable code.

Engine errors become `isError` results whose JSON body holds `error.code`, `error.message`,
`error.retryable` and any details, so an orchestrating agent can act on them. A bug becomes an
`internal_error` result, logged with its traceback, never a traceback in the answer.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from mcp_types import CallToolResult, TextContent

from llmgw_desktop.engine.api import GatewayError

__all__ = ["failure", "guarded", "success"]

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


def guarded(
    fn: Callable[P, Awaitable[CallToolResult]],
) -> Callable[P, Awaitable[CallToolResult]]:
    """Turn engine errors into structured tool errors; keeps `fn`'s signature for the schema."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except GatewayError as error:
            return failure(error.to_dict())
        except Exception:
            log.exception("tool %s failed", getattr(fn, "__name__", "?"))
            return failure(
                {
                    "code": "internal_error",
                    "message": "the gateway failed while handling this tool; see its log",
                    "retryable": False,
                }
            )

    return wrapper
