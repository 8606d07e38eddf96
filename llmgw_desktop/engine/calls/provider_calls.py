"""Provider calls: validate a request, pick its conversation and directory, run it as a job.

Every call is a job (see `jobs/manager.py`). This module turns what a caller asked for into
the job's work: one CLI run per attempt through the breaker and retry policy, then the
bookkeeping a caller relies on: the conversation's directory and usage totals, the turn's
own usage and cost, and the gateway session's link to the CLI's session id.

What only a running call needs (the CLI adapters and their parsers, the ACP client, the
invocation, the answer's compression, the CLI's auth files) is imported when a call runs, not
with this module: a gateway start builds this service but serves HTTP dialects first
(issue 42, `tests/test_startup_imports.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.principals import LOCAL as LOCAL_PRINCIPAL
from llmgw_desktop.engine.budgets.holds import (
    ESTIMATED_OUTPUT_TOKENS,
    NO_BUDGETS,
    CallAsk,
    Hold,
    SpendGuard,
)
from llmgw_desktop.engine.calls.approval import ApprovalDecision, ApprovalGate, ApprovalRequest
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta, record_fields
from llmgw_desktop.engine.calls.remote_gate import RemotePowerGate
from llmgw_desktop.engine.calls.resilience import (
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
    call_with_resilience,
)
from llmgw_desktop.engine.calls.routing import ConversationRouter, Resolved
from llmgw_desktop.engine.errors import (
    ApprovalDenied,
    EngineError,
    ErrorCode,
    InvalidRequest,
    ProviderUnavailable,
)
from llmgw_desktop.engine.events import BreakerChanged, EventBus
from llmgw_desktop.engine.jobs.manager import JobContext, JobManager, JobSpec, Submitted
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.providers.base import ProviderRequest, ProviderResult
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.lifeline import JOB_MARKER_ENV, Lifeline
from llmgw_desktop.engine.providers.process import RunLimits
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.sessions import (
    SessionStore,
)
from llmgw_desktop.engine.states import RecordState, record_state_of
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.pricing import CostBasis, cost_note
from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.engine.workspaces import WorkspaceRegistry

if TYPE_CHECKING:
    from llmgw_desktop.engine.providers.auth_home import AuthFileSource

__all__ = ["ProviderCalls", "Resolved"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Run:
    """Everything one job's work needs, decided at submit time."""

    provider: str
    principal: str
    params: CallParams
    meta: RequestMeta
    request: ProviderRequest
    executable: str
    resolved: Resolved
    record: str  # the flight-recorder entry of this call
    notices: list[dict[str, Any]]
    optimization: dict[str, Any]  # measured before the call (the prompt's)


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
        gate: ApprovalGate,
        recorder: FlightRecorder,
        clock: Callable[[], float] = time.time,
        auth_files: AuthFileSource | None = None,
        workspaces: WorkspaceRegistry | None = None,
        lifeline: Lifeline | None = None,
        budgets: SpendGuard | None = None,
        project_access: Callable[[str, str | None], None] | None = None,
        target_access: Callable[[str, str, str], EngineError | None] | None = None,
        prices: PriceBook | None = None,
    ) -> None:
        """`budgets` refuses a call a used-up hard budget covers, or a hard dollar budget one it
        could not count, and holds a running call's estimate (`engine/budgets/ledger.py`);
        `project_access(principal, project)` raises
        `ProjectForbidden` when the principal was not granted the project
        (`engine/auth/projects.py`)."""
        self._settings = settings
        # The engine's prices (the person's over the bundled table): a run's estimated cost.
        self._prices = prices or PriceBook()
        self._budgets = budgets or NO_BUDGETS
        self._project_access = project_access
        # (principal, provider, model) -> the refusal when a gateway key's scope leaves the CLI
        # (or the model asked of it) out (`engine/auth/key_scope.py`).
        self._target_access = target_access
        self._lifeline = lifeline
        self._auth_files = auth_files
        self._workspaces = workspaces
        self._jobs = jobs
        self._sessions = sessions
        # The engine's CLIs and ACP agents (the operator's added ones too), as discovery has them.
        self._catalog = catalog = discovery.catalog
        self._router = ConversationRouter(sessions, catalog)
        self._power = RemotePowerGate(workspaces, recorder, self._router)
        self._gate = gate
        self._recorder = recorder
        self._clock = clock
        self._discovery = discovery
        self._events = events
        self._ensure_available = ensure_available
        self._conversations_dir = conversations_dir
        self.breakers = {
            pid: CircuitBreaker(
                pid,
                threshold=settings.providers.breaker_threshold,
                cooldown_s=settings.providers.breaker_cooldown_ms / 1000,
                on_change=self._breaker_changed,
            )
            for pid in catalog.ids
        }
        self._policy = RetryPolicy(
            attempts=settings.providers.retry_attempts,
            base_delay_s=settings.providers.retry_base_delay_ms / 1000,
        )

    async def resolve(
        self, provider: str, params: CallParams, principal: str, *, caller: str = ""
    ) -> Resolved:
        """Pick the conversation (and its directory) a call continues."""
        return await self._router.resolve(provider, params, principal, caller=caller)

    async def submit(
        self,
        provider: str,
        params: CallParams,
        principal: str,
        meta: RequestMeta | None = None,
    ) -> Submitted:
        """Check, approve and start the call as a job (or attach to an identical one).

        Every call is written to the flight recorder, refused ones included.

        Raises:
            InvalidRequest: the request is malformed, or `provider` is not a coding CLI.
            ApprovalDenied: the approval gate refused it.
            ProviderUnavailable: the provider is off, paused, resting or not installed.
            NotFound: the session asked for does not exist for this principal.
            Saturated: too much work is queued.
            ProjectForbidden: the principal was not granted the project it named.
            OutsideKeyScope: the caller's gateway key does not reach this CLI or model.
            BudgetExceeded: a hard budget covering the caller or the project is used up, or a
                hard dollar budget covers it and its cost could not be counted (no price for
                its model, or no model named for a CLI that does not report its cost).
        """
        meta = meta or RequestMeta()
        self._check_key_scope(provider, params, principal, meta)
        self._ensure_available(provider)
        if provider not in self._catalog:
            # A switch id of an API provider or local server passes the switches, but there is
            # no CLI to run for it: those are asked through the gateway.
            raise InvalidRequest(
                f"{provider!r} is not a coding CLI ({', '.join(self._catalog.ids)}); ask an API "
                "provider through the gateway (ask_model, or POST /v1/chat/completions with "
                f"model '{provider}/MODEL')",
                code=ErrorCode.UNKNOWN_PROVIDER,
                param="provider",
            )
        self._check_project(provider, params, principal, meta)
        self._check_budget(provider, params, principal, meta)
        asked_workspace = params.workspace or ""  # anchoring resolves it to a directory
        params = await self._anchored(provider, params, principal, meta.caller)
        # Validation looks at the working directory on disk: do it off the loop.
        params = await asyncio.to_thread(params.validated)
        from llmgw_desktop.engine.calls.token_savings import optimize_prompt, stable_prefix

        optimization: dict[str, Any] = {}
        if meta.optimize_prompt:
            # Off the loop: counting tokens is CPU work (and the first count loads the BPE).
            params, optimization = await asyncio.to_thread(optimize_prompt, params, provider)
        confinement = await self._power.check(provider, params, principal, meta)
        strategy = _strategy_for(principal, meta)
        decision = await self._gate.decide(
            ApprovalRequest(
                provider=provider,
                prompt=params.rendered_prompt,
                permission_mode=_asked_mode(params, meta),
                full_auto=meta.full_auto,
                allowed_tools=params.allowed_tools,
                strategy=strategy,
                principal=principal,
                caller=meta.caller,
                workspace=asked_workspace,
                working_dir=params.working_dir or "",
            )
        )
        if strategy != meta.approval_strategy and decision.allowed:
            # Scored because the caller is remote, not because it asked for `mcp_managed`: it
            # runs at the mode it asked for, never raised to the accept-edits rung.
            decision = dataclasses.replace(decision, permission_mode=_asked_mode(params, meta))
        prefix_hash, prefix_tokens = stable_prefix(params)
        record = self._start_record(
            provider,
            params,
            principal,
            meta,
            prefix_hash=prefix_hash,
            prefix_tokens=prefix_tokens,
            approval=decision.to_dict(),
            optimization=optimization or None,
        )
        try:
            if not decision.allowed:
                raise ApprovalDenied(
                    f"the approval gate denied this call (score {decision.score}, threshold "
                    f"{decision.threshold}): {'; '.join(decision.reasons) or 'policy'}",
                    score=decision.score,
                    reasons=list(decision.reasons),
                    decided_by=decision.decided_by,
                )
            mode, clamped = decision.permission_mode, None
            if confinement is not None:
                mode, clamped = confinement.clamp(mode)
            params = dataclasses.replace(params, permission_mode=mode)
            submitted, resolved = await self._start(
                provider,
                params,
                principal,
                meta,
                record,
                decision,
                optimization,
                confined=confinement is not None and confinement.confined,
                notices=[] if clamped is None else [{"code": "remote_power", "message": clamped}],
            )
        except EngineError as error:
            denied = isinstance(error, ApprovalDenied)
            state = RecordState.DENIED if denied else RecordState.REFUSED
            self._recorder.finish(record, state=state, error_code=error.code)
            # The refusal names its row, so the caller can find it in the recorder.
            error.details.setdefault("requestId", record)
            raise
        self._recorder.update(
            record, job_id=submitted.job_id, session_id=resolved.gateway_session_id
        )
        if submitted.attached:
            self._recorder.finish(record, state=RecordState.DEDUPED)
        return dataclasses.replace(submitted, record_id=record)

    def _start_record(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta, **more: Any
    ) -> str:
        """Open the call's flight-recorder row with what every row of a provider call names."""
        return self._recorder.start(**record_fields(provider, params, principal, meta), **more)

    def _check_key_scope(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> None:
        """Refuse a CLI (or a model asked of it) outside a gateway key's scope, before
        anything else is looked at; the refusal is a refused row."""
        if self._target_access is None:
            return
        # A key names a CLI as the gateway's routes do (`claude-cli`, `mistral-cli`), not by
        # its engine id: `mistral` is Mistral's API there, and `claude-cli/*` has to reach
        # Claude Code by every door (SECURITY 46).
        named = self._catalog.bridge_of(provider).id if provider in self._catalog else provider
        outside = self._target_access(principal, named, params.model or "")
        if outside is None:
            return
        record = self._start_record(provider, params, principal, meta)
        self._recorder.finish(record, state=RecordState.REFUSED, error_code=outside.code)
        outside.details.setdefault("requestId", record)
        raise outside

    def _check_project(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> None:
        """Refuse a project the principal was not granted before its logins or budget are
        touched; the refusal is a refused row."""
        if self._project_access is None:
            return
        try:
            self._project_access(principal, meta.project)
        except EngineError as error:
            record = self._start_record(provider, params, principal, meta)
            self._recorder.finish(record, state=RecordState.REFUSED, error_code=error.code)
            error.details.setdefault("requestId", record)
            raise

    def _check_budget(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> None:
        """Refuse before anything runs (no approval asked, no CLI spawned); the refusal is a
        refused row that spent nothing (no provider was asked)."""
        try:
            self._budgets.check(
                principal,
                meta.caller,
                meta.project,
                CostBasis.cli(provider, params.model, self._prices),
            )
        except EngineError as error:
            record = self._start_record(provider, params, principal, meta)
            self._recorder.finish(record, state=RecordState.REFUSED, error_code=error.code)
            error.details.setdefault("requestId", record)
            raise

    async def _start(
        self,
        provider: str,
        params: CallParams,
        principal: str,
        meta: RequestMeta,
        record: str,
        decision: ApprovalDecision,
        optimization: dict[str, Any],
        *,
        confined: bool,
        notices: list[dict[str, Any]],
    ) -> tuple[Submitted, Resolved]:
        executable = await self._discovery.locate(provider)
        if executable is None:
            info = self._catalog.info(provider)
            raise ProviderUnavailable(
                f"{info.display_name} is not installed (looked for {', '.join(info.binaries)}); "
                f"install it with: {info.install_command}",
                code=ErrorCode.NOT_INSTALLED,
                provider=provider,
                install_command=info.install_command,
            )
        resolved = await self._router.resolve(provider, params, principal, caller=meta.caller)
        request = ProviderRequest(
            prompt=params.rendered_prompt,
            parts=params.prompt_parts,
            model=params.model,
            session=resolved.choice,
            permission_mode=params.permission_mode,
            allowed_tools=params.allowed_tools,
            disallowed_tools=params.disallowed_tools,
            working_dir=resolved.working_dir,
            confined=confined,
        )
        from llmgw_desktop.engine.providers.cli_adapters import adapter_for

        prepared = adapter_for(provider, self._catalog).prepare(request, executable)  # fail now
        await self._power.check_start(provider, request, prepared.invocation.argv)
        notices = [{"code": "approval", "message": w} for w in decision.warnings] + notices
        warning = None
        if self._settings.cache_awareness.warn_on_ttl_expiry:
            from llmgw_desktop.engine.calls.token_savings import ttl_warning

            warning = ttl_warning(
                provider,
                resolved,
                ttl_s=self._settings.cache_awareness.anthropic_ttl_seconds,
                now=self._clock(),
            )
        if warning is not None:
            notices.append(warning)
        run = _Run(
            provider,
            principal,
            params,
            meta,
            request,
            executable,
            resolved,
            record,
            notices,
            optimization,
        )

        async def work(ctx: JobContext) -> dict[str, Any]:
            return await self._run(ctx, run)

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
            overruled=lambda state: self._overruled(record, state),
        )
        return await self._jobs.submit(spec, force_refresh=params.force_refresh), resolved

    def _overruled(self, record: str, state: JobState) -> None:
        """The store kept another ending for the job (a peer ended it while this process
        stalled): the call's row says the same, whatever the CLI did here."""
        ending = record_state_of(state)
        self._recorder.update(record, state=ending, error_code=ending.value)

    async def _run(self, ctx: JobContext, run: _Run) -> dict[str, Any]:
        try:
            data = await self._attempts(ctx, run)
        except asyncio.CancelledError:
            # The same word as the job's own ending: `interrupted` when the gateway stops.
            ending = record_state_of(ctx.cancel_state)
            self._recorder.finish(
                run.record, state=ending, error_code=ending.value, attempts=ctx.attempt
            )
            raise
        except EngineError as error:
            # The job's own ending for the same error (`JobManager._run`).
            stalled = error.code == ErrorCode.INTERRUPTED
            state = RecordState.INTERRUPTED if stalled else RecordState.FAILED
            self._recorder.finish(
                run.record, state=state, error_code=error.code, attempts=ctx.attempt
            )
            raise
        usage = data["usage"]
        self._recorder.finish(
            run.record,
            state=RecordState.COMPLETED,
            model=data.get("model"),
            provider_session_id=data.get("session_id"),
            exit_code=data.get("exit_code"),
            attempts=ctx.attempt,
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            cache_read_tokens=usage["cache_read_tokens"],
            cache_write_tokens=usage["cache_write_tokens"],
            reasoning_tokens=usage["reasoning_tokens"],
            cost_usd=data.get("cost_usd"),
            # No column for it in this schema: the route's JSON carries how the cost was found.
            route=_cost_route(
                data.get("cost_source") if data.get("cost_usd") is not None else None,
                run.meta.replay_of,
            ),
            optimization=data.pop("_optimization", None),
        )
        return data

    async def _attempts(self, ctx: JobContext, run: _Run) -> dict[str, Any]:
        # Again now that the job leaves the queue: it may have waited there (or for a person's
        # approval) while other calls used the budget up. `_run` ends its row as failed.
        meta = run.meta
        self._budgets.check(
            run.principal,
            meta.caller,
            meta.project,
            CostBasis.cli(run.provider, run.params.model, self._prices),
        )
        # Held while the CLI runs; `_run` counts the row right after (no await between).
        # A CLI cannot be told an output limit: it is held at its model's maximum output
        # where the table knows it, and admitted only where the budget has room for that.
        ask = CallAsk(
            run.params.model,
            len(run.request.prompt) // CHARS_PER_TOKEN,
            None,
            default_output=self._prices.max_output_of(run.params.model) or ESTIMATED_OUTPUT_TOKENS,
            price=self._prices.price_of(run.params.model),
            can_limit=False,
        )
        hold = await self._budgets.reserve(run.principal, meta.caller, meta.project, ask)
        with _held(hold):
            return await self._attempts_held(ctx, run)

    async def _attempts_held(self, ctx: JobContext, run: _Run) -> dict[str, Any]:
        directory, owned = run.resolved.working_dir, False
        if directory is None:
            directory, owned = await asyncio.to_thread(self._new_conversation_dir), True
        request = dataclasses.replace(run.request, working_dir=directory)
        limits = self._limits(run.params)

        def progress(text: str, events: int, size: int) -> None:
            ctx.set_output(text)
            ctx.set_progress(events=events, outputBytes=size)

        from llmgw_desktop.engine.calls.acp_permissions import ChildFor, child_setup
        from llmgw_desktop.engine.providers.cli_adapters import adapter_for
        from llmgw_desktop.engine.providers.invoke import invoke_once

        # The job's id marks its processes, children included, for the start-up reaper.
        extra_env: dict[str, str] = {JOB_MARKER_ENV: ctx.job_id}
        # This CLI's share of the gateway's environment and, for an ACP agent, who answers it
        # and where its model calls go (`calls/acp_permissions.child_setup`).
        acp, environment = child_setup(
            self._settings,
            self._catalog,
            self._gate,
            ChildFor(run.provider, run.principal, run.meta, run.params.model, str(directory)),
        )

        async def attempt(number: int) -> ProviderResult:
            ctx.set_attempt(number)
            # Again at each start, not only at submit (red-team second pass, finding 1).
            await self._power.check_directory(run.provider, request)
            return await invoke_once(
                adapter_for(run.provider, self._catalog),
                request,
                run.executable,
                limits,
                environment=environment,
                isolate_env=self._settings.providers.isolate_env,
                on_progress=progress,
                on_start=ctx.set_process,
                extra_env=extra_env,
                lifeline=self._lifeline,
                acp=acp,
            )

        def on_retry(number: int, error: EngineError, delay: float) -> None:
            ctx.set_progress(lastError=error.code, retryInSeconds=round(delay, 2))

        result: ProviderResult | None = None
        try:
            async with self._auth_environment(run) as auth_env:
                extra_env.update(auth_env)
                result = await call_with_resilience(
                    attempt,
                    breaker=self.breakers[run.provider],
                    policy=self._policy,
                    on_retry=on_retry,
                )
        finally:
            if owned and (result is None or result.session_id is None):
                # Nothing to resume from a run that left no conversation: do not keep its dir.
                await asyncio.to_thread(shutil.rmtree, directory, True)
        return self._settle(ctx, run, result, directory, owned)

    def _settle(
        self, ctx: JobContext, run: _Run, result: ProviderResult, directory: Path, owned: bool
    ) -> dict[str, Any]:
        """This turn's usage and cost, the answer as asked for, and the session bookkeeping."""
        resolved = run.resolved
        resumed = resolved.known if resolved.choice.resume_id == result.session_id else None
        previous = resumed.usage_totals if resumed else Usage()
        notices = list(run.notices)
        if result.usage_is_cumulative:
            totals, turn = result.usage, result.usage.since(previous)
            if resolved.choice.resume_id and resumed is None:
                notices.append(
                    {
                        "code": "usage_includes_earlier_turns",
                        "message": f"{run.provider} reports usage for the whole conversation "
                        "and the gateway had not seen its earlier turns",
                    }
                )
        else:
            totals, turn = previous + result.usage, result.usage
        result = dataclasses.replace(result, usage=turn, usage_is_cumulative=False)
        if result.cost_usd is None:
            model = result.model or run.params.model
            estimate = self._prices.cost_of(model, turn)
            if estimate is not None:
                source = self._prices.source_of(model)
                result = dataclasses.replace(result, cost_usd=estimate, cost_source=source)
        text, optimization = result.text, dict(run.optimization)
        from llmgw_desktop.engine.calls.compression import compress_text, optimize_text

        if run.meta.optimize_response:
            optimized = optimize_text(text)
            text, optimization["response"] = optimized.text, optimized.to_dict()
        if run.meta.compress_response:
            packed = compress_text(text)
            text, optimization["compressedResponse"] = packed.text, packed.to_dict()
        ctx.write_with_result(
            self._sessions.turn_writer(
                run.principal,
                run.provider,
                result.session_id,
                working_dir=str(directory),
                owns_dir=owned or bool(resumed and resumed.owns_dir),
                usage_totals=totals,
                gateway_session_id=resolved.gateway_session_id,
            )
        )
        data = result.to_dict()
        data["text"] = text
        data["warnings"] = notices + [{"code": "notice", "message": w} for w in result.warnings]
        data["working_dir"] = str(directory)
        data["gateway_session_id"] = resolved.gateway_session_id
        if optimization:
            data["optimization"] = optimization
            data["_optimization"] = optimization
        return data

    async def _anchored(
        self, provider: str, params: CallParams, principal: str, caller: str
    ) -> CallParams:
        """The call with its workspace resolved to a directory, under the remote-call rule."""
        if self._workspaces is None:
            return params
        continues = params.session_id is not None or params.resume_latest
        if not continues and not params.create_new_session and principal != LOCAL_PRINCIPAL:
            continues = await self._sessions.active(principal, provider, caller=caller) is not None
        working_dir = await self._workspaces.anchor(
            principal,
            workspace=params.workspace,
            working_dir=params.working_dir,
            has_session=continues,
        )
        return dataclasses.replace(params, working_dir=working_dir, workspace=None)

    def _auth_environment(
        self, run: _Run
    ) -> contextlib.AbstractAsyncContextManager[dict[str, str]]:
        if self._auth_files is None:
            return contextlib.nullcontext({})
        from llmgw_desktop.engine.providers.auth_home import cli_auth_environment

        return cli_auth_environment(
            self._auth_files,
            run.provider,
            run.meta.project,
            root=self._settings.data_path / "auth-tmp",
        )

    def _limits(self, params: CallParams) -> RunLimits:
        s = self._settings
        timeout_ms = min(params.timeout_ms or s.providers.timeout_ms, s.providers.timeout_ms)
        idle_ms = (
            s.providers.idle_timeout_ms
            if params.idle_timeout_ms is None
            else params.idle_timeout_ms
        )
        return RunLimits(
            timeout_s=timeout_ms / 1000,
            idle_timeout_s=idle_ms / 1000,
            max_output_bytes=s.providers.max_output_bytes,
            kill_grace_s=s.providers.kill_grace_ms / 1000,
        )

    def _new_conversation_dir(self) -> Path:
        self._conversations_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory = self._conversations_dir / uuid.uuid4().hex
        directory.mkdir(mode=0o700)
        return directory

    async def expire_conversations(self, used_before: float) -> int:
        """Forget conversations unused since `used_before` and delete the dirs the gateway made."""
        expired = await self._sessions.provider_sessions.expire(used_before)
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


@contextlib.contextmanager
def _held(hold: Hold) -> Iterator[None]:
    try:
        yield
    finally:
        hold.release()


def _strategy_for(principal: str, meta: RequestMeta) -> str:
    """The approval strategy the gate applies: the local user's choice, but every remote
    caller's call is scored (`mcp_managed`): `legacy` reads no prompt, and a caller that is not
    the local user must not be able to opt out of the gate that reads it."""
    return meta.approval_strategy if principal == LOCAL_PRINCIPAL else "mcp_managed"


def _asked_mode(params: CallParams, meta: RequestMeta) -> str:
    """The permission mode the caller asked for; `fullAuto` means "let it edit" (for Codex:
    the sandboxed workspace-write mode)."""
    if meta.full_auto and params.permission_mode == "default":
        return "acceptEdits"
    return params.permission_mode


def _cost_route(source: str | None, replay_of: str | None = None) -> dict[str, Any] | None:
    """A CLI row's route record: none of its own, only how its cost was found (if it has one)
    and the row it re-sends (the recorder links the two by it)."""
    route = {"cost": cost_note(source), "replayOf": replay_of}
    kept = {name: value for name, value in route.items() if value is not None}
    return kept or None
