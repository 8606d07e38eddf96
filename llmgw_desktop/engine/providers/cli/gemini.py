"""Gemini: the Gemini CLI (`gemini`, stream-json), or Google's Antigravity CLI (`agy`, text).

Gemini CLI reads the prompt on stdin when it is not a terminal, and prints NDJSON: `init`
(session id, model), assistant `message` deltas, and a final `result` whose `status` says
success or error. Its exit code on an upstream error is the HTTP status modulo 256, which is
how a 429 is told apart from a 500 when the message does not say.

`agy` prints plain text only and reports no usage; it is used where it is what is installed.
"""

from __future__ import annotations

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
from llmgw_desktop.engine.providers.mcp_handoff import not_started_notice
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["GeminiAdapter", "GeminiParser", "PlainTextParser"]

APPROVAL_FLAGS = {
    "default": (),
    "plan": ("--approval-mode", "plan"),
    "acceptEdits": ("--approval-mode", "auto_edit"),
    "bypassPermissions": ("--approval-mode", "yolo"),
}
AGY_MODE_FLAGS = {
    "default": (),
    "plan": ("--mode", "plan"),
    "acceptEdits": ("--mode", "accept-edits"),
    "bypassPermissions": ("--dangerously-skip-permissions",),
}
ENV = {
    # Without this the CLI re-launches itself as a second node process (about 0.9 s).
    "GEMINI_CLI_NO_RELAUNCH": "true",
    # Headless runs cannot answer the "trust this folder?" question; the caller chose the dir.
    "GEMINI_CLI_TRUST_WORKSPACE": "true",
}
# argv is where agy takes its prompt; Linux refuses a single argument over 128 KiB.
MAX_ARGV_PROMPT_BYTES = 100_000


class GeminiAdapter:
    info = provider_info("gemini")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        if request.permission_mode not in APPROVAL_FLAGS:
            raise InvalidRequest(
                f"unknown permission mode {request.permission_mode!r}",
                code=ErrorCode.INVALID_PERMISSION,
            )
        if Path(executable).name.lower().startswith("agy"):
            return self._prepare_agy(request, executable)
        session = request.session
        if session.fork:
            raise InvalidRequest(
                "the Gemini CLI cannot fork a session",
                code=ErrorCode.FORK_UNSUPPORTED,
                provider="gemini",
            )
        argv = [executable, "--output-format", "stream-json"]
        if request.model:
            argv += ["--model", request.model]
        if session.resume_id:
            argv += ["--resume", session.resume_id]
        elif session.resume_latest:
            argv += ["--resume", "latest"]
        elif session.new_session_id:
            argv += ["--session-id", session.new_session_id]
        if request.confined:
            argv += confined("gemini", request.permission_mode).flags
        else:
            argv += APPROVAL_FLAGS[request.permission_mode]
        if request.allowed_tools:
            argv += ["--allowed-tools", *request.allowed_tools]
        if request.disallowed_tools:
            raise InvalidRequest(
                "the Gemini CLI has no deny list on its command line; use its policy files",
                code=ErrorCode.TOOLS_UNSUPPORTED,
                provider="gemini",
            )
        if request.mcp_servers:
            # Those of its own configured servers, for this call alone (`mcp_handoff.py`).
            names = ",".join(s.name for s in request.mcp_servers)
            argv += ["--allowed-mcp-server-names", names]
        argv += request.extra_args
        invocation = Invocation(
            argv=tuple(argv), stdin=request.prompt.encode(), env=ENV, cwd=request.working_dir
        )
        return Prepared(
            invocation, GeminiParser(request.model, tuple(s.name for s in request.mcp_servers))
        )

    def _prepare_agy(self, request: ProviderRequest, executable: str) -> Prepared:
        session = request.session
        if request.mcp_servers:
            raise InvalidRequest(
                "agy (Antigravity) cannot be handed MCP servers per call", param="mcpServers"
            )
        if session.fork or session.new_session_id:
            raise InvalidRequest(
                "agy cannot fork or start a session with a chosen id",
                code=ErrorCode.SESSION_UNSUPPORTED,
                provider="gemini",
            )
        if len(request.prompt.encode()) > MAX_ARGV_PROMPT_BYTES:
            raise InvalidRequest(
                f"agy takes the prompt on its command line, which holds at most "
                f"{MAX_ARGV_PROMPT_BYTES} bytes; shorten the prompt or install the Gemini CLI",
                code=ErrorCode.PROMPT_TOO_LARGE,
                provider="gemini",
            )
        argv = [executable, f"--print={request.prompt}"]
        if request.model:
            argv += ["--model", request.model]
        if session.resume_id:
            argv += ["--conversation", session.resume_id]
        elif session.resume_latest:
            argv.append("--continue")
        if request.confined:
            argv += confined("agy", request.permission_mode).flags
        else:
            argv += AGY_MODE_FLAGS[request.permission_mode]
        argv += request.extra_args
        invocation = Invocation(argv=tuple(argv), cwd=request.working_dir)
        return Prepared(invocation, PlainTextParser("gemini", request.model))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


# What Gemini CLI prints, and only there, when an MCP server it was to load did not start.
MCP_ISSUES = b"MCP issues detected"


class GeminiParser(NdjsonParser):
    """Reads `gemini --output-format stream-json`; `handed` are the MCP servers the call
    names."""

    def __init__(self, model: str | None, handed: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._model = model
        self._handed = handed
        self._session_id: str | None = None
        self._deltas: list[str] = []
        self._result: dict[str, Any] | None = None

    @property
    def partial_text(self) -> str:
        return "".join(self._deltas)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "init":
            self._session_id = event.get("session_id") or self._session_id
            self._model = event.get("model") or self._model
        elif kind == "message" and event.get("role") == "assistant":
            self._deltas.append(str(event.get("content", "")))
        elif kind == "result":
            self._result = event

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        self._drain()
        result = self._result
        if result is None or result.get("status") != "success":
            raise self._failure(result, outcome)
        stats = result.get("stats") or {}
        cached = int(stats.get("cached") or 0)
        total_input = int(stats.get("input_tokens") or 0)
        return ProviderResult(
            text=self.partial_text,
            provider="gemini",
            session_id=self._session_id,
            model=self._model,
            stop_reason="end_turn",
            usage=Usage(
                input_tokens=int(stats.get("input", total_input - cached) or 0),
                output_tokens=int(stats.get("output_tokens") or 0),
                cache_read_tokens=cached,
            ),
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            warnings=self._servers_not_started(outcome),
            raw_output=outcome.stdout.decode("utf-8", errors="replace"),
        )

    def _servers_not_started(self, outcome: ProcessOutcome) -> tuple[str, ...]:
        """A notice when Gemini CLI ran the turn though a server the call names did not start
        (it says which only in its own `/mcp list`; the call loads no others)."""
        if not self._handed or MCP_ISSUES not in outcome.stderr_tail:
            return ()
        return (not_started_notice("gemini", self._handed, "it said: MCP issues detected"),)

    def _failure(self, result: dict[str, Any] | None, outcome: ProcessOutcome) -> ProviderFailure:
        stderr = tail(outcome.stderr_tail)
        if outcome.ended_by == "exit" and outcome.exit_code == 42:
            return ProviderFailure(
                f"gemini could not resume the session: {stderr}. Gemini keeps sessions per "
                "project directory: resume from the directory the session ran in.",
                code=ErrorCode.SESSION_NOT_FOUND,
                provider="gemini",
            )
        if outcome.ended_by == "exit" and outcome.exit_code == 41:
            return ProviderFailure(
                f"gemini has no usable authentication: {stderr}. Run `gemini` once to log "
                "in, or set GEMINI_API_KEY and select the API-key auth type in its settings.",
                code=ErrorCode.AUTH_REQUIRED,
                provider="gemini",
            )
        if result is None:
            if outcome.exit_code == 0:
                return ProviderFailure(
                    "gemini exited without a result; its output may be truncated",
                    code=ErrorCode.PROVIDER_ERROR,
                    retryable=True,
                    provider="gemini",
                )
            return failure_from_outcome(outcome, "gemini")
        error = result.get("error") or {}
        message = str(error.get("message") or "gemini reported an error")
        status = _status_from_exit(outcome.exit_code)
        if status is not None:
            failure = failure_from_status(status, message, "gemini")
        else:
            failure = failure_from_text(message, "gemini")
        failure.details["session_id"] = self._session_id
        return failure


def _status_from_exit(exit_code: int | None) -> int | None:
    """The HTTP status behind a Gemini CLI exit code (it exits with the status mod 256)."""
    if exit_code is None:
        return None
    if 144 <= exit_code <= 255:  # 400..511
        return exit_code + 256
    # Small codes are mostly the CLI's own (1 failure, 41 auth, 42 session); of the statuses
    # above 511 only Anthropic-style 529 overload shows up in practice.
    return 529 if exit_code == 529 - 512 else None


class PlainTextParser:
    """For CLIs that print only the answer (agy): the text is stdout; no usage is known."""

    def __init__(self, provider: str, model: str | None) -> None:
        self._provider = provider
        self._model = model
        self._chunks: list[bytes] = []

    @property
    def partial_text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", errors="replace")

    @property
    def events(self) -> int:
        return len(self._chunks)

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        if outcome.exit_code != 0:
            raise failure_from_outcome(outcome, self._provider)
        return ProviderResult(
            text=self.partial_text.strip(),
            provider=self._provider,
            model=self._model,
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            warnings=(f"{self._provider} reports no token usage in this mode",),
            raw_output=self.partial_text,
        )
