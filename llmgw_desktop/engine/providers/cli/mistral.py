"""Mistral Vibe (`vibe`): programmatic mode `-p`, the prompt on stdin, `--output json`.

Vibe prints the conversation as a JSON array of messages when it ends; the answer is the last
assistant message. It writes usage to the session's `meta.json` under `$VIBE_HOME/logs/session`
(default `~/.vibe`), not to stdout, so the parser reads the newest one the run left behind.
The model comes from `VIBE_ACTIVE_MODEL` (there is no `--model` flag) and the permission mode
is the `--agent` profile.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.providers.base import Prepared, ProviderRequest, ProviderResult
from llmgw_desktop.engine.providers.confinement import confined
from llmgw_desktop.engine.providers.failures import failure_from_outcome, failure_from_text
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.pricing import COST_FROM_CLI
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["MistralAdapter", "VibeParser"]

AGENTS = {
    "default": "default",
    "plan": "plan",
    "acceptEdits": "accept-edits",
    "bypassPermissions": "auto-approve",
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
        argv = [executable, "-p", "--output", "json"]
        if request.confined:
            # No --trust: the workspace's own vibe config (which a remote caller may have
            # written) stays ignored.
            argv += confined("mistral", request.permission_mode).flags
        else:
            # Programmatic mode auto-approves everything unless told otherwise: always say which.
            argv += ["--agent", AGENTS[request.permission_mode], "--trust"]
        if session.resume_id:
            argv += ["--resume", session.resume_id]
        elif session.resume_latest:
            argv.append("--continue")
        for tool in request.allowed_tools:
            argv += ["--enabled-tools", tool]
        argv += request.extra_args
        env = {"VIBE_ACTIVE_MODEL": request.model} if request.model else {}
        invocation = Invocation(
            argv=tuple(argv), stdin=request.prompt.encode(), env=env, cwd=request.working_dir
        )
        return Prepared(invocation, VibeParser(request.model, started=time.time()))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)

    def models(self) -> tuple[str, ...]:
        return ("devstral-2", "devstral-small", "mistral-medium-latest", "local")


class VibeParser:
    """Reads vibe's JSON message list, then the session meta it wrote."""

    def __init__(self, model: str | None, *, started: float, vibe_home: Path | None = None) -> None:
        self._model = model
        self._started = started
        self._vibe_home = vibe_home
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
        raw = b"".join(self._chunks).decode("utf-8", errors="replace")
        if outcome.exit_code != 0:
            raise failure_from_outcome(outcome, "mistral")
        try:
            messages = json.loads(raw)
        except ValueError:
            raise ProviderFailure(
                "vibe printed output that is not JSON; its output may be truncated",
                code=ErrorCode.PROVIDER_ERROR,
                retryable=True,
                provider="mistral",
            ) from None
        history = messages.get("history") if isinstance(messages, dict) else messages
        answer = _last_assistant_text(history if isinstance(history, list) else [])
        if answer is None:
            raise failure_from_text("vibe finished without an answer", "mistral")
        meta = self._session_meta()
        stats = (meta or {}).get("stats") or {}
        return ProviderResult(
            text=answer,
            provider="mistral",
            session_id=(meta or {}).get("session_id"),
            model=self._model,
            stop_reason="end_turn",
            usage=Usage(
                input_tokens=int(stats.get("session_prompt_tokens") or 0),
                output_tokens=int(stats.get("session_completion_tokens") or 0),
            ),
            cost_usd=_float_or_none(stats.get("session_cost")),
            cost_source=COST_FROM_CLI
            if _float_or_none(stats.get("session_cost")) is not None
            else None,
            duration_s=outcome.duration_s,
            exit_code=outcome.exit_code,
            warnings=() if meta else ("vibe left no session meta.json: usage unknown",),
            raw_output=raw,
            # The meta file holds the whole session's totals, resumed turns included.
            usage_is_cumulative=True,
        )

    def _session_meta(self) -> dict[str, Any] | None:
        home = self._vibe_home or Path(os.environ.get("VIBE_HOME", Path.home() / ".vibe"))
        newest: tuple[float, Path] | None = None
        for meta in (home / "logs" / "session").glob("*/meta.json"):
            try:
                modified = meta.stat().st_mtime
            except OSError:
                continue
            if modified >= self._started - 1 and (newest is None or modified > newest[0]):
                newest = (modified, meta)
        if newest is None:
            return None
        try:
            data = json.loads(newest[1].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def _last_assistant_text(history: list[Any]) -> str | None:
    for entry in reversed(history):
        if not isinstance(entry, dict) or entry.get("role") != "assistant":
            continue
        text = entry.get("content", entry.get("text"))
        if isinstance(text, str) and text:
            return text
    return None


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
