"""A coding CLI answering as a chat model: how a subscription serves OpenAI-compatible tools.

The conversation is written into the CLI's prompt (system first, earlier turns as context, the
last user message as the task), run as an ordinary engine call (approval gate, recorder, job
store, resilience), and the CLI's text comes back as a neutral answer or stream. CLIs run their
own agent loops and cannot take a client's function definitions, so tools in the request are
not offered to the model; the caller is told so in a notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from llmgw_desktop.engine.calls import Call, CallParams, CallRunner, Deferred, RequestMeta
from llmgw_desktop.engine.errors import EngineError, ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    DocumentPart,
    ImagePart,
    Message,
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.providers.base import PromptParts
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["BRIDGE_APPROVAL_STRATEGY", "CliBridge", "CliCall", "conversation_prompt"]

# How each turn of the conversation so far is introduced in the CLI's prompt.
_SPEAKERS = {"user": "User", "assistant": "Assistant", "system": "System"}
# How often a streaming bridge looks for new output when the job reports no change.
WATCH_INTERVAL_S = 0.5
# The CLI answers as a model: no edits, no shell, just the answer.
BRIDGE_PERMISSION_MODE = "plan"
# An HTTP client has no field to choose how the approval gate reads its call, and a prompt
# that asks a CLI to destroy or fetch-and-run must not reach it by this door either: the gate
# scores every bridged call as it scores an MCP call under `mcp_managed` (the desk is asked
# where the policy says so); the mode stays `plan`.
BRIDGE_APPROVAL_STRATEGY = "mcp_managed"


@dataclass(frozen=True)
class CliCall:
    """A bridged call in flight: the engine job behind it and any notices for the caller."""

    job_id: str
    notices: tuple[str, ...] = ()


def conversation_prompt(request: ChatRequest) -> tuple[PromptParts, tuple[str, ...]]:
    """The chat as a CLI prompt, plus notices about what could not be carried over.

    Raises:
        ValueError: there is no user message to answer.
    """
    notices: list[str] = []
    if request.tools:
        notices.append("tools in the request are not offered to a CLI provider")
    turns = [_render_turn(m, notices) for m in request.messages]
    late_system: list[str] = []
    while turns and (not turns[-1][1].strip() or turns[-1][0] == "system"):
        # An instruction after the last user message (Claude Code sends one) joins the
        # system prompt: the task must be the user's.
        role, text = turns.pop()
        if role == "system" and text.strip():
            late_system.insert(0, text)
    if not turns or turns[-1][0] != "user":
        raise ValueError("the conversation must end with a user message for a CLI provider")
    *earlier, (_, task) = turns
    context = ""
    if earlier:
        lines = [f"{_SPEAKERS[role]}: {text}" for role, text in earlier]
        context = "Conversation so far:\n\n" + "\n\n".join(lines)
    system = "\n\n".join([*(p.text for p in request.system), *late_system])
    return PromptParts(task=task, system=system, context=context), tuple(dict.fromkeys(notices))


def _render_turn(message: Message, notices: list[str]) -> tuple[str, str]:
    pieces: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ToolCallPart):
            pieces.append(f"[called tool {part.name} with {part.arguments}]")
        elif isinstance(part, ToolResultPart):
            pieces.append(f"[tool result: {part.content}]")
        elif isinstance(part, ImagePart):
            notices.append("images are not passed to a CLI provider")
        elif isinstance(part, DocumentPart):
            if part.text is not None:
                pieces.append(part.text)
            else:
                notices.append("documents are not passed to a CLI provider")
    return message.role, "\n".join(pieces)


class CliBridge:
    """Runs a chat request on a coding CLI through the engine and reads back its answer."""

    def __init__(self, runner: CallRunner, jobs: JobManager, *, timeout_s: float) -> None:
        self._runner = runner
        self._jobs = jobs
        self._timeout_s = timeout_s

    async def start(
        self,
        provider: str,
        model: str,
        request: ChatRequest,
        principal: str,
        meta: RequestMeta,
        *,
        workspace: str | None = None,
        session_id: str | None = None,
    ) -> CliCall:
        """Submit the call (approval, availability and limits are checked here); the
        approval gate scores it (`BRIDGE_APPROVAL_STRATEGY`) whatever `meta` says.

        The call continues the conversation `session_id` names (a gateway session or the CLI's
        own id, as `sessionId` does over MCP), else it starts a fresh one: an HTTP client is
        never put into a conversation an agent of the same user made active.

        Raises:
            ApprovalDenied: the approval gate refused it (recorded as a denial; no CLI ran).
            EngineError: refused (unavailable, saturated, invalid).
        """
        try:
            parts, notices = conversation_prompt(request)
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="messages") from None
        params = CallParams(
            prompt_parts=parts,
            model=model or None,
            permission_mode=BRIDGE_PERMISSION_MODE,
            workspace=workspace,
            session_id=session_id,
            create_new_session=session_id is None,
            # An API call is never answered from another caller's earlier job.
            force_refresh=True,
        )
        meta = dataclasses.replace(meta, approval_strategy=BRIDGE_APPROVAL_STRATEGY)
        started = await self._runner.start(Call(provider, params, principal, meta))
        return CliCall(started.job_id, notices)

    async def complete(self, call: CliCall, principal: str, requested_model: str) -> ChatResponse:
        """Wait for the job and turn its result into an answer.

        Raises:
            EngineError: the CLI run failed (its own error, with code).
        """
        try:
            outcome = await self._runner.collect(call.job_id, principal, self._timeout_s)
        except asyncio.CancelledError:
            # The client left (its request cancelled): nobody will read the answer, so the CLI
            # is stopped, as for a stream abandoned or a call past its timeout.
            with contextlib.suppress(EngineError):
                await self._jobs.cancel(call.job_id, principal)
            raise
        view = outcome.view
        if isinstance(outcome, Deferred):
            # An API client waits for its answer: past the request timeout the job is
            # stopped, not left running for a collector that will never come.
            await self._jobs.cancel(call.job_id, principal)
            raise ProviderFailure(
                f"the CLI did not finish within {self._timeout_s:.0f} s", code=ErrorCode.TIMEOUT
            )
        if view.error is not None or view.result is None:
            raise EngineError.from_dict(view.error or {"message": "the CLI returned nothing"})
        return _response(view.result, requested_model, call.job_id)

    async def stream(
        self, call: CliCall, principal: str, requested_model: str
    ) -> AsyncIterator[StreamEvent]:
        """The job's text as it grows, then the final usage; cancels the job if abandoned.

        Raises:
            EngineError: the CLI run failed before finishing.
        """
        yield MessageStart(id=f"cli-{call.job_id}", model=requested_model)
        sent = ""
        deadline = time.monotonic() + self._timeout_s
        finished = False
        try:
            while True:
                view = await self._jobs.watch(call.job_id, principal, WATCH_INTERVAL_S)
                text = view.result["text"] if view.finished and view.result else view.output
                # Partial text only ever grows; if a CLI rewrote it, what was sent stands.
                if len(text) > len(sent) and text.startswith(sent):
                    yield TextDelta(0, text[len(sent) :])
                    sent = text
                if view.finished:
                    finished = True
                    if view.error is not None or view.result is None:
                        raise EngineError.from_dict(
                            view.error or {"message": "the CLI returned nothing"}
                        )
                    answer = _response(view.result, requested_model, call.job_id)
                    yield MessageEnd(answer.stop_reason, answer.usage)
                    return
                if time.monotonic() > deadline:
                    raise ProviderFailure(
                        f"the CLI did not finish within {self._timeout_s:.0f} s",
                        code=ErrorCode.TIMEOUT,
                    )
        finally:
            if not finished:
                # The client went away (or we timed out): do not leave the CLI running.
                with contextlib.suppress(EngineError):
                    await self._jobs.cancel(call.job_id, principal)


def _response(result: dict[str, Any], requested_model: str, job_id: str) -> ChatResponse:
    usage = result.get("usage") or {}
    return ChatResponse(
        id=f"cli-{job_id or uuid.uuid4().hex}",
        model=str(result.get("model") or requested_model),
        parts=(TextPart(str(result.get("text", ""))),),
        stop_reason="end_turn",
        usage=Usage(
            input_tokens=int(usage.get("input_tokens", 0)),
            output_tokens=int(usage.get("output_tokens", 0)),
            cache_read_tokens=int(usage.get("cache_read_tokens", 0)),
            cache_write_tokens=int(usage.get("cache_write_tokens", 0)),
            reasoning_tokens=int(usage.get("reasoning_tokens", 0)),
        ),
    )
