"""Job tools: status, paged result, cancel, watch, and lookup by correlation id."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from llmgw_desktop.engine.api import Engine, InvalidRequest, JobState, NotFound
from llmgw_desktop.transports.mcp.caller import caller_of
from llmgw_desktop.transports.mcp.results import failure, guarded, success
from llmgw_desktop.transports.mcp.tools_providers import job_answer

__all__ = ["register_job_tools"]

PAGE_DEFAULT = 50_000
PAGE_MAX = 500_000
WATCH_DEFAULT_MS = 30_000
WATCH_MAX_MS = 120_000
PREVIEW_CHARS = 400

JobId = Annotated[str, Field(description="The jobId a request tool returned.")]


def register_job_tools(server: MCPServer, engine: Engine) -> None:
    read_only = ToolAnnotations(read_only_hint=True)

    @guarded
    async def llm_job_status(ctx: Context, jobId: JobId) -> CallToolResult:
        """State and progress of a job (no answer text; use llm_job_result for that)."""
        view = await engine.jobs.get(jobId, caller_of(ctx).principal)
        summary = view.summary()
        summary["outputChars"] = len(view.output)
        summary["outputPreview"] = view.output[-PREVIEW_CHARS:]
        return success(summary)

    @guarded
    async def llm_job_result(
        ctx: Context,
        jobId: JobId,
        offset: Annotated[int, Field(description="First character to return.", ge=0)] = 0,
        limit: Annotated[
            int, Field(description="How many characters at most.", ge=1, le=PAGE_MAX)
        ] = PAGE_DEFAULT,
    ) -> CallToolResult:
        """A job's answer, paged for large output; the partial output while it still runs."""
        view = await engine.jobs.get(jobId, caller_of(ctx).principal)
        if view.state is JobState.COMPLETED and view.result is not None:
            text = str(view.result.get("text", view.output))
            body = job_answer(view)
        else:
            text = view.output
            body = view.summary()
        page = text[offset : offset + limit]
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

    @guarded
    async def llm_job_cancel(ctx: Context, jobId: JobId) -> CallToolResult:
        """Stop a running or queued job (its whole process tree); finished jobs stay as they are."""
        view = await engine.jobs.cancel(jobId, caller_of(ctx).principal)
        return success(view.summary())

    @guarded
    async def llm_job_watch(
        ctx: Context,
        jobId: JobId,
        timeoutMs: Annotated[
            int, Field(description="Longest wait for a change, ms.", ge=0, le=WATCH_MAX_MS)
        ] = WATCH_DEFAULT_MS,
    ) -> CallToolResult:
        """Wait (bounded) until the job changes (state, output or progress), then report it."""
        view = await engine.jobs.watch(jobId, caller_of(ctx).principal, timeoutMs / 1000)
        summary = view.summary()
        summary["outputChars"] = len(view.output)
        summary["outputPreview"] = view.output[-PREVIEW_CHARS:]
        return success(summary)

    @guarded
    async def llm_request_result(
        ctx: Context,
        correlationId: Annotated[str, Field(description="The correlationId you gave the request.")],
    ) -> CallToolResult:
        """The newest request you tagged with correlationId: its record and, if any, its job."""
        principal = caller_of(ctx).principal
        if not correlationId.strip():
            raise InvalidRequest("correlationId is empty", param="correlationId")
        record = await engine.recorder.by_correlation(principal, correlationId)
        if record is None:
            raise NotFound(f"no request tagged {correlationId!r}")
        body: dict[str, object] = {"record": record}
        if record.get("job_id"):
            view = await engine.jobs.get(str(record["job_id"]), principal)
            body["job"] = job_answer(view) if view.state is JobState.COMPLETED else view.summary()
        return success(dict(body))

    for fn, hints in (
        (llm_job_status, read_only),
        (llm_job_result, read_only),
        (llm_job_cancel, ToolAnnotations(destructive_hint=True)),
        (llm_job_watch, read_only),
        (llm_request_result, read_only),
    ):
        server.add_tool(fn, annotations=hints)
