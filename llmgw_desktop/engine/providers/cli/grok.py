"""Grok (`grok`, xAI's Grok CLI): headless with `--single=PROMPT`, `streaming-json` NDJSON out.

Events: `text` (a piece of the answer), `thought`, and a last `end` (stop reason, session id,
usage with cache reads, per-model usage, and `total_cost_usd` where the server stamped a whole
cost) or `error` (its message, exit 1). A tool call that would ask for approval ends the turn
headless: `end` with `stopReason` `Cancelled` and no text.

Permission modes: its `--permission-mode` flag applies only `default` and `bypassPermissions`
(the others it accepts and ignores), so `acceptEdits` is `default` with an `Edit` allow rule
and `plan` is `default` with an `Edit` deny rule (deny wins over any rule the user's config
allows). Sessions: `--resume ID`, `--continue`, `--fork-session` with either, `--session-id
UUID` for a new one. It has no per-call MCP flag. The xAI CLI is not the community `grok-cli`
once on npm (`@vibe-kit/grok-cli`), whose flags differ: discovery names that one when found.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.providers.base import (
    NdjsonParser,
    Prepared,
    ProviderRequest,
    ProviderResult,
    SessionChoice,
)
from llmgw_desktop.engine.providers.confinement import confined
from llmgw_desktop.engine.providers.failures import (
    failure_from_outcome,
    failure_from_status,
    failure_from_text,
    session_failure,
    tail,
)
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.pricing import COST_FROM_CLI
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["PERMISSION_FLAGS", "GrokAdapter", "GrokParser"]

MAX_ARGV_PROMPT_BYTES = 100_000  # Linux refuses a single argument over 128 KiB
PERMISSION_FLAGS = {
    "default": ("--permission-mode", "default"),
    "plan": ("--permission-mode", "default", "--deny", "Edit"),
    "acceptEdits": ("--permission-mode", "default", "--allow", "Edit"),
    "bypassPermissions": ("--permission-mode", "bypassPermissions"),
}
# Its stderr and `error` messages: "(status 500 ...)", "\"http_status\": 500", "... (401) from".
_STATUS = re.compile(r"(?:status[\"': ]+|http_status[\"': ]+|\()(\d{3})\b")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class GrokAdapter:
    info = provider_info("grok")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        if len(request.prompt.encode()) > MAX_ARGV_PROMPT_BYTES:
            raise InvalidRequest(
                f"grok takes the prompt on its command line, which holds at most "
                f"{MAX_ARGV_PROMPT_BYTES} bytes; shorten the prompt",
                code=ErrorCode.PROMPT_TOO_LARGE,
                provider="grok",
            )
        if request.permission_mode not in PERMISSION_FLAGS:
            raise InvalidRequest(
                f"unknown permission mode {request.permission_mode!r}",
                code=ErrorCode.INVALID_PERMISSION,
            )
        # `--single=TEXT` in one argument: a prompt starting with "-" cannot become a flag.
        argv = [executable, f"--single={request.prompt}", "--output-format", "streaming-json"]
        if request.model:
            argv += ["--model", request.model]
        argv += _session_flags(request.session)
        if request.confined:
            argv += confined("grok", request.permission_mode).flags
        else:
            argv += PERMISSION_FLAGS[request.permission_mode]
        # Its permission rules, in Claude Code's spelling (`Edit`, `Read(src/**)`): `--allow`
        # and `--deny` are its `--allowedTools` and `--disallowedTools`; a deny wins.
        for tool in request.allowed_tools:
            argv += ["--allow", tool]
        for tool in request.disallowed_tools:
            argv += ["--deny", tool]
        argv += request.extra_args
        invocation = Invocation(argv=tuple(argv), cwd=request.working_dir)
        return Prepared(invocation, GrokParser(request.model))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


def _session_flags(session: SessionChoice) -> list[str]:
    """`--resume ID` / `--continue` (with `--fork-session` to fork), or `--session-id UUID`."""
    if session.resume_id:
        flags = ["--resume", session.resume_id]
    elif session.resume_latest:
        flags = ["--continue"]
    elif session.fork:
        raise InvalidRequest("forking needs a session to fork from", code=ErrorCode.INVALID_SESSION)
    elif session.new_session_id:
        if not _UUID.fullmatch(session.new_session_id):
            raise InvalidRequest(
                f"grok names a new session only by a UUID, not {session.new_session_id!r}",
                code=ErrorCode.INVALID_SESSION,
                param="sessionId",
                provider="grok",
            )
        return ["--session-id", session.new_session_id]
    else:
        return []
    return [*flags, "--fork-session"] if session.fork else flags


class GrokParser(NdjsonParser):
    """Reads `grok --output-format streaming-json`."""

    def __init__(self, model: str | None) -> None:
        super().__init__()
        self._model = model
        self._texts: list[str] = []
        self._end: dict[str, Any] | None = None
        self._error: str | None = None

    @property
    def partial_text(self) -> str:
        return "".join(self._texts)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "text" and isinstance(event.get("data"), str):
            self._texts.append(event["data"])
        elif kind == "end":
            self._end = event
        elif kind == "error":
            self._error = str(event.get("message") or "grok reported an error")

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        self._drain()
        end = self._end
        if self._error is not None or end is None or outcome.exit_code != 0:
            raise self._failure(outcome)
        if end.get("stopReason") == "Cancelled":
            failure = ProviderFailure(
                "grok stopped: the model called a tool this permission mode does not allow "
                "(headless, grok cannot ask anyone, so it ends the turn); allow it with "
                "permissionMode acceptEdits for edits, or allowedTools",
                code=ErrorCode.APPROVAL_DENIED,
                provider="grok",
            )
            failure.details["session_id"] = end.get("sessionId")
            raise failure
        usage = end.get("usage") or {}
        cost = _whole_cost(end)
        return ProviderResult(
            text="".join(self._texts),
            provider="grok",
            session_id=end.get("sessionId"),
            model=self._model or next(iter(end.get("modelUsage") or {}), None),
            stop_reason=_stop_reason(end.get("stopReason")),
            usage=Usage(
                # Grok already counts input without the cached part (its `total_tokens` adds
                # the cache reads back in).
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                cache_read_tokens=int(usage.get("cache_read_input_tokens") or 0),
                reasoning_tokens=int(usage.get("reasoning_tokens") or 0),
            ),
            cost_usd=cost,
            cost_source=COST_FROM_CLI if cost is not None else None,
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            warnings=_warnings(end),
            raw_output=outcome.stdout.decode("utf-8", errors="replace"),
        )

    def _failure(self, outcome: ProcessOutcome) -> ProviderFailure:
        stderr = tail(outcome.stderr_tail)
        message = self._error or stderr
        if outcome.exit_code == 0 and not message:
            return ProviderFailure(
                "grok exited without finishing its turn; its output may be truncated",
                code=ErrorCode.PROVIDER_ERROR,
                retryable=True,
                provider="grok",
            )
        if not message:
            return failure_from_outcome(outcome, "grok")
        return _failure(message)


def _failure(message: str) -> ProviderFailure:
    """The failure grok's `error` message (or its stderr) describes."""
    if "unknown option '--single" in message:
        return ProviderFailure(
            "the `grok` found is the community grok-cli, not xAI's Grok CLI, which the gateway "
            f"drives; install xAI's: {provider_info('grok').install_command}",
            code=ErrorCode.NOT_INSTALLED,
            provider="grok",
        )
    session = session_failure(
        message, "grok", not_found=("not found locally",), in_use=("is already in use",)
    )
    if session is not None:
        return session
    if "Not signed in" in message:
        return ProviderFailure(
            "grok is not signed in: run `grok login` (or `grok login --device-code` without a "
            "browser), or set XAI_API_KEY",
            code=ErrorCode.AUTH_REQUIRED,
            provider="grok",
        )
    status = _STATUS.search(message)
    if status:
        return failure_from_status(int(status.group(1)), _plain(message), "grok")
    if "Transport error" in message:
        # The upstream's stream broke off ("error decoding response body"): worth another try.
        return ProviderFailure(
            f"grok: the upstream's answer broke off ({message})",
            code=ErrorCode.PROVIDER_ERROR,
            retryable=True,
            provider="grok",
        )
    return failure_from_text(message, "grok")


def _plain(message: str) -> str:
    """grok's message without its `Internal error:` wrapping, where it wraps JSON."""
    start = message.find("{")
    try:
        inner = json.loads(message[start:]) if start >= 0 else None
    except ValueError:
        inner = None
    return str(inner.get("message")) if isinstance(inner, dict) else message


def _whole_cost(end: dict[str, Any]) -> float | None:
    """`total_cost_usd`, only when grok says the cost is whole (it leaves it out otherwise)."""
    cost = end.get("total_cost_usd")
    if end.get("cost_is_partial") or end.get("usage_is_incomplete"):
        return None
    return float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None


def _stop_reason(reason: Any) -> str | None:
    if not isinstance(reason, str):
        return None
    return {"EndTurn": "end_turn", "MaxTokens": "max_tokens"}.get(reason, reason)


def _warnings(end: dict[str, Any]) -> tuple[str, ...]:
    found = []
    if end.get("usage_is_incomplete"):
        found.append("grok says its usage is incomplete (a subagent's was not counted)")
    elif end.get("cost_is_partial"):
        found.append("grok's server did not price every model call: the cost is estimated")
    return tuple(found)
