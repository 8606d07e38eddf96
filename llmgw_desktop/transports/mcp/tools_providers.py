"""`<provider>_request` and `<provider>_request_async` for every CLI, and `codex_fork_session`.

The synchronous tool waits up to the sync deadline; past it, it answers `deferred: true` with
the job id, and the job runs on (collect it with `llm_job_result`). The asynchronous tool
answers with the job id at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from llmgw_desktop.engine.call_params import CallParams, RequestMeta
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobState, JobView
from llmgw_desktop.engine.providers.base import PromptParts
from llmgw_desktop.engine.providers.cli_catalog import PROVIDERS, provider_info
from llmgw_desktop.transports.mcp.caller import caller_of
from llmgw_desktop.transports.mcp.results import failure, guarded, success

__all__ = ["CallInputs", "PromptPartsInput", "job_answer", "register_provider_tools"]

INLINE_TEXT_LIMIT = 100_000  # longer answers are paged with llm_job_result

PermissionMode = Literal["default", "plan", "acceptEdits", "bypassPermissions"]


class PromptPartsInput(BaseModel):
    """A prompt split so its stable prefix stays byte-identical across calls (cache hits)."""

    system: str = Field("", description="Long, stable system instruction.")
    tools: str = Field("", description="Long, stable tool description.")
    context: str = Field("", description="Long, stable context: files, spec, repo summary.")
    task: str = Field(description="The per-turn question; the only part that changes.")


class CallInputs(BaseModel):
    """The arguments every provider request tool takes (checked again by the engine)."""

    prompt: str | None = None
    promptParts: PromptPartsInput | None = None
    model: str | None = None
    sessionId: str | None = None
    resumeLatest: bool = False
    createNewSession: bool = False
    permissionMode: PermissionMode | None = None
    fullAuto: bool = False
    approvalStrategy: Literal["legacy", "mcp_managed"] = "legacy"
    allowedTools: list[str] | None = None
    disallowedTools: list[str] | None = None
    workingDir: str | None = None
    workspace: str | None = None
    timeoutMs: int | None = None
    idleTimeoutMs: int | None = None
    forceRefresh: bool = False
    correlationId: str | None = None
    optimizePrompt: bool = False
    optimizeResponse: bool = False
    compressResponse: bool = False

    def to_engine(
        self, engine: Engine, tool: str, transport: str, client: str, *, fork: bool = False
    ) -> tuple[CallParams, RequestMeta]:
        """The engine's view of these arguments (the engine resolves the workspace)."""
        parts = None
        if self.promptParts is not None:
            parts = PromptParts(
                task=self.promptParts.task,
                system=self.promptParts.system,
                tools=self.promptParts.tools,
                context=self.promptParts.context,
            )
        params = CallParams(
            prompt=self.prompt,
            prompt_parts=parts,
            model=self.model,
            session_id=self.sessionId,
            resume_latest=self.resumeLatest,
            create_new_session=self.createNewSession,
            fork=fork,
            permission_mode=self.permissionMode or "default",
            allowed_tools=tuple(self.allowedTools or ()),
            disallowed_tools=tuple(self.disallowedTools or ()),
            working_dir=self.workingDir,
            workspace=self.workspace,
            timeout_ms=self.timeoutMs,
            idle_timeout_ms=self.idleTimeoutMs,
            force_refresh=self.forceRefresh,
            correlation_id=self.correlationId,
        )
        meta = RequestMeta(
            transport=transport,
            tool=tool,
            caller=client,
            approval_strategy=self.approvalStrategy,
            full_auto=self.fullAuto,
            optimize_prompt=self.optimizePrompt,
            optimize_response=self.optimizeResponse,
            compress_response=self.compressResponse,
        )
        return params, meta


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


ToolFn = Callable[..., Awaitable[CallToolResult]]


def _request_tool(engine: Engine, provider: str, *, wait: bool, fork: bool = False) -> ToolFn:
    name = "codex_fork_session" if fork else f"{provider}_request{'' if wait else '_async'}"

    @guarded
    async def tool(
        ctx: Context,
        prompt: Annotated[
            str | None, Field(description="The prompt. Give this or promptParts, not both.")
        ] = None,
        promptParts: Annotated[
            PromptPartsInput | None,
            Field(description="The prompt in cache-friendly parts; instead of prompt."),
        ] = None,
        model: Annotated[str | None, Field(description="Model; default: the CLI's own.")] = None,
        sessionId: Annotated[
            str | None,
            Field(description="A gateway session (gw-...) or the CLI's own session id to resume."),
        ] = None,
        resumeLatest: Annotated[
            bool, Field(description="Continue your latest conversation with this CLI.")
        ] = False,
        createNewSession: Annotated[
            bool, Field(description="Start fresh even if a session is active.")
        ] = False,
        permissionMode: Annotated[
            PermissionMode | None,
            Field(description="What the CLI may do without asking; mapped to its own flags."),
        ] = None,
        fullAuto: Annotated[
            bool, Field(description="Let it edit on its own (Codex: sandboxed workspace-write).")
        ] = False,
        approvalStrategy: Annotated[
            Literal["legacy", "mcp_managed"],
            Field(description="mcp_managed scores the request and may deny it."),
        ] = "legacy",
        allowedTools: Annotated[
            list[str] | None,
            Field(
                description="Tools to pre-approve. A remote caller may only name tools its "
                "workspace lists in remote_allowed_tools."
            ),
        ] = None,
        disallowedTools: Annotated[list[str] | None, Field(description="Tools to deny.")] = None,
        workingDir: Annotated[
            str | None, Field(description="Absolute directory the CLI works in.")
        ] = None,
        workspace: Annotated[
            str | None, Field(description="A registered workspace alias instead of workingDir.")
        ] = None,
        timeoutMs: Annotated[int | None, Field(description="Longest run, ms.")] = None,
        idleTimeoutMs: Annotated[
            int | None, Field(description="Stop after this long without output, ms.")
        ] = None,
        forceRefresh: Annotated[
            bool, Field(description="Run again even if an identical call ran recently.")
        ] = False,
        correlationId: Annotated[
            str | None, Field(description="Your tag, to find this request later.")
        ] = None,
        optimizePrompt: Annotated[
            bool, Field(description="Drop needless whitespace from the prompt.")
        ] = False,
        optimizeResponse: Annotated[
            bool, Field(description="Drop needless whitespace from the answer.")
        ] = False,
        compressResponse: Annotated[
            bool, Field(description="Fold repeated lines of the answer (lossless).")
        ] = False,
    ) -> CallToolResult:
        inputs = CallInputs.model_validate(
            {k: v for k, v in locals().items() if k in CallInputs.model_fields}
        )
        who = caller_of(ctx)
        params, meta = inputs.to_engine(engine, name, who.transport, who.client, fork=fork)
        submitted = await engine.calls.submit(provider, params, who.principal, meta)
        if not wait:
            view = await engine.jobs.get(submitted.job_id, who.principal)
            return success(
                {
                    "jobId": submitted.job_id,
                    "requestId": submitted.record_id,
                    "state": view.state.value,
                    "attached": submitted.attached,
                    "next": "poll llm_job_status, then llm_job_result",
                }
            )
        deadline = engine.settings.sync_deadline_ms / 1000
        view = await engine.jobs.wait(submitted.job_id, who.principal, deadline)
        if not view.finished:
            return success(
                {
                    "deferred": True,
                    "jobId": view.id,
                    "requestId": submitted.record_id,
                    "state": view.state.value,
                    "attached": submitted.attached,
                    "progress": view.progress,
                    "next": "still running: poll llm_job_status, then llm_job_result",
                }
            )
        if view.state is not JobState.COMPLETED:
            return failure(
                view.error or {"code": view.state.value},
                jobId=view.id,
                requestId=submitted.record_id,
            )
        # `requestId` is the call's recorder row: paste it into the recorder's search.
        return success(
            job_answer(view, attached=submitted.attached) | {"requestId": submitted.record_id}
        )

    tool.__name__ = name
    return tool


def register_provider_tools(server: MCPServer, engine: Engine) -> None:
    for info in PROVIDERS:
        for wait in (True, False):
            name = f"{info.id}_request{'' if wait else '_async'}"
            how = "and wait for the answer" if wait else "as a background job"
            server.add_tool(
                _request_tool(engine, info.id, wait=wait),
                name=name,
                title=f"{info.display_name} request{'' if wait else ' (async)'}",
                description=(
                    f"Send a prompt to {info.display_name} ({', '.join(info.binaries)}) {how}. "
                    "Every call is a durable job; a synchronous call that takes longer than the "
                    "sync deadline answers deferred with a jobId."
                ),
                annotations=ToolAnnotations(open_world_hint=True),
            )
    codex = provider_info("codex")
    server.add_tool(
        _request_tool(engine, "codex", wait=True, fork=True),
        name="codex_fork_session",
        title="Fork a Codex session",
        description=(
            f"Continue a {codex.display_name} session (sessionId) in a new branch, where the "
            "installed CLI can do that headless; otherwise a structured error says why."
        ),
    )
