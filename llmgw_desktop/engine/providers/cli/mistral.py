"""Mistral Vibe (`vibe`): programmatic mode `-p`, the prompt on stdin, `--output json`.

Vibe prints the turn's entries as a JSON array when it ends (each naming its `sessionId`); the
answer is the last assistant message's text blocks. What the run used and cost it writes to
`export.json` in the `--output-dir` it is given (this run's alone, not the session's), with its
outcome and an error code when it failed. The model comes from `VIBE_ACTIVE_MODEL` (there is no
`--model` flag) and the permission mode is the `--agent` profile: its builtins are `ask`,
`accept-edits`, `smart-approve` and `auto-approve` (there is no `plan` nor `default`); headless,
`ask` denies every tool call that would ask (edits, the shell, a path outside the folder).
Resuming (`--resume ID`, `--continue`) needs its session logs: `[session_logging] enabled` in
its `config.toml`, on unless turned off.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import tomllib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.providers.base import Prepared, ProviderRequest, ProviderResult
from llmgw_desktop.engine.providers.confinement import confined
from llmgw_desktop.engine.providers.failures import (
    failure_from_outcome,
    failure_from_text,
    session_failure,
    tail,
)
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.pricing import COST_FROM_CLI
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["AGENTS", "MistralAdapter", "VibeParser", "session_logging_off"]

AGENTS = {
    "default": "ask",
    "plan": "ask",  # headless `ask` refuses every edit and command: read-only
    "acceptEdits": "accept-edits",
    "bypassPermissions": "auto-approve",
}
EXPORT_FILE = "export.json"
_LOGGING_OFF = "Session logging is disabled"
# export.json's error codes, as the gateway's.
_ERROR_CODES: Mapping[str, tuple[ErrorCode, bool]] = {
    "invalid_api_key": (ErrorCode.AUTH_REQUIRED, False),
    "rate_limit": (ErrorCode.RATE_LIMITED, True),
    "backend_error": (ErrorCode.PROVIDER_ERROR, True),
}


class MistralAdapter:
    info = provider_info("mistral")

    def prepare(self, request: ProviderRequest, executable: str) -> Prepared:
        session = request.session
        if session.fork or session.new_session_id:
            raise InvalidRequest(
                "vibe cannot fork a session or start one with a chosen id",
                code=ErrorCode.SESSION_UNSUPPORTED,
                provider="mistral",
            )
        if request.disallowed_tools:
            raise InvalidRequest(
                "vibe takes an allow list (allowedTools), not a deny list",
                code=ErrorCode.TOOLS_UNSUPPORTED,
                provider="mistral",
            )
        if request.permission_mode not in AGENTS:
            raise InvalidRequest(
                f"unknown permission mode {request.permission_mode!r}",
                code=ErrorCode.INVALID_PERMISSION,
            )
        if session.resume_id or session.resume_latest:
            _require_session_logs()
        output_dir = Path(tempfile.gettempdir()) / f"llmgw-vibe-{uuid.uuid4().hex}"
        argv = [executable, "-p", "--output", "json", "--output-dir", str(output_dir)]
        if request.confined:
            # No --trust: the workspace's own vibe config (which a remote caller may have
            # written) stays ignored.
            argv += confined("mistral", request.permission_mode).flags
        else:
            # Programmatic mode runs its default agent (accept-edits) unless told: always say.
            argv += ["--agent", AGENTS[request.permission_mode], "--trust"]
        if session.resume_id:
            argv += ["--resume", session.resume_id]
        elif session.resume_latest:
            argv.append("--continue")
        for tool in request.allowed_tools:
            argv += ["--enabled-tools", tool]
        argv += request.extra_args
        env = {"VIBE_ACTIVE_MODEL": request.model} if request.model else {}
        warnings: tuple[str, ...] = ()
        if request.model and (session.resume_id or session.resume_latest):
            warnings = (
                f"vibe keeps the model a session started with; {request.model} was not "
                "applied on resume",
            )
        invocation = Invocation(
            argv=tuple(argv), stdin=request.prompt.encode(), env=env, cwd=request.working_dir
        )
        return Prepared(invocation, VibeParser(request.model, output_dir, warnings))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


def session_logging_off(environ: Mapping[str, str] | None = None) -> Path | None:
    """The vibe `config.toml` that turns its session logs off (`[session_logging] enabled =
    false`), or None where they are on (blocking I/O: one small file)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("VIBE_HOME") or Path(environ.get("HOME") or Path.home()) / ".vibe")
    path = home / "config.toml"
    try:
        with path.open("rb") as file:
            logging = tomllib.load(file).get("session_logging")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return path if isinstance(logging, dict) and logging.get("enabled") is False else None


def _require_session_logs() -> None:
    off = session_logging_off()
    if off is not None:
        raise InvalidRequest(
            f"vibe resumes a session from its session logs, which {off} turns off: set "
            "`[session_logging] enabled = true` there",
            code=ErrorCode.SESSION_UNSUPPORTED,
            provider="mistral",
        )


class VibeParser:
    """Reads vibe's JSON entry list, then the `export.json` of its output directory."""

    def __init__(self, model: str | None, output_dir: Path, warnings: tuple[str, ...] = ()) -> None:
        self._model = model
        self._output_dir = output_dir
        self._warnings = warnings
        self._chunks: list[bytes] = []

    @property
    def partial_text(self) -> str:
        return ""  # the JSON array arrives whole at the end

    @property
    def events(self) -> int:
        return len(self._chunks)

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        try:
            export = _read_json(self._output_dir / EXPORT_FILE)
        finally:
            shutil.rmtree(self._output_dir, ignore_errors=True)
        raw = b"".join(self._chunks).decode("utf-8", errors="replace")
        if outcome.exit_code != 0:
            raise _failure(outcome, export)
        try:
            entries = json.loads(raw)
        except ValueError:
            raise ProviderFailure(
                "vibe printed output that is not JSON; its output may be truncated",
                code=ErrorCode.PROVIDER_ERROR,
                retryable=True,
                provider="mistral",
            ) from None
        history = entries.get("history") if isinstance(entries, dict) else entries
        history = history if isinstance(history, list) else []
        answer = _last_assistant_text(history)
        if answer is None:
            raise failure_from_text("vibe finished without an answer", "mistral")
        result = _result(answer, history, export, self._model, outcome, raw)
        return dataclasses.replace(result, warnings=self._warnings + result.warnings)


def _result(
    answer: str,
    history: list[Any],
    export: dict[str, Any] | None,
    model: str | None,
    outcome: ProcessOutcome,
    raw: str,
) -> ProviderResult:
    usage = (export or {}).get("usage") or {}
    cached = int(usage.get("cached_input_tokens") or 0)
    # Vibe prices a run by its config's model prices, 0 for a model it has none for: a zero
    # is "unpriced", not "free", and the gateway's own price table is used instead.
    cost = _float_or_none((export or {}).get("cost_usd")) or None
    warnings = [] if export else ["vibe wrote no export.json: usage unknown"]
    if session_logging_off() is not None:
        warnings.append(
            "vibe's session logging is off (`[session_logging] enabled = false`): this "
            "session cannot be resumed"
        )
    return ProviderResult(
        text=answer,
        provider="mistral",
        session_id=(export or {}).get("session_id") or _session_of(history),
        model=model,
        stop_reason="end_turn",
        usage=Usage(
            # Vibe counts cached input inside input_tokens (OpenAI's way); the gateway does not.
            input_tokens=max(0, int(usage.get("input_tokens") or 0) - cached),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=cached,
        ),
        cost_usd=cost,
        cost_source=COST_FROM_CLI if cost is not None else None,
        duration_s=outcome.duration_s,
        exit_code=outcome.exit_code,
        warnings=tuple(warnings),
        raw_output=raw,
    )


def _failure(outcome: ProcessOutcome, export: dict[str, Any] | None) -> ProviderFailure:
    stderr = tail(outcome.stderr_tail)
    error = (export or {}).get("error") or {}
    message = str(error.get("message") or stderr or "vibe failed")
    if _LOGGING_OFF in stderr:
        return ProviderFailure(
            f"vibe: {stderr}; set `[session_logging] enabled = true` in its config.toml",
            code=ErrorCode.SESSION_UNSUPPORTED,
            provider="mistral",
        )
    session = session_failure(stderr, "mistral", not_found=("Session not found",))
    if session is not None:
        return session
    known = _ERROR_CODES.get(str(error.get("code")))
    if known is not None:
        code, retryable = known
        return ProviderFailure(
            f"mistral: {message}", code=code, retryable=retryable, provider="mistral"
        )
    return failure_from_outcome(outcome, "mistral")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _last_assistant_text(history: list[Any]) -> str | None:
    for entry in reversed(history):
        if not isinstance(entry, dict) or entry.get("role") != "assistant":
            continue
        text = _text_of(entry.get("content", entry.get("text")))
        if text:
            return text
    return None


def _text_of(content: Any) -> str:
    """A message's text: a string, or its `text` blocks joined (vibe 3's entries)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def _session_of(history: list[Any]) -> str | None:
    for entry in reversed(history):
        if isinstance(entry, dict) and isinstance(entry.get("sessionId"), str):
            return str(entry["sessionId"])
    return None


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
