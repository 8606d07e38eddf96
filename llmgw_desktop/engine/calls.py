"""Provider calls: validate a request, pick its conversation and directory, run it as a job.

Every call is a job (see `jobs/manager.py`). This module turns what a caller asked for into
the job's work: one CLI run per attempt through the breaker and retry policy, then the
bookkeeping a caller relies on: the conversation's directory and usage totals, the turn's
own usage and cost, and the gateway session's link to the CLI's session id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw_desktop.engine.call_params import CallParams
from llmgw_desktop.engine.errors import GatewayError, InvalidRequest, NotFound, ProviderUnavailable
from llmgw_desktop.engine.events import BreakerChanged, EventBus
from llmgw_desktop.engine.jobs.manager import JobContext, JobManager, JobSpec, Submitted
from llmgw_desktop.engine.providers.base import (
    ProviderRequest,
    ProviderResult,
    SessionChoice,
    Usage,
)
from llmgw_desktop.engine.providers.catalog import PROVIDER_IDS, provider_info
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.invoke import invoke_once
from llmgw_desktop.engine.providers.pricing import estimate_cost
from llmgw_desktop.engine.providers.process import RunLimits
from llmgw_desktop.engine.providers.registry import adapter_for
from llmgw_desktop.engine.resilience import (
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
    call_with_resilience,
)
from llmgw_desktop.engine.sessions import (
    GATEWAY_PREFIX,
    ProviderSessionInfo,
    SessionStore,
    SessionView,
)
from llmgw_desktop.settings import Settings

__all__ = ["ProviderCalls", "Resolved"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolved:
    """Which conversation a call continues and where it runs."""

    choice: SessionChoice
    gateway_session_id: str | None
    working_dir: Path | None  # None: a fresh private directory is made for the run
    known: ProviderSessionInfo | None  # what the gateway recorded of the resumed conversation


class ProviderCalls:
    """Runs provider calls as jobs, one breaker per provider."""

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobManager,
        sessions: SessionStore,
        discovery: Discovery,
        events: EventBus,
        ensure_available: Callable[[str], None],
        conversations_dir: Path,
    ) -> None:
        self._settings = settings
        self._jobs = jobs
        self._sessions = sessions
        self._discovery = discovery
        self._events = events
        self._ensure_available = ensure_available
        self._conversations_dir = conversations_dir
        self.breakers = {
            pid: CircuitBreaker(
                pid,
                threshold=settings.breaker_threshold,
                cooldown_s=settings.breaker_cooldown_ms / 1000,
                on_change=self._breaker_changed,
            )
            for pid in PROVIDER_IDS
        }
        self._policy = RetryPolicy(
            attempts=settings.retry_attempts, base_delay_s=settings.retry_base_delay_ms / 1000
        )

    async def submit(self, provider: str, params: CallParams, principal: str) -> Submitted:
        """Validate and start the call as a job (or attach to an identical one).

        Raises:
            InvalidRequest: the request is malformed or asks for something not allowed.
            ProviderUnavailable: the provider is off, paused, resting or not installed.
            NotFound: the session asked for does not exist for this principal.
            Saturated: too much work is queued.
        """
        self._ensure_available(provider)
        params = params.validated()
        if params.permission_mode == "bypassPermissions" and not self._settings.allow_bypass:
            raise InvalidRequest(
                "permissionMode 'bypassPermissions' lets the CLI do anything without asking; "
                "the operator has not allowed it (set approval.allow_bypass, or "
                "LLM_GATEWAY_APPROVAL_ALLOW_BYPASS=1)",
                code="bypass_not_allowed",
                param="permissionMode",
            )
        executable = await self._discovery.locate(provider)
        if executable is None:
            info = provider_info(provider)
            raise ProviderUnavailable(
                f"{info.display_name} is not installed (looked for {', '.join(info.binaries)}); "
                f"install it with: {info.install_command}",
                code="not_installed",
                provider=provider,
                install_command=info.install_command,
            )
        resolved = await self.resolve(provider, params, principal)
        request = ProviderRequest(
            prompt=params.rendered_prompt,
            parts=params.prompt_parts,
            model=params.model,
            session=resolved.choice,
            permission_mode=params.permission_mode,
            allowed_tools=params.allowed_tools,
            disallowed_tools=params.disallowed_tools,
            working_dir=resolved.working_dir,
        )
        adapter = adapter_for(provider)
        adapter.prepare(request, executable)  # fail now, not in the job, if it cannot be said

        async def work(ctx: JobContext) -> dict[str, Any]:
            return await self._run(ctx, provider, principal, params, request, executable, resolved)

        canonical = params.canonical() | {
            "session": dataclasses.asdict(resolved.choice),
            "gatewaySession": resolved.gateway_session_id,
        }
        spec = JobSpec(
            principal=principal,
            provider=provider,
            request=canonical,
            working_dir=str(resolved.working_dir or ""),
            work=work,
            correlation_id=params.correlation_id,
            session_id=resolved.gateway_session_id,
        )
        return await self._jobs.submit(spec, force_refresh=params.force_refresh)

    async def resolve(self, provider: str, params: CallParams, principal: str) -> Resolved:
        """Pick the conversation (and its directory) a call continues.

        Raises:
            InvalidRequest: the session belongs to another provider, or sessions are unsupported.
            NotFound: the session, or an earlier conversation to continue, does not exist.
        """
        explicit = Path(params.working_dir) if params.working_dir else None
        wants_session = params.session_id or params.resume_latest or params.fork
        if wants_session and not provider_info(provider).supports_sessions:
            raise InvalidRequest(
                f"{provider} keeps no sessions: each call starts a new conversation",
                code="sessions_unsupported",
                provider=provider,
            )
        if params.session_id and params.session_id.startswith(GATEWAY_PREFIX):
            session = await self._sessions.get(principal, params.session_id)
            return await self._from_gateway(session, provider, params, principal, explicit)
        if params.session_id:
            known = await self._sessions.provider_session(principal, provider, params.session_id)
            directory = explicit or (Path(known.working_dir) if known else None)
            choice = SessionChoice(resume_id=params.session_id, fork=params.fork)
            return Resolved(choice, None, directory, known)
        if params.resume_latest:
            where = str(explicit) if explicit else None
            known = await self._sessions.latest_provider_session(principal, provider, where)
            if known is not None:
                # Resume that exact conversation: the CLI's own "latest" could be another
                # caller's newest conversation in the same directory.
                choice = SessionChoice(resume_id=known.provider_session_id, fork=params.fork)
                return Resolved(choice, None, explicit or Path(known.working_dir), known)
            if explicit is not None:
                return Resolved(
                    SessionChoice(resume_latest=True, fork=params.fork), None, explicit, None
                )
            raise NotFound(
                f"there is no earlier conversation with {provider} to continue",
                code="session_not_found",
            )
        if params.fork:
            raise InvalidRequest("forking needs the sessionId to fork from", param="sessionId")
        if not params.create_new_session:
            active = await self._sessions.active(principal, provider)
            if active is not None:
                return await self._from_gateway(active, provider, params, principal, explicit)
        return Resolved(SessionChoice(), None, explicit, None)

    async def _from_gateway(
        self,
        session: SessionView,
        provider: str,
        params: CallParams,
        principal: str,
        explicit: Path | None,
    ) -> Resolved:
        if session.provider != provider:
            raise InvalidRequest(
                f"session {session.id} belongs to {session.provider}, not {provider}",
                code="session_provider_mismatch",
                param="sessionId",
            )
        stored_dir = session.metadata.get("working_dir")
        directory = explicit or (Path(stored_dir) if stored_dir else None)
        if session.provider_session_id is None:
            return Resolved(SessionChoice(), session.id, directory, None)
        known = await self._sessions.provider_session(
            principal, provider, session.provider_session_id
        )
        choice = SessionChoice(resume_id=session.provider_session_id, fork=params.fork)
        return Resolved(choice, session.id, directory, known)

    async def _run(
        self,
        ctx: JobContext,
        provider: str,
        principal: str,
        params: CallParams,
        request: ProviderRequest,
        executable: str,
        resolved: Resolved,
    ) -> dict[str, Any]:
        directory, owned = resolved.working_dir, False
        if directory is None:
            directory, owned = await asyncio.to_thread(self._new_conversation_dir), True
        request = dataclasses.replace(request, working_dir=directory)
        limits = self._limits(params)

        def progress(text: str, events: int, size: int) -> None:
            ctx.set_output(text)
            ctx.set_progress(events=events, outputBytes=size)

        async def attempt(number: int) -> ProviderResult:
            ctx.set_attempt(number)
            return await invoke_once(
                adapter_for(provider),
                request,
                executable,
                limits,
                isolate_env=self._settings.isolate_env,
                on_progress=progress,
                on_start=lambda pid: ctx.set_progress(pid=pid),
            )

        def on_retry(number: int, error: GatewayError, delay: float) -> None:
            ctx.set_progress(lastError=error.code, retryInSeconds=round(delay, 2))

        result: ProviderResult | None = None
        try:
            result = await call_with_resilience(
                attempt, breaker=self.breakers[provider], policy=self._policy, on_retry=on_retry
            )
        finally:
            if owned and (result is None or result.session_id is None):
                # Nothing to resume from a run that left no conversation: do not keep its dir.
                await asyncio.to_thread(shutil.rmtree, directory, True)
        return self._settle(ctx, provider, principal, result, resolved, directory, owned)

    def _settle(
        self,
        ctx: JobContext,
        provider: str,
        principal: str,
        result: ProviderResult,
        resolved: Resolved,
        directory: Path,
        owned: bool,
    ) -> dict[str, Any]:
        resumed = resolved.known if resolved.choice.resume_id == result.session_id else None
        previous = resumed.usage_totals if resumed else Usage()
        if result.usage_is_cumulative:
            totals, turn = result.usage, _minus(result.usage, previous)
        else:
            totals, turn = _plus(previous, result.usage), result.usage
        warnings = result.warnings
        if result.usage_is_cumulative and resolved.choice.resume_id and resumed is None:
            warnings += (
                f"{provider} reports usage for the whole conversation, and the gateway had not "
                "seen its earlier turns: this usage includes them",
            )
        result = dataclasses.replace(
            result, usage=turn, usage_is_cumulative=False, warnings=warnings
        )
        if result.cost_usd is None:
            estimate = estimate_cost(result.model, turn)
            if estimate is not None:
                result = dataclasses.replace(result, cost_usd=estimate, cost_source="price_table")
        ctx.write_with_result(
            self._sessions.turn_writer(
                principal,
                provider,
                result.session_id,
                working_dir=str(directory),
                owns_dir=owned or bool(resumed and resumed.owns_dir),
                usage_totals=totals,
                gateway_session_id=resolved.gateway_session_id,
            )
        )
        data = result.to_dict()
        data["working_dir"] = str(directory)
        data["gateway_session_id"] = resolved.gateway_session_id
        return data

    def _limits(self, params: CallParams) -> RunLimits:
        s = self._settings
        timeout_ms = min(params.timeout_ms or s.provider_timeout_ms, s.provider_timeout_ms)
        idle_ms = s.idle_timeout_ms if params.idle_timeout_ms is None else params.idle_timeout_ms
        return RunLimits(
            timeout_s=timeout_ms / 1000,
            idle_timeout_s=idle_ms / 1000,
            max_output_bytes=s.max_output_bytes,
            kill_grace_s=s.kill_grace_ms / 1000,
        )

    def _new_conversation_dir(self) -> Path:
        self._conversations_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory = self._conversations_dir / uuid.uuid4().hex
        directory.mkdir(mode=0o700)
        return directory

    async def expire_conversations(self, used_before: float) -> int:
        """Forget conversations unused since `used_before` and delete the dirs the gateway made."""
        expired = await self._sessions.expire_provider_sessions(used_before)
        for info in expired:
            if info.owns_dir and Path(info.working_dir).is_relative_to(self._conversations_dir):
                await asyncio.to_thread(shutil.rmtree, info.working_dir, True)
        return len(expired)

    def breaker_states(self) -> dict[str, dict[str, Any]]:
        return {
            pid: {
                "state": b.state.value,
                "consecutiveFailures": b.consecutive_failures,
                "retryAfterSeconds": round(b.retry_after_s(), 1)
                if b.state is BreakerState.OPEN
                else 0,
            }
            for pid, b in self.breakers.items()
        }

    def _breaker_changed(self, provider: str, state: BreakerState, failures: int) -> None:
        self._events.publish(BreakerChanged(provider, state.value, failures))


def _minus(total: Usage, earlier: Usage) -> Usage:
    return Usage(
        input_tokens=max(0, total.input_tokens - earlier.input_tokens),
        output_tokens=max(0, total.output_tokens - earlier.output_tokens),
        cache_read_tokens=max(0, total.cache_read_tokens - earlier.cache_read_tokens),
        cache_write_tokens=max(0, total.cache_write_tokens - earlier.cache_write_tokens),
        reasoning_tokens=max(0, total.reasoning_tokens - earlier.reasoning_tokens),
    )


def _plus(a: Usage, b: Usage) -> Usage:
    return Usage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cache_read_tokens=a.cache_read_tokens + b.cache_read_tokens,
        cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens,
        reasoning_tokens=a.reasoning_tokens + b.reasoning_tokens,
    )
