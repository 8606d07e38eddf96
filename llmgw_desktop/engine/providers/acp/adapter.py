"""The adapter every ACP agent shares: start it speaking ACP, hold one turn, read the outcome.

Unlike the seven CLI adapters, the prompt is not fed on stdin and read back from stdout: the
turn (`turn.AcpTurn`) is a conversation the process runner holds open. The operator's
`[providers.acp.NAME]` (`config/acp_agents.py`) is applied by the engine's catalog
(`config/provider_catalog.py`): the command and args are in `info`; its models are its bridge's
(`api_catalog.CLI_BRIDGES`, or the operator's list).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw_desktop.config.acp_agents import AcpAgentSpec
from llmgw_desktop.config.cli_catalog import ProviderInfo
from llmgw_desktop.engine.errors import ErrorCode, InvalidRequest, ProviderFailure
from llmgw_desktop.engine.providers.acp.turn import AcpTurn, PermissionAsker, TurnPlan
from llmgw_desktop.engine.providers.base import Prepared, ProviderRequest, ProviderResult
from llmgw_desktop.engine.providers.confinement import confined
from llmgw_desktop.engine.providers.failures import failure_from_text, tail
from llmgw_desktop.engine.providers.process import Invocation, ProcessOutcome
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["AcpAdapter", "AcpSetup"]


@dataclass(frozen=True)
class AcpSetup:
    """What a call adds to an ACP agent's run: the operator's spec (its `env` is read by the
    caller), who answers its permission requests, and how long it may take to answer
    `initialize`."""

    spec: AcpAgentSpec = field(default_factory=AcpAgentSpec)
    permissions: PermissionAsker | None = None
    init_timeout_s: float = 60.0
    max_line_bytes: int = 8 * 1024 * 1024
    # An editor the turn streams to (`peer.AcpPeer.update`); then a failed turn is not tried
    # again (the editor has seen its first part).
    forward: Callable[[Any], Awaitable[None]] | None = None
    images: tuple[tuple[str, str], ...] = ()  # the editor's, (media type, base64 data)


class AcpAdapter:
    """One ACP agent of the catalog."""

    def __init__(self, info: ProviderInfo) -> None:
        """`info` as the engine's catalog has it (the operator's command and args applied)."""
        assert info.acp_args is not None, f"{info.id} is not an ACP agent"
        self.info = info

    def prepare(
        self, request: ProviderRequest, executable: str, setup: AcpSetup | None = None
    ) -> Prepared:
        """The agent's argv and the turn that talks to it.

        Raises:
            InvalidRequest: the request asks for what no ACP turn can do, or a confined run of
                an agent the confinement table cannot hold.
        """
        setup = setup or AcpSetup()
        if request.session.fork:
            raise InvalidRequest(
                f"{self.info.display_name}: forking over ACP is not supported",
                code=ErrorCode.FORK_UNSUPPORTED,
            )
        if request.session.resume_latest:
            raise InvalidRequest(
                f"{self.info.display_name}: name the session to resume (an ACP agent keeps "
                "no 'latest')",
                code=ErrorCode.SESSION_UNSUPPORTED,
            )
        args = self.info.acp_args or ()
        flags: tuple[str, ...] = ()
        meta: Mapping[str, Any] = {}
        if request.confined:
            # The table's row: its flags here, its environment at the spawn point.
            held = confined(self.info.id, request.permission_mode)
            flags, meta = held.flags, held.session_meta
        turn = AcpTurn(
            TurnPlan(
                agent=self.info.id,
                cwd=request.working_dir or Path.cwd(),
                prompt=request.prompt,
                model=request.model,
                told_model=request.model if request.model_told else None,
                resume_id=request.session.resume_id,
                init_timeout_s=setup.init_timeout_s,
                max_line_bytes=setup.max_line_bytes,
                session_meta=meta,
                images=setup.images,
            ),
            permissions=setup.permissions,
            forward=setup.forward,
        )
        invocation = Invocation(
            argv=(executable, *args, *flags, *request.extra_args),
            cwd=request.working_dir,
            conversation=turn,
        )
        return Prepared(invocation, _TurnParser(turn, self.info.id, setup))

    def version_args(self) -> tuple[str, ...]:
        return ("--version",)


class _TurnParser:
    """The `OutputParser` over a turn: the turn has read the output already."""

    def __init__(self, turn: AcpTurn, provider: str, setup: AcpSetup) -> None:
        self._turn = turn
        self._provider = provider
        self._setup = setup

    def feed(self, chunk: bytes) -> None:
        """Nothing to do: the turn reads the agent's messages itself."""

    @property
    def partial_text(self) -> str:
        return self._turn.text

    @property
    def events(self) -> int:
        return self._turn.events

    def finish(self, outcome: ProcessOutcome) -> ProviderResult:
        """The turn's answer, or why it failed.

        Raises:
            ProviderFailure: the agent never answered, broke the protocol, refused, or ended
                mid-turn.
        """
        turn = self._turn
        stderr = tail(outcome.stderr_tail)
        if turn.failure is not None or turn.stop_reason is None:
            failure = turn.failure
            message = failure.message if failure else "the agent ended before answering"
            where = f"{self._provider}: {message}"
            if failure is not None and failure.kind == "no_initialize":
                raise ProviderFailure(
                    where, code=ErrorCode.TIMEOUT, provider=self._provider, stderr_tail=stderr
                )
            if outcome.exit_code not in (None, 0) and stderr:
                # The agent died: its stderr usually names the upstream trouble. Its error
                # answer, where it gave one, says it in its own words: Qwen Code's stderr is a
                # dump of the JSON-RPC request and error objects, which a job's error quoted.
                own = failure.message if failure is not None and failure.kind == "refused" else ""
                found = failure_from_text(stderr, self._provider, said=own)
                if found.code != ErrorCode.PROVIDER_ERROR:
                    raise found
            raise ProviderFailure(
                f"{where}" + (f" (exit code {outcome.exit_code})" if outcome.exit_code else ""),
                code=ErrorCode.PROVIDER_ERROR,
                provider=self._provider,
                stderr_tail=stderr,
                retryable=failure is not None
                and failure.kind == "ended"
                and self._setup.forward is None,
            )
        if turn.stop_reason == "refusal":
            raise ProviderFailure(
                f"{self._provider}: the agent refused to go on", provider=self._provider
            )
        warnings = list(turn.warnings)
        if turn.stop_reason == "cancelled":
            warnings.append("the agent says the turn was cancelled")
        # A routed agent's usage is left to its model calls' own rows (`CallWork._settle`).
        usage = turn.usage or Usage()
        # The turn over, the gateway stops the agent ("finished": it had not exited): how it
        # then ends is the gateway's doing, not the agent's word ("completed · exit code -15"
        # read as a failure; Gemini CLI answers the SIGTERM with exit code 1, now and then).
        code = outcome.exit_code
        stopped_by_us = outcome.ended_by == "finished"
        return ProviderResult(
            text=turn.text,
            provider=self._provider,
            session_id=turn.session_id,
            model=turn.model,
            stop_reason=turn.stop_reason,
            usage=usage,
            duration_s=outcome.duration_s,
            exit_code=None if stopped_by_us else code,
            warnings=tuple(warnings),
        )
