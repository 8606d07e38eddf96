"""Tool results in one shape: JSON text plus structured content; errors carry a stable code.

A finished job reads the same from every tool that shows one (`job_answer`).

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

from llmgw_desktop.engine.api import (
    Deferred,
    EngineError,
    ErrorCode,
    JobView,
    Outcome,
    disk_refusal,
)

__all__ = [
    "INLINE_TEXT_LIMIT",
    "failure",
    "guarded",
    "job_answer",
    "outcome_answer",
    "success",
    "tool_error",
]

log = logging.getLogger(__name__)
P = ParamSpec("P")

INLINE_TEXT_LIMIT = 100_000  # longer answers are paged with llm_job_result


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
        except Exception as exc:
            refused = disk_refusal(exc)
            if refused is not None:  # said in the answer: the log may be on that disk
                log.warning("tool %s: %s", getattr(fn, "__name__", "?"), refused.message)
                return tool_error(refused)
            log.exception("tool %s failed", getattr(fn, "__name__", "?"))
            return tool_error(
                EngineError(
                    "the gateway failed while handling this tool; see its log",
                    code=ErrorCode.INTERNAL_ERROR,
                )
            )

    return wrapper


def job_answer(view: JobView, *, attached: bool = False) -> dict[str, Any]:
    """A finished job's result as tools return it (camelCase, answer text inline up to a limit)."""
    result = view.result or {}
    text = str(result.get("text", view.output))
    usage = result.get("usage") or {}
    answer: dict[str, Any] = {
        "jobId": view.id,
        "provider": view.provider,
        "state": view.state.value,
        "text": text[:INLINE_TEXT_LIMIT],
        "sessionId": result.get("gateway_session_id") or view.session_id,
        "providerSessionId": result.get("session_id"),
        "model": result.get("model"),
        "stopReason": result.get("stop_reason"),
        "usage": {
            "inputTokens": usage.get("input_tokens", 0),
            "outputTokens": usage.get("output_tokens", 0),
            "cacheReadTokens": usage.get("cache_read_tokens", 0),
            "cacheWriteTokens": usage.get("cache_write_tokens", 0),
            "reasoningTokens": usage.get("reasoning_tokens", 0),
            "totalInputTokens": usage.get("total_input_tokens", 0),
        },
        "costUsd": result.get("cost_usd"),
        "costSource": result.get("cost_source"),
        "durationMs": round(float(result.get("duration_s", 0.0)) * 1000),
        "attempts": view.attempts,
        "warnings": result.get("warnings", []),
        "workingDir": result.get("working_dir"),
        "attached": attached,
    }
    if "optimization" in result:
        answer["optimization"] = result["optimization"]
    if len(text) > INLINE_TEXT_LIMIT:
        answer["truncated"] = True
        answer["totalChars"] = len(text)
        answer["hint"] = "the answer is longer: page through it with llm_job_result"
    if view.correlation_id:
        answer["correlationId"] = view.correlation_id
    return answer


def outcome_answer(outcome: Outcome) -> CallToolResult:
    """A call run by the engine's runner, as every tool that waits for one answers: the result,
    the failure, or `deferred` with the job id to collect. `requestId` is the call's recorder
    row (paste it into the recorder's search)."""
    view = outcome.view
    if isinstance(outcome, Deferred):
        return success(
            {
                "deferred": True,
                "jobId": view.id,
                "requestId": outcome.record_id,
                "state": view.state.value,
                "attached": outcome.attached,
                "progress": view.progress,
                "next": "still running: poll llm_job_status, then llm_job_result",
            }
        )
    if not outcome.completed:
        return failure(
            view.error or {"code": view.state.value}, jobId=view.id, requestId=outcome.record_id
        )
    return success(job_answer(view, attached=outcome.attached) | {"requestId": outcome.record_id})
