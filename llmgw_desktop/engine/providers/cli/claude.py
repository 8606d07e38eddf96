"""Claude Code (`claude`): headless with stream-json in and out.

The prompt goes in on stdin as a stream-json user message, never in argv, so a prompt that
starts with `-` cannot become a flag and prompt parts can carry a cache breakpoint on their
stable prefix. Output is NDJSON: `system/init` (session id, model), `assistant` messages
(text so far), and one final `result` with usage, cost and errors.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.providers.base import (
    NdjsonParser,
    Prepared,
    ProviderRequest,
    ProviderResult,
)
from llmgw_desktop.engine.providers.confinement import confined
from llmgw_desktop.engine.providers.failures import (
    failure_from_outcome,
    failure_from_status,
    failure_from_text,
    tail,
)
from llmgw_desktop.engine.providers.mcp_handoff import handed_file, not_started_notice
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.pricing import COST_FROM_CLI
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["ClaudeAdapter", "ClaudeParser"]

PERMISSION_FLAGS = {
    "default": (),
    "plan": ("--permission-mode", "plan"),
    "acceptEdits": ("--permission-mode", "acceptEdits"),
    "bypassPermissions": ("--permission-mode", "bypassPermissions"),
}
# The gateway owns retries (with backoff, on the job path, visible as attempts); the CLI's own
# retry loop would otherwise wait minutes on a 429 before the gateway hears of it.
ENV = {"CLAUDE_CODE_MAX_RETRIES": "0"}


class ClaudeAdapter:
    info = provider_info("claude")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        argv = [executable, "-p", "--input-format", "stream-json"]
        argv += ["--output-format", "stream-json", "--verbose"]
        if request.model:
            argv += ["--model", request.model]
        session = request.session
        if session.resume_id:
            argv += ["--resume", session.resume_id]
            if session.fork:
                argv.append("--fork-session")
        elif session.resume_latest:
            argv.append("--continue")
        elif session.new_session_id:
            argv += ["--session-id", session.new_session_id]
        elif session.fork:
            raise InvalidRequest(
                "forking needs a session to fork from", code=ErrorCode.INVALID_SESSION
            )
        try:
            if request.confined:
                argv += confined("claude", request.permission_mode).flags
            else:
                argv += PERMISSION_FLAGS[request.permission_mode]
        except KeyError:
            raise InvalidRequest(
                f"unknown permission mode {request.permission_mode!r}",
                code=ErrorCode.INVALID_PERMISSION,
            ) from None
        if request.allowed_tools:
            argv += ["--allowed-tools", *request.allowed_tools]
        if request.disallowed_tools:
            argv += ["--disallowed-tools", *request.disallowed_tools]
        if request.max_budget_usd is not None:
            # Held under a hard budget: the CLI stops at the first turn that passes the hold,
            # rather than run on turn after turn (its error result says what it spent).
            argv += ["--max-budget-usd", f"{max(request.max_budget_usd, 0.000001):.6f}"]
        if request.mcp_servers:
            argv += ["--mcp-config", str(handed_file(request))]
        argv += request.extra_args
        invocation = Invocation(
            argv=tuple(argv), stdin=user_message(request), env=ENV, cwd=request.working_dir
        )
        return Prepared(invocation, ClaudeParser(frozenset(s.name for s in request.mcp_servers)))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


def user_message(request: ProviderRequest) -> bytes:
    """The stream-json user message carrying the prompt, with a cache breakpoint on prompt
    parts' stable prefix."""
    parts = request.parts
    if parts is not None and parts.stable_prefix:
        content: list[dict[str, Any]] = [
            {"type": "text", "text": parts.stable_prefix, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": parts.task},
        ]
    else:
        content = [{"type": "text", "text": request.prompt}]
    message = {
        "type": "user",
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": None,
        "session_id": "",
    }
    return (json.dumps(message, ensure_ascii=False) + "\n").encode()


class ClaudeParser(NdjsonParser):
    """Reads Claude's stream-json output; `handed` are the MCP servers the call names."""

    def __init__(self, handed: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._texts: list[str] = []
        self._session_id: str | None = None
        self._model: str | None = None
        self._result: dict[str, Any] | None = None
        self._handed = handed
        self._notices: list[str] = []

    @property
    def partial_text(self) -> str:
        return "".join(self._texts)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if isinstance(event.get("session_id"), str) and event["session_id"]:
            self._session_id = event["session_id"]
        if kind == "system" and event.get("subtype") == "init":
            self._model = event.get("model") or self._model
            self._notices += _servers_not_started(event, self._handed)
        elif kind == "assistant":
            message = event.get("message") or {}
            if message.get("model") == "<synthetic>":
                return  # the CLI's own error notice; the result line carries the error
            for block in message.get("content") or ():
                if isinstance(block, dict) and block.get("type") == "text":
                    self._texts.append(str(block.get("text", "")))
            self._model = message.get("model") or self._model
        elif kind == "result":
            self._result = event

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        self._drain()
        result = self._result
        if result is None:
            if outcome.exit_code == 0:
                raise ProviderFailure(
                    "claude exited without a result; its output may be truncated",
                    code=ErrorCode.PROVIDER_ERROR,
                    retryable=True,
                    provider="claude",
                    stdout_tail=tail(outcome.stdout, 500),
                )
            raise _failure_without_result(outcome)
        if result.get("is_error") or result.get("subtype") != "success":
            raise _failure_from_result(result, outcome)
        usage = result.get("usage") or {}
        model_usage = result.get("modelUsage") or {}
        model = self._model or next(iter(model_usage), None)
        cost = result.get("total_cost_usd")
        return ProviderResult(
            text=str(result.get("result", "")),
            provider="claude",
            session_id=result.get("session_id") or self._session_id,
            model=_plain_model_name(model),
            stop_reason=result.get("stop_reason"),
            usage=Usage(
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
                cache_write_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            ),
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
            cost_source=COST_FROM_CLI if isinstance(cost, int | float) else None,
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            warnings=(*self._notices, *_denials(result)),
            raw_output=outcome.stdout.decode("utf-8", errors="replace"),
        )


def _servers_not_started(init: dict[str, Any], handed: frozenset[str]) -> list[str]:
    """A notice for each server the call names that Claude Code, as its first event says,
    could not start: it runs the turn without that server's tools."""
    return [
        not_started_notice("claude", [server["name"]], f"it said: {server.get('status')}")
        for server in init.get("mcp_servers") or ()
        if isinstance(server, dict)
        and server.get("name") in handed
        and server.get("status") != "connected"
    ]


def _plain_model_name(model: str | None) -> str | None:
    # The CLI decorates the context size onto the id ("claude-opus-4-8[1m]").
    return model.split("[", 1)[0] if model else model


def _denials(result: dict[str, Any]) -> list[str]:
    denials = result.get("permission_denials") or []
    if not denials:
        return []
    names = sorted({str(d.get("tool_name", "?")) for d in denials if isinstance(d, dict)})
    return [f"claude was denied permission to use: {', '.join(names)}"]


def _failure_from_result(result: dict[str, Any], outcome: ProcessOutcome) -> ProviderFailure:
    message = str(result.get("result") or result.get("subtype") or "claude reported an error")
    status = result.get("api_error_status")
    if result.get("subtype") == "error_max_budget_usd":
        # Told `--max-budget-usd` by a hard budget's hold, and stopped there.
        failure = ProviderFailure(
            "claude stopped at the spend a hard budget held for this call (its turns passed "
            "--max-budget-usd); name a cheaper model, ask for less, or raise the budget",
            code=ErrorCode.BUDGET_EXCEEDED,
            provider="claude",
        )
    elif isinstance(status, int):
        failure = failure_from_status(status, message, "claude")
    else:
        failure = failure_from_text(message, "claude")
    failure.details["session_id"] = result.get("session_id")
    cost = result.get("total_cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        # What the failed run cost by the CLI's own count: its row is counted at that.
        failure.details["cost_usd"] = float(cost)
    if outcome.stderr_tail:
        failure.details["stderr_tail"] = tail(outcome.stderr_tail)
    return failure


def _failure_without_result(outcome: ProcessOutcome) -> ProviderFailure:
    stderr = tail(outcome.stderr_tail)
    if "No conversation found" in stderr:
        return ProviderFailure(
            f"claude has no conversation to resume: {stderr}. Claude keeps conversations per "
            "working directory: resume from the directory the session ran in.",
            code=ErrorCode.SESSION_NOT_FOUND,
            provider="claude",
        )
    if "is already in use" in stderr:
        return ProviderFailure(
            f"claude: {stderr}; resume that session instead of starting it again",
            code=ErrorCode.SESSION_CONFLICT,
            provider="claude",
        )
    return failure_from_outcome(outcome, "claude")
