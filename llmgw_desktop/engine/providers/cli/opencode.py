"""OpenCode (`opencode run`): prompt on stdin, `--format json` NDJSON events out.

Events carry the session id on every line: `text` parts (the answer), `step_finish` (tokens
and cost for that step; a turn may have several steps) and `error` (with the upstream status
and whether it is retryable). The run is always pinned to its directory with `--dir`: resuming
a session from another directory otherwise hangs the CLI.
"""

from __future__ import annotations

import dataclasses
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
from llmgw_desktop.engine.tokens.pricing import COST_FROM_CLI, Price
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["OpenCodeAdapter", "OpenCodeParser"]

PERMISSION_FLAGS = {
    "default": (),
    "plan": ("--agent", "plan"),
    "acceptEdits": (),
    "bypassPermissions": ("--auto",),
}


class OpenCodeAdapter:
    info = provider_info("opencode")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        session = request.session
        if session.new_session_id:
            raise InvalidRequest(
                "opencode chooses its own session ids; start without one and use the id returned",
                code=ErrorCode.SESSION_ID_UNSUPPORTED,
                provider="opencode",
            )
        if request.permission_mode not in PERMISSION_FLAGS:
            raise InvalidRequest(
                f"unknown permission mode {request.permission_mode!r}",
                code=ErrorCode.INVALID_PERMISSION,
            )
        if request.allowed_tools or request.disallowed_tools:
            raise InvalidRequest(
                "opencode sets tool permissions in its config file, not on the command line",
                code=ErrorCode.TOOLS_UNSUPPORTED,
                provider="opencode",
            )
        argv = [executable, "run", "--format", "json"]
        if request.working_dir is not None:
            argv += ["--dir", str(request.working_dir)]
        if request.model:
            argv += ["--model", request.model]
        if session.resume_id:
            argv += ["--session", session.resume_id]
        elif session.resume_latest:
            argv.append("--continue")
        if session.fork:
            if not (session.resume_id or session.resume_latest):
                raise InvalidRequest(
                    "forking needs a session to fork from", code=ErrorCode.INVALID_SESSION
                )
            argv.append("--fork")
        if request.confined:
            # Its permission variables are the row's environment, added at the spawn point.
            argv += confined("opencode", request.permission_mode).flags
        else:
            argv += PERMISSION_FLAGS[request.permission_mode]
        argv += request.extra_args
        # The prompt goes on stdin: given as arguments, opencode wraps a prompt containing
        # spaces in literal quotes.
        invocation = Invocation(
            argv=tuple(argv), stdin=request.prompt.encode(), cwd=request.working_dir
        )
        parser = OpenCodeParser(request.model, request.budget_price)
        return Prepared(invocation, parser)

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


class OpenCodeParser(NdjsonParser):
    """Reads `opencode run --format json`."""

    def __init__(self, model: str | None, price: Price | None = None) -> None:
        """`price`: the gateway's price of the model, under a hard budget's hold; a step is
        counted toward the stop at no less than its tokens at it."""
        super().__init__()
        self._model = model
        self._price = price
        self._session_id: str | None = None
        self._texts: list[str] = []
        self._tokens = {"input": 0, "output": 0, "reasoning": 0, "read": 0, "write": 0}
        self._cost = 0.0  # by OpenCode's own count: what the run's result says
        self._counted = 0.0  # each step at no less than the gateway's price: what the stop reads
        self._dearest = 0.0
        self._steps = 0
        self._started = 0
        self._stop_reason: str | None = None
        self._error: dict[str, Any] | None = None

    @property
    def partial_text(self) -> str:
        return "".join(self._texts)

    @property
    def spent_usd(self) -> float:
        """What the run's finished steps cost so far, by OpenCode's own count (each
        `step_finish`), each at no less than its tokens at the gateway's price where given: a
        hard budget's hold stops the run where the next step would pass it (`invoke.py`).
        OpenCode prices a model its list lacks, or one a project's `opencode.json` prices so,
        at $0 (SECURITY 73)."""
        return self._counted

    @property
    def dearest_step_usd(self) -> float:
        """The most one finished step cost: what the next one is taken to cost."""
        return self._dearest

    @property
    def open_steps(self) -> int:
        """Steps begun (`step_start`) and not finished: billed by the vendor if stopped now."""
        return max(0, self._started - self._steps)

    def _take(self, event: dict[str, Any]) -> None:
        self._session_id = event.get("sessionID") or self._session_id
        kind = event.get("type")
        part = event.get("part") or {}
        if kind == "text":
            self._texts.append(str(part.get("text", "")))
        elif kind == "step_start":
            self._started += 1
        elif kind == "step_finish":
            self._steps += 1
            tokens = part.get("tokens") or {}
            cache = tokens.get("cache") or {}
            used = Usage(
                input_tokens=int(tokens.get("input") or 0),
                output_tokens=int(tokens.get("output") or 0),
                cache_read_tokens=int(cache.get("read") or 0),
                cache_write_tokens=int(cache.get("write") or 0),
                reasoning_tokens=int(tokens.get("reasoning") or 0),
            )
            self._tokens["input"] += used.input_tokens
            self._tokens["output"] += used.output_tokens
            self._tokens["reasoning"] += used.reasoning_tokens
            self._tokens["read"] += used.cache_read_tokens
            self._tokens["write"] += used.cache_write_tokens
            told = float(part.get("cost") or 0.0)
            self._cost += told
            # Reasoning is billed as output, and OpenCode counts it apart from its output.
            billed = dataclasses.replace(
                used, output_tokens=used.output_tokens + used.reasoning_tokens
            )
            step = max(told, self._price.cost(billed)) if self._price is not None else told
            self._counted += step
            self._dearest = max(self._dearest, step)
            self._stop_reason = part.get("reason") or self._stop_reason
        elif kind == "error":
            self._error = event.get("error") or {}

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        self._drain()
        if self._error is not None:
            raise _failure(self._error, self._session_id)
        if outcome.exit_code != 0 or self._steps == 0:
            stderr = tail(outcome.stderr_tail)
            if "Session not found" in stderr:
                raise ProviderFailure(
                    "opencode has no such session to resume",
                    code=ErrorCode.SESSION_NOT_FOUND,
                    provider="opencode",
                )
            raise failure_from_outcome(outcome, "opencode")
        return ProviderResult(
            text=self.partial_text,
            provider="opencode",
            session_id=self._session_id,
            model=self._model,
            stop_reason=self._stop_reason,
            usage=Usage(
                input_tokens=self._tokens["input"],
                output_tokens=self._tokens["output"],
                cache_read_tokens=self._tokens["read"],
                cache_write_tokens=self._tokens["write"],
                reasoning_tokens=self._tokens["reasoning"],
            ),
            cost_usd=round(self._cost, 8),
            cost_source=COST_FROM_CLI,
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            raw_output=outcome.stdout.decode("utf-8", errors="replace"),
        )


def _failure(error: dict[str, Any], session_id: str | None) -> ProviderFailure:
    data = error.get("data") or {}
    message = str(data.get("message") or error.get("name") or "opencode reported an error")
    status = data.get("statusCode")
    if isinstance(status, int):
        failure = failure_from_status(status, message, "opencode")
    else:
        failure = failure_from_text(message, "opencode")
    if isinstance(data.get("isRetryable"), bool):
        failure.retryable = data["isRetryable"]
    if session_id:
        failure.details["session_id"] = session_id
    return failure
