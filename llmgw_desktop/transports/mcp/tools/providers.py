"""`<provider>_request` and `<provider>_request_async` for every CLI, and `codex_fork_session`.

The synchronous tool runs the call through the engine's `CallRunner`: past the sync deadline
it answers `deferred: true` with the job id, and the job runs on (collect it with
`llm_job_result`). The asynchronous tool answers with the job id at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from llmgw_desktop.engine.api import Call, CallParams, Engine, PromptParts, RequestMeta
from llmgw_desktop.transports.mcp.caller import Caller
from llmgw_desktop.transports.mcp.results import outcome_answer, success

__all__ = ["Project", "PromptPartsInput", "RequestInput", "request", "request_async"]

PermissionMode = Literal["default", "plan", "acceptEdits", "bypassPermissions"]
Project = Annotated[
    str | None,
    Field(
        description="The project this call is for: its vault credentials and its budgets "
        "(default: the X-Project header over HTTP)."
    ),
]


class PromptPartsInput(BaseModel):
    """A prompt split so its stable prefix stays byte-identical across calls (cache hits)."""

    system: str = Field("", description="Long, stable system instruction.")
    tools: str = Field("", description="Long, stable tool description.")
    context: str = Field("", description="Long, stable context: files, spec, repo summary.")
    task: str = Field(description="The per-turn question; the only part that changes.")


class RequestInput(BaseModel):
    """The arguments every provider request tool takes (checked again by the engine)."""

    prompt: Annotated[
        str | None, Field(description="The prompt. Give this or promptParts, not both.")
    ] = None
    promptParts: Annotated[
        PromptPartsInput | None,
        Field(description="The prompt in cache-friendly parts; instead of prompt."),
    ] = None
    model: Annotated[str | None, Field(description="Model; default: the CLI's own.")] = None
    sessionId: Annotated[
        str | None,
        Field(description="A gateway session (gw-...) or the CLI's own session id to resume."),
    ] = None
    resumeLatest: Annotated[
        bool, Field(description="Continue your latest conversation with this CLI.")
    ] = False
    createNewSession: Annotated[
        bool, Field(description="Start fresh even if a session is active.")
    ] = False
    permissionMode: Annotated[
        PermissionMode | None,
        Field(description="What the CLI may do without asking; mapped to its own flags."),
    ] = None
    fullAuto: Annotated[
        bool, Field(description="Let it edit on its own (Codex: sandboxed workspace-write).")
    ] = False
    approvalStrategy: Annotated[
        Literal["legacy", "mcp_managed"],
        Field(description="mcp_managed scores the request and may deny it."),
    ] = "legacy"
    allowedTools: Annotated[
        list[str] | None,
        Field(
            description="Tools to pre-approve. A remote caller may only name tools its "
            "workspace lists in remote_allowed_tools."
        ),
    ] = None
    disallowedTools: Annotated[list[str] | None, Field(description="Tools to deny.")] = None
    mcpServers: Annotated[
        list[str] | None,
        Field(
            description="The gateway's MCP servers ([mcp.servers.NAME]) the CLI gets for this "
            "call (Claude Code, Gemini CLI, Codex). A remote caller may only name servers its "
            "workspace lists in remote_mcp_servers."
        ),
    ] = None
    workingDir: Annotated[str | None, Field(description="Absolute directory the CLI works in.")] = (
        None
    )
    workspace: Annotated[
        str | None, Field(description="A registered workspace alias instead of workingDir.")
    ] = None
    timeoutMs: Annotated[int | None, Field(description="Longest run, ms.")] = None
    idleTimeoutMs: Annotated[
        int | None, Field(description="Stop after this long without output, ms.")
    ] = None
    forceRefresh: Annotated[
        bool, Field(description="Run again even if an identical call ran recently.")
    ] = False
    correlationId: Annotated[
        str | None, Field(description="Your tag, to find this request later.")
    ] = None
    optimizePrompt: Annotated[
        bool,
        Field(
            description=(
                "Shrink the prompt before it is sent: tidy whitespace, fold repeated lines and "
                "paragraphs, cut very long output to its head and tail (never code blocks or "
                "the question); the saving is recorded."
            )
        ),
    ] = False
    optimizeResponse: Annotated[
        bool, Field(description="Drop needless whitespace from the answer.")
    ] = False
    compressResponse: Annotated[
        bool, Field(description="Fold repeated lines of the answer (lossless).")
    ] = False
    project: Project = None

    def to_call(self, provider: str, tool: str, caller: Caller, *, fork: bool = False) -> Call:
        """The engine's view of these arguments (the engine resolves the workspace).

        Raises:
            InvalidRequest: the project name is not a plain identifier.
        """
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
            mcp_servers=tuple(self.mcpServers or ()),
            working_dir=self.workingDir,
            workspace=self.workspace,
            timeout_ms=self.timeoutMs,
            idle_timeout_ms=self.idleTimeoutMs,
            force_refresh=self.forceRefresh,
            correlation_id=self.correlationId,
        )
        meta = RequestMeta(
            transport=caller.transport,
            tool=tool,
            caller=caller.client,
            approval_strategy=self.approvalStrategy,
            full_auto=self.fullAuto,
            optimize_prompt=self.optimizePrompt,
            optimize_response=self.optimizeResponse,
            compress_response=self.compressResponse,
            project=caller.project(self.project),
            proven=caller.as_principal,
        )
        return Call(provider, params, caller.principal, meta)


async def request(
    engine: Engine,
    caller: Caller,
    inputs: RequestInput,
    *,
    provider: str,
    tool: str,
    fork: bool = False,
) -> CallToolResult:
    """Run the call and answer with its result, or deferred with its job id."""
    return outcome_answer(
        await engine.runner.run(inputs.to_call(provider, tool, caller, fork=fork))
    )


async def request_async(
    engine: Engine, caller: Caller, inputs: RequestInput, *, provider: str, tool: str
) -> CallToolResult:
    """Start the call as a job and answer with its id at once."""
    outcome = await engine.runner.start(inputs.to_call(provider, tool, caller))
    return success(
        {
            "jobId": outcome.job_id,
            "requestId": outcome.record_id,
            "state": outcome.view.state.value,
            "attached": outcome.attached,
            "next": "poll llm_job_status, then llm_job_result",
        }
    )
