"""GitHub Copilot (`copilot`): headless with `--prompt`, JSONL events out, usage in a side file.

The JSONL stream carries the answer (`assistant.message`), failures (`session.error` with an
error type and HTTP status) and a final `result` with the session id, but no token counts:
those come from the file named by `--usage-output-file`, read once the run ends; on a resumed
session they are the session's totals, so the engine subtracts the previous turn's.

Local runs get `--allow-all-tools` (without it, whatever needs approval is refused headless),
narrowed by the permission mode with `--deny-tool`; a remote caller's confined run never gets
it (`providers/confinement.py`).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from pathlib import Path
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
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["CopilotAdapter", "CopilotParser"]

MAX_ARGV_PROMPT_BYTES = 100_000
PERMISSION_FLAGS = {
    # Headless copilot cannot ask, so "default" is the safe middle: edits yes, shell no.
    "default": ("--allow-all-tools", "--deny-tool", "shell"),
    "plan": ("--allow-all-tools", "--deny-tool", "shell", "--deny-tool", "write"),
    "acceptEdits": ("--allow-all-tools", "--deny-tool", "shell"),
    "bypassPermissions": ("--allow-all",),
}
ERROR_TYPES = {"authentication": ErrorCode.AUTH_REQUIRED, "rate_limit": ErrorCode.RATE_LIMITED}


class CopilotAdapter:
    info = provider_info("copilot")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        session = request.session
        if session.fork:
            raise InvalidRequest(
                "copilot cannot fork a session", code=ErrorCode.FORK_UNSUPPORTED, provider="copilot"
            )
        if request.permission_mode not in PERMISSION_FLAGS:
            raise InvalidRequest(
                f"unknown permission mode {request.permission_mode!r}",
                code=ErrorCode.INVALID_PERMISSION,
            )
        if len(request.prompt.encode()) > MAX_ARGV_PROMPT_BYTES:
            raise InvalidRequest(
                f"copilot takes the prompt on its command line, which holds at most "
                f"{MAX_ARGV_PROMPT_BYTES} bytes; shorten the prompt",
                code=ErrorCode.PROMPT_TOO_LARGE,
                provider="copilot",
            )
        usage_file = Path(tempfile.gettempdir()) / f"llmgw-copilot-usage-{uuid.uuid4().hex}.json"
        argv = [executable, f"--prompt={request.prompt}", "--output-format", "json"]
        argv += ["--no-ask-user", f"--usage-output-file={usage_file}"]
        if request.model:
            argv.append(f"--model={request.model}")
        if session.resume_id:
            argv.append(f"--resume={session.resume_id}")
        elif session.resume_latest:
            argv.append("--continue")
        elif session.new_session_id:
            argv.append(f"--session-id={session.new_session_id}")
        argv += _permission_flags(request)
        for tool in request.allowed_tools:
            argv.append(f"--allow-tool={tool}")
        for tool in request.disallowed_tools:
            argv.append(f"--deny-tool={tool}")
        argv += request.extra_args
        invocation = Invocation(argv=tuple(argv), cwd=request.working_dir)
        return Prepared(invocation, CopilotParser(request.model, usage_file))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


def _permission_flags(request: ProviderRequest) -> tuple[str, ...]:
    if not request.confined:
        return PERMISSION_FLAGS[request.permission_mode]
    flags = confined("copilot", request.permission_mode).flags
    if any(tool.split("(")[0] == "shell" for tool in request.allowed_tools):
        # A deny wins over every allow in copilot: a granted shell(...) needs the blanket
        # shell deny gone; other shell commands still need approval, which headless refuses.
        flags = tuple(flag for flag in flags if flag != "--deny-tool=shell")
    return flags


class CopilotParser(NdjsonParser):
    """Reads copilot's JSONL events, then its usage file."""

    def __init__(self, model: str | None, usage_file: Path) -> None:
        super().__init__()
        self._model = model
        self._usage_file = usage_file
        self._deltas: list[str] = []
        self._messages: list[str] = []
        self._error: dict[str, Any] | None = None
        self._result: dict[str, Any] | None = None

    @property
    def partial_text(self) -> str:
        return "\n\n".join(self._messages) if self._messages else "".join(self._deltas)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        data = event.get("data") or {}
        if kind == "assistant.message_delta":
            self._deltas.append(str(data.get("deltaContent", "")))
        elif kind == "assistant.message":
            self._deltas.clear()
            content = data.get("content")
            if content:
                self._messages.append(str(content))
            self._model = data.get("model") or self._model
        elif kind == "session.error":
            self._error = data
        elif kind == "result":
            self._result = event

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        self._drain()
        usage = self._read_usage()
        session_id = (self._result or {}).get("sessionId")
        if self._error is not None:
            raise _failure(self._error, session_id)
        if outcome.exit_code != 0 or self._result is None or not self._messages:
            stderr = tail(outcome.stderr_tail)
            if "No session" in stderr:
                raise ProviderFailure(
                    f"copilot has no session to resume: {stderr.splitlines()[0]}",
                    code=ErrorCode.SESSION_NOT_FOUND,
                    provider="copilot",
                )
            raise failure_from_outcome(outcome, "copilot")
        return ProviderResult(
            text=self._messages[-1],
            provider="copilot",
            session_id=session_id,
            model=self._model,
            stop_reason="end_turn",
            usage=usage,
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            raw_output=outcome.stdout.decode("utf-8", errors="replace"),
            # The usage file sums the whole session, resumed turns included (seen on 1.0.102).
            usage_is_cumulative=True,
        )

    def _read_usage(self) -> Usage:
        try:
            data = json.loads(self._usage_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return Usage()
        finally:
            with contextlib.suppress(OSError):
                self._usage_file.unlink()
        totals = {"input": 0, "output": 0, "read": 0, "write": 0, "reasoning": 0}
        for metrics in (data.get("modelMetrics") or {}).values():
            usage = (metrics or {}).get("usage") or {}
            totals["input"] += int(usage.get("inputTokens") or 0)
            totals["output"] += int(usage.get("outputTokens") or 0)
            totals["read"] += int(usage.get("cacheReadTokens") or 0)
            totals["write"] += int(usage.get("cacheWriteTokens") or 0)
            totals["reasoning"] += int(usage.get("reasoningTokens") or 0)
        return Usage(
            # Copilot counts cached tokens inside inputTokens (OpenAI style).
            input_tokens=max(0, totals["input"] - totals["read"] - totals["write"]),
            output_tokens=totals["output"],
            cache_read_tokens=totals["read"],
            cache_write_tokens=totals["write"],
            reasoning_tokens=totals["reasoning"],
        )


def _failure(error: dict[str, Any], session_id: str | None) -> ProviderFailure:
    message = str(error.get("message") or "copilot reported an error")
    status = error.get("statusCode")
    if isinstance(status, int):
        failure = failure_from_status(status, message.splitlines()[0], "copilot")
    else:
        failure = failure_from_text(message, "copilot")
        code = ERROR_TYPES.get(str(error.get("errorType")))
        if code is not None:
            failure.code = code
            failure.retryable = code == ErrorCode.RATE_LIMITED
    if session_id:
        failure.details["session_id"] = session_id
    return failure
