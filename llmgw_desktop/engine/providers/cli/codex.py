"""Codex (`codex exec`): headless with `--json` NDJSON events, the prompt on stdin (`-`).

`codex exec resume ID` continues a thread and `codex exec fork ID` a copy of it under a new id.
Events: `thread.started` (the thread id is the session), `item.completed` (agent messages and
non-fatal errors), `turn.completed` (usage, summed over the whole thread when resumed), and
`turn.failed` or a non-zero exit on failure. A `{"type": "error"}` line alone is not fatal:
codex reports its own reconnect attempts that way, until "Reconnecting... waiting for network",
after which it would wait with no end (`WAITING_FOR_NETWORK`: the call fails there).
"""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
from collections.abc import Mapping, Sequence
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
from llmgw_desktop.engine.providers.mcp_handoff import codex_overrides
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["CodexAdapter", "CodexParser", "configured_model"]

SANDBOX_FLAGS = {
    "default": (),
    "plan": ("--sandbox", "read-only"),
    "acceptEdits": ("--sandbox", "workspace-write"),
    "bypassPermissions": ("--dangerously-bypass-approvals-and-sandbox",),
}
_STATUS = re.compile(r"(?:status:?|status) (\d{3})\b")
# What Codex (0.169) says once its retries are spent and it would wait for the network.
WAITING_FOR_NETWORK = "Reconnecting... waiting for network"
# What codex prints when a server handed to it as required (`mcp_handoff.codex_overrides`)
# did not start: the servers and why, up to the line's end or the JSON-RPC code it appends.
_REQUIRED_MCP_FAILED = re.compile(
    r"required MCP servers failed to initialize: (.+?)(?: \(code -?\d+\))?$", re.MULTILINE
)


class CodexAdapter:
    info = provider_info("codex")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        session = request.session
        if session.fork and not session.resume_id:
            raise InvalidRequest(
                "codex forks a conversation by its id (`codex exec fork ID`); headless it has "
                "no fork of its latest one: name the session to fork",
                code=ErrorCode.INVALID_SESSION,
                param="sessionId",
                provider="codex",
            )
        if session.new_session_id:
            raise InvalidRequest(
                "codex chooses its own thread ids; start without an id and use the one returned",
                code=ErrorCode.SESSION_ID_UNSUPPORTED,
                provider="codex",
            )
        if request.allowed_tools or request.disallowed_tools:
            raise InvalidRequest(
                "codex has no per-tool allow or deny list; use permissionMode instead",
                code=ErrorCode.TOOLS_UNSUPPORTED,
                provider="codex",
            )
        if request.permission_mode not in SANDBOX_FLAGS:
            raise InvalidRequest(
                f"unknown permission mode {request.permission_mode!r}",
                code=ErrorCode.INVALID_PERMISSION,
            )
        if request.confined:
            # Its sandbox reads every file the operator can: the table has no confined run.
            confined("codex", request.permission_mode)  # raises, naming why
        warnings: list[str] = []
        if session.resume_id or session.resume_latest:
            # `exec fork ID` continues a copy of the thread under a new id (the original stays
            # as it was); it takes the same options as `exec resume`.
            verb = "fork" if session.fork else "resume"
            argv = [executable, "exec", verb, "--json", "--skip-git-repo-check"]
            if request.model:
                argv += ["-c", f"model={json.dumps(request.model)}"]
            if request.permission_mode != "default":
                # codex rejects sandbox flags on resume and fork: the thread keeps its policy.
                warnings.append(
                    "codex keeps the sandbox the session started with; permissionMode "
                    f"{request.permission_mode!r} was not applied on {verb}"
                )
            argv += codex_overrides(request.mcp_servers)
            argv += request.extra_args
            argv += ["--last"] if session.resume_latest else [session.resume_id or ""]
        else:
            argv = [executable, "exec", "--json", "--skip-git-repo-check"]
            if request.model:
                argv += ["--model", request.model]
            argv += SANDBOX_FLAGS[request.permission_mode]
            argv += codex_overrides(request.mcp_servers)
            argv += request.extra_args
        argv.append("-")  # read the prompt from stdin: no argv size limit, no flag confusion
        invocation = Invocation(
            argv=tuple(argv), stdin=request.prompt.encode(), cwd=request.working_dir
        )
        # `codex exec --json` never names its model: without this the turn has no model and
        # so no cost. The one asked for, else the one the user's codex config pins.
        model = request.model or _model_argument(request.extra_args) or configured_model()
        return Prepared(invocation, CodexParser(model, tuple(warnings), forking=session.fork))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


class CodexParser(NdjsonParser):
    """Reads `codex exec --json` output."""

    def __init__(
        self, model: str | None, warnings: tuple[str, ...] = (), *, forking: bool = False
    ) -> None:
        super().__init__()
        self._model = model
        self._forking = forking
        self._thread_id: str | None = None
        self._messages: list[str] = []
        self._warnings = list(warnings)
        self._usage: dict[str, Any] | None = None
        self._failed: str | None = None
        self._last_error: str | None = None

    @property
    def partial_text(self) -> str:
        return "\n\n".join(self._messages)

    def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            self._thread_id = event.get("thread_id") or self._thread_id
        elif kind == "item.completed":
            item = event.get("item") or {}
            if item.get("type") == "agent_message":
                self._messages.append(str(item.get("text", "")))
            elif item.get("type") == "error":
                self._warnings.append(str(item.get("message", "")))
        elif kind == "turn.completed":
            self._usage = event.get("usage") or {}
        elif kind == "turn.failed":
            error = event.get("error") or {}
            self._failed = str(error.get("message") or "codex reported a failed turn")
        elif kind == "error":
            self._last_error = str(event.get("message", ""))
            if self._last_error.startswith(WAITING_FOR_NETWORK):
                # Its own retries are spent (five, then HTTPS in place of WebSockets, about 10
                # s); from here it waits for the network with no end, each wait longer, and
                # says so as output (so no idle limit would stop it): the call ends now.
                failure = ProviderFailure(
                    "Codex cannot reach its service (it would wait for the network with no "
                    f"end): {self._last_error}",
                    code=ErrorCode.PROVIDER_ERROR,
                    provider="codex",
                )
                if self._thread_id:
                    failure.details["session_id"] = self._thread_id
                raise failure

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        self._drain()
        if self._failed is not None:
            raise _failure(self._failed, self._thread_id)
        if self._usage is None or outcome.exit_code != 0:
            stderr = tail(outcome.stderr_tail)
            if "no rollout found" in stderr or "Session not found" in stderr:
                raise ProviderFailure(
                    f"codex has no session to resume: {stderr}",
                    code=ErrorCode.SESSION_NOT_FOUND,
                    provider="codex",
                )
            not_started = _REQUIRED_MCP_FAILED.search(stderr)
            if not_started:
                raise ProviderFailure(
                    "codex could not start an MCP server the call names, so it did not run "
                    f"the turn: {not_started.group(1)}",
                    code=ErrorCode.UPSTREAM_SERVER_FAILED,
                    provider="codex",
                )
            if self._forking and "unexpected argument" in stderr:
                # Before `exec fork` existed, "fork" read as the prompt and the id as extra.
                raise ProviderFailure(
                    f"this codex has no headless fork (`codex exec fork`, in 0.169.0 but not "
                    f"in 0.147.0): upgrade codex, or resume the session instead. codex said: "
                    f"{stderr}",
                    code=ErrorCode.FORK_UNSUPPORTED,
                    provider="codex",
                )
            if self._last_error:
                raise _failure(self._last_error, self._thread_id)
            if outcome.exit_code == 0:
                raise ProviderFailure(
                    "codex exited without finishing its turn; its output may be truncated",
                    code=ErrorCode.PROVIDER_ERROR,
                    retryable=True,
                    provider="codex",
                )
            raise failure_from_outcome(outcome, "codex")
        usage = self._usage
        cached = int(usage.get("cached_input_tokens") or 0)
        written = int(usage.get("cache_write_input_tokens") or 0)
        return ProviderResult(
            text=self._messages[-1] if self._messages else "",
            provider="codex",
            session_id=self._thread_id,
            model=self._model,
            stop_reason="end_turn",
            usage=Usage(
                # OpenAI counts cached input inside input_tokens; the gateway does not.
                input_tokens=max(0, int(usage.get("input_tokens") or 0) - cached - written),
                output_tokens=int(usage.get("output_tokens") or 0),
                cache_read_tokens=cached,
                cache_write_tokens=written,
                reasoning_tokens=int(usage.get("reasoning_output_tokens") or 0),
            ),
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            warnings=tuple(w for w in self._warnings if w),
            raw_output=outcome.stdout.decode("utf-8", errors="replace"),
            usage_is_cumulative=True,
        )


def _failure(message: str, thread_id: str | None) -> ProviderFailure:
    status = _STATUS.search(message)
    if status:
        failure = failure_from_status(int(status.group(1)), message, "codex")
    else:
        failure = failure_from_text(message, "codex")
    if thread_id:
        failure.details["session_id"] = thread_id
    return failure


def _model_argument(args: Sequence[str]) -> str | None:
    """The model named in extra arguments (`-m X`, `--model X`, `--model=X`), if any."""
    for index, arg in enumerate(args):
        if arg in ("-m", "--model") and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
    return None


# `prepare` runs on the event loop for every codex call: the config file is read at most once
# a minute per location, not on every call.
CONFIG_REREAD_S = 60.0
_config_models: dict[Path, tuple[float, str | None]] = {}


def configured_model(environ: Mapping[str, str] | None = None) -> str | None:
    """The `model` codex's own `config.toml` sets (in `$CODEX_HOME`, else `~/.codex`); None
    when it sets none or cannot be read (codex then uses a built-in default we cannot see)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("CODEX_HOME") or Path.home() / ".codex")
    now = time.monotonic()
    cached = _config_models.get(home)
    if cached is not None and now - cached[0] < CONFIG_REREAD_S:
        return cached[1]
    model = _read_configured_model(home)
    _config_models[home] = (now, model)
    return model


def _read_configured_model(home: Path) -> str | None:
    try:
        with (home / "config.toml").open("rb") as file:
            model = tomllib.load(file).get("model")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return model if isinstance(model, str) and model else None
