"""Job tools: status, paged result, cancel, watch, and lookup by correlation id."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import Engine, InvalidRequest, JobState, JobView, NotFound
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.results import failure, job_answer, success

__all__ = [
    "CorrelationInput",
    "JobInput",
    "JobResultInput",
    "JobWatchInput",
    "llm_job_cancel",
    "llm_job_result",
    "llm_job_status",
    "llm_job_watch",
    "llm_request_result",
]

PAGE_DEFAULT = 50_000
PAGE_MAX = 500_000
WATCH_DEFAULT_MS = 30_000
WATCH_MAX_MS = 120_000
PREVIEW_CHARS = 400

JobId = Annotated[str, Field(description="The jobId a request tool returned.")]


class JobInput(BaseModel):
    jobId: JobId


class JobResultInput(BaseModel):
    jobId: JobId
    offset: Annotated[int, Field(description="First character to return.", ge=0)] = 0
    limit: Annotated[int, Field(description="How many characters at most.", ge=1, le=PAGE_MAX)] = (
        PAGE_DEFAULT
    )


class JobWatchInput(BaseModel):
    jobId: JobId
    timeoutMs: Annotated[
        int, Field(description="Longest wait for a change, ms.", ge=0, le=WATCH_MAX_MS)
    ] = WATCH_DEFAULT_MS


class CorrelationInput(BaseModel):
    correlationId: Annotated[str, Field(description="The correlationId you gave the request.")]


def _with_preview(view: JobView) -> CallToolResult:
    summary = view.summary()
    summary["outputChars"] = len(view.output)
    summary["outputPreview"] = view.output[-PREVIEW_CHARS:]
    return success(summary)


async def llm_job_status(engine: Engine, caller: Caller, inputs: JobInput) -> CallToolResult:
    """State and progress of a job (no answer text; use llm_job_result for that)."""
    return _with_preview(await engine.jobs.get(inputs.jobId, caller.principal))


async def llm_job_result(engine: Engine, caller: Caller, inputs: JobResultInput) -> CallToolResult:
    """A job's answer, paged for large output; the partial output while it still runs."""
    view = await engine.jobs.get(inputs.jobId, caller.principal)
    if view.state is JobState.COMPLETED and view.result is not None:
        text = str(view.result.get("text", view.output))
        body = job_answer(view)
    else:
        text = view.output
        body = view.summary()
    offset = inputs.offset
    page = text[offset : offset + inputs.limit]
    body["text"] = page
    body["offset"] = offset
    body["totalChars"] = len(text)
    body["nextOffset"] = offset + len(page) if offset + len(page) < len(text) else None
    body.pop("truncated", None)
    body.pop("hint", None)
    if view.finished and view.state is not JobState.COMPLETED:
        # The summary carries the error too; it goes out once, as the result's error.
        error = body.pop("error", None) or {"code": view.state.value}
        return failure(error, **body)
    return success(body)


async def llm_job_cancel(engine: Engine, caller: Caller, inputs: JobInput) -> CallToolResult:
    """Stop a running or queued job (its whole process tree); finished jobs stay as they are."""
    view = await engine.jobs.cancel(inputs.jobId, caller.principal)
    return success(view.summary())


async def llm_job_watch(engine: Engine, caller: Caller, inputs: JobWatchInput) -> CallToolResult:
    """Wait (bounded) until the job changes (state, output or progress), then report it."""
    view = await engine.jobs.watch(inputs.jobId, caller.principal, inputs.timeoutMs / 1000)
    return _with_preview(view)


async def llm_request_result(
    engine: Engine, caller: Caller, inputs: CorrelationInput
) -> CallToolResult:
    """The newest request you tagged with correlationId: its record and, if any, its job."""
    principal, correlation_id = caller.principal, inputs.correlationId
    if not correlation_id.strip():
        raise InvalidRequest("correlationId is empty", param="correlationId")
    record = await engine.recorder.by_correlation(principal, correlation_id)
    if record is None:
        raise NotFound(f"no request tagged {correlation_id!r}")
    body: dict[str, object] = {"record": record}
    if record.get("job_id"):
        view = await engine.jobs.get(str(record["job_id"]), principal)
        body["job"] = job_answer(view) if view.state is JobState.COMPLETED else view.summary()
    return success(dict(body))
