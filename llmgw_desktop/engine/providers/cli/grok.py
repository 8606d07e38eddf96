"""Grok (`grok`, the community grok-cli): headless with `--prompt`, NDJSON chat messages out.

This CLI has no sessions, no usage report and no permission switch (it runs its tools without
asking), and it exits 0 even when the upstream fails: the failure is the text of its last
assistant message. The adapter refuses what the CLI cannot do instead of pretending.
"""

from __future__ import annotations

import re
from typing import Any

from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.providers.base import (
    NdjsonParser,
    Prepared,
    ProviderRequest,
    ProviderResult,
)
from llmgw_desktop.engine.providers.failures import (
    failure_from_outcome,
    failure_from_status,
    failure_from_text,
)
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome

__all__ = ["GrokAdapter", "GrokParser"]

MAX_ARGV_PROMPT_BYTES = 100_000  # Linux refuses a single argument over 128 KiB
ERROR_PREFIX = "Sorry, I encountered an error: "
_API_ERROR = re.compile(r"Grok API error: (\d{3})\b\s*(.*)", re.S)
AUTO_APPROVE_WARNING = "grok-cli runs its tools without asking; there is no read-only mode"


class GrokAdapter:
    info = provider_info("grok")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        session = request.session
        if session.resume_id or session.resume_latest or session.new_session_id or session.fork:
            raise InvalidRequest(
                "grok-cli keeps no sessions: each call starts a new conversation",
                code=ErrorCode.SESSIONS_UNSUPPORTED,
                provider="grok",
            )
        if request.confined:
            # The engine refuses these first; an adapter never runs grok-cli confined.
            raise InvalidRequest(
                "grok-cli cannot be held to read-only or edit-in-place: it runs every tool, "
                "its shell included",
                code=ErrorCode.PERMISSION_UNSUPPORTED,
                provider="grok",
            )
        if request.permission_mode == "plan":
            raise InvalidRequest(
                "grok-cli cannot run read-only (it runs its tools without asking); use another "
                "provider for plan-only work",
                code=ErrorCode.PERMISSION_UNSUPPORTED,
                provider="grok",
            )
        if request.allowed_tools or request.disallowed_tools:
            raise InvalidRequest(
                "grok-cli has no tool allow or deny list",
                code=ErrorCode.TOOLS_UNSUPPORTED,
                provider="grok",
            )
        if len(request.prompt.encode()) > MAX_ARGV_PROMPT_BYTES:
            raise InvalidRequest(
                f"grok-cli takes the prompt on its command line, which holds at most "
                f"{MAX_ARGV_PROMPT_BYTES} bytes; shorten the prompt",
                code=ErrorCode.PROMPT_TOO_LARGE,
                provider="grok",
            )
        # `--prompt=TEXT` in one argument: a prompt starting with "-" cannot become a flag.
        argv = [executable, f"--prompt={request.prompt}"]
        if request.model:
            argv += ["--model", request.model]
        argv += request.extra_args
        invocation = Invocation(argv=tuple(argv), cwd=request.working_dir)
        return Prepared(invocation, GrokParser(request.model))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)

    def models(self) -> tuple[str, ...]:
        return ("grok-code-fast-1", "grok-4", "grok-4-fast", "grok-3", "grok-3-mini")


class GrokParser(NdjsonParser):
    """Reads grok-cli's NDJSON chat messages."""

    def __init__(self, model: str | None) -> None:
        super().__init__()
        self._model = model
        self._assistant: list[str] = []

    @property
    def partial_text(self) -> str:
        return "\n\n".join(self._assistant)

    def _take(self, event: dict[str, Any]) -> None:
        content = event.get("content")
        if event.get("role") == "assistant" and isinstance(content, str) and content:
            self._assistant.append(content)

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        self._drain()
        if outcome.exit_code != 0:
            raise failure_from_outcome(outcome, "grok")
        if not self._assistant:
            raise ProviderFailure(
                "grok-cli printed no answer",
                code=ErrorCode.PROVIDER_ERROR,
                retryable=True,
                provider="grok",
            )
        last = self._assistant[-1]
        if last.startswith(ERROR_PREFIX):
            raise _failure(last[len(ERROR_PREFIX) :])
        return ProviderResult(
            text=last,
            provider="grok",
            model=self._model,
            stop_reason="end_turn",
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            warnings=(AUTO_APPROVE_WARNING, "grok-cli reports no token usage"),
            raw_output=outcome.stdout.decode("utf-8", errors="replace"),
        )


def _failure(message: str) -> ProviderFailure:
    api = _API_ERROR.search(message)
    if api:
        return failure_from_status(int(api.group(1)), api.group(2), "grok")
    return failure_from_text(message, "grok")
