"""A provider call's work once it is a job: what the job runs after `ProviderCalls.submit` let
the call in.

Checked against the budgets again as it leaves the queue and held against them while the CLI
runs; one CLI run per attempt through the breaker and retry policy; then the bookkeeping a
caller relies on: the turn's own usage and cost, the conversation's directory and usage totals,
the gateway session's link to the CLI's session id, and the call's recorder row ended with the
job's own word for how it ended.

What only a running call needs (the CLI adapters, the ACP client, the invocation, the answer's
compression, the CLI's auth files) is imported when a call runs, not with this module
(`tests/test_startup_imports.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks, Callback, RouteChoice, RunFor
from llmgw_desktop.engine.budgets.holds import Hold, SpendGuard
from llmgw_desktop.engine.calls.approval import ApprovalGate
from llmgw_desktop.engine.calls.cli_spend import (
    CliSpend,
    cli_ask,
    cli_cost_basis,
    run_for,
    unmetered,
)
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta
from llmgw_desktop.engine.calls.resilience import (
    CircuitBreaker,
    RetryPolicy,
    call_with_resilience,
)
from llmgw_desktop.engine.calls.routing import ConversationDirs, Resolved
from llmgw_desktop.engine.circuit import CircuitState
from llmgw_desktop.engine.errors import EngineError, ErrorCode
from llmgw_desktop.engine.events import BreakerChanged, EventBus
from llmgw_desktop.engine.jobs.live import JobContext, failed_calls_said
from llmgw_desktop.engine.providers.acp.gateway_env import pointed_arguments
from llmgw_desktop.engine.providers.base import ProviderRequest, ProviderResult
from llmgw_desktop.engine.providers.lifeline import JOB_MARKER_ENV, Lifeline
from llmgw_desktop.engine.providers.mcp_handoff import handoff_file
from llmgw_desktop.engine.providers.process import RunLimits
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.sessions import SessionStore
from llmgw_desktop.engine.states import RecordState, record_state_of
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage

if TYPE_CHECKING:
    from llmgw_desktop.engine.providers.auth_home import AuthFileSource

__all__ = ["CallWork", "PlannedCall"]


@dataclass(frozen=True)
class PlannedCall:
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
    # Its budget hold, and whether its CLI ran: what the row counts if it ends without usage.
    spend: CliSpend = field(default_factory=CliSpend)


class CallWork:
    """Runs a submitted call's attempts, one breaker per provider, and settles its turn."""

    def __init__(
        self,
        settings: Settings,
        *,
        catalog: ProviderCatalog,
        sessions: SessionStore,
        gate: ApprovalGate,
        recorder: FlightRecorder,
        events: EventBus,
        dirs: ConversationDirs,
        budgets: SpendGuard,
        prices: PriceBook,
        callbacks: AgentCallbacks,
        auth_files: AuthFileSource | None = None,
        lifeline: Lifeline | None = None,
    ) -> None:
        self._settings = settings
        self._callbacks = callbacks
        self._catalog = catalog
        self._sessions = sessions
        self._gate = gate
        self._recorder = recorder
        self._events = events
        self._dirs = dirs
        self._budgets = budgets
        self._prices = prices
        self._auth_files = auth_files
        self._lifeline = lifeline
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

    async def run(self, ctx: JobContext, run: PlannedCall) -> dict[str, Any]:
        """The job's work: the call's answer, its recorder row ended however the job ends.

        Raises:
            EngineError: the call failed (its row says so); BudgetExceeded when a budget was
                used up while it waited.
        """
        try:
            data = await self._attempts(ctx, run)
        except asyncio.CancelledError:
            # The same word as the job's own ending: `interrupted` when the gateway stops.
            ending = record_state_of(ctx.cancel_state)
            self._recorder.finish(
                run.record,
                state=ending,
                error_code=ending.value,
                attempts=ctx.attempt,
                **self._unreported(run),
            )
            raise
        except EngineError as error:
            # The job's own ending for the same error (`JobRuns.run`, `jobs/run.py`).
            stalled = error.code == ErrorCode.INTERRUPTED
            state = RecordState.INTERRUPTED if stalled else RecordState.FAILED
            self._recorder.finish(
                run.record,
                state=state,
                error_code=error.code,
                attempts=ctx.attempt,
                **self._unreported(run, error),
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
                self._prices.cost_note(
                    data.get("cost_source") if data.get("cost_usd") is not None else None
                ),
                run.meta.replay_of,
            ),
            optimization=data.pop("_optimization", None),
        )
        return data

    async def _attempts(self, ctx: JobContext, run: PlannedCall) -> dict[str, Any]:
        # Again now that the job leaves the queue: it may have waited there (or for a person's
        # approval) while other calls used the budget up. `run` ends its row as failed.
        meta = run.meta
        runs_for = run_for(
            self._callbacks,
            self._catalog,
            run.provider,
            run.params.model,
            run.principal,
            meta,
            run.executable,
        )
        route = await self._callbacks.choose(runs_for)
        basis = cli_cost_basis(run.provider, run.params.model, self._prices, routed=route.routed)
        self._budgets.check(run.principal, meta.caller, meta.project, basis)
        # A hard budget may have come to cover it while it waited (the desk, a key's budget).
        why = unmetered(self._catalog, run.provider, route=route)
        if why is not None:
            self._budgets.refuse_unmetered(
                run.principal, meta.caller, meta.project, run.provider, why
            )
        if route.routed:
            # Its model calls are each held and counted on their own rows: nothing to hold here.
            return await self._attempts_held(ctx, run, runs_for, route)
        # Held while the CLI runs; `run` counts the row right after (no await between).
        # A CLI cannot be told an output limit: it is held at its model's maximum output
        # where the table knows it, and admitted only where the budget has room for that.
        ask = cli_ask(
            self._catalog.info(run.provider), run.params.model, run.request.prompt, self._prices
        )
        hold = await self._budgets.reserve(run.principal, meta.caller, meta.project, ask)
        run.spend.ask, run.spend.hold = ask, hold
        with _held(hold):
            return await self._attempts_held(ctx, run, runs_for, route)

    def _unreported(self, run: PlannedCall, error: EngineError | None = None) -> dict[str, Any]:
        """The row's tokens and cost for a job that ended without the CLI's usage
        (`cli_spend.py`): its hold under a hard budget, or what the CLI said it cost."""
        fields = run.spend.unreported(error)
        if not fields:
            return {}
        source = fields.pop("cost_source")
        return fields | {"route": _cost_route(self._prices.cost_note(source), run.meta.replay_of)}

    async def _attempts_held(
        self, ctx: JobContext, run: PlannedCall, runs_for: RunFor, route: RouteChoice
    ) -> dict[str, Any]:
        directory, owned = run.resolved.working_dir, False
        if directory is None:
            directory, owned = await asyncio.to_thread(self._dirs.make), True
        cap = run.spend.cap_usd
        request = dataclasses.replace(
            run.request,
            working_dir=directory,
            max_budget_usd=cap,
            budget_price=None if cap is None or run.spend.ask is None else run.spend.ask.price,
        )
        # A routed run's model calls come back through the gateway as the caller, with a
        # connection key revoked when the job's runs end (`auth/agent_callbacks.py`); a budget
        # refusal of one of them ends the job with the gateway's words.
        with self._callbacks.opened(runs_for, route) as back:
            if back is not None:
                back.on_failure = functools.partial(_note_failed_call, ctx)
                back.on_wait = functools.partial(_note_waiting_calls, ctx)
            try:
                return await self._runs(ctx, run, request, directory, owned, back)
            except EngineError as error:
                if back is not None and back.refused is not None:
                    raise _refusal_of(back.refused) from None
                if back is not None and back.last_failure is not None:
                    raise _with_failed_calls(error, back) from None
                raise

    async def _runs(
        self,
        ctx: JobContext,
        run: PlannedCall,
        request: ProviderRequest,
        directory: Path,
        owned: bool,
        callback: Callback | None,
    ) -> dict[str, Any]:
        """The job's attempts, each one spawn of the agent, and the turn settled."""
        limits = self._limits(run.params)

        def progress(text: str, events: int, size: int) -> None:
            ctx.set_output(text)
            ctx.set_progress(events=events, outputBytes=size)

        # The job's id marks its processes, children included, for the start-up reaper.
        extra_env: dict[str, str] = {JOB_MARKER_ENV: ctx.job_id}
        # This CLI's share of the gateway's environment and, for an ACP agent, who answers it
        # and where its model calls go (`calls/acp_permissions.child_setup`).
        from llmgw_desktop.engine.calls.acp_permissions import ChildFor, child_setup
        from llmgw_desktop.engine.providers.cli_adapters import adapter_for
        from llmgw_desktop.engine.providers.invoke import invoke_once

        acp, environment = child_setup(
            self._settings,
            self._catalog,
            self._gate,
            ChildFor(
                run.provider,
                run.principal,
                run.meta,
                run.params.model,
                str(directory),
                held=request.held,
                auto_approve=request.permission_mode == "bypassPermissions",
                callback=callback,
            ),
        )
        run.spend.routed = callback is not None
        if callback is not None:
            pointed = pointed_arguments(run.provider, callback.pointing)
            request = dataclasses.replace(request, extra_args=(*request.extra_args, *pointed))
            if callback.model:  # told in its environment (`child_setup`): the run's model
                request = dataclasses.replace(request, model=callback.model, model_told=True)
                # The job's model from now on (its row showed none, or the agent's own
                # default, while every call asked this one): `desk_rows` reads it first.
                ctx.note_progress(model=callback.model)

        def started(pid: int, identity: str | None) -> None:
            run.spend.started = run.spend.attempt_started = True
            ctx.set_process(pid, identity)

        async def attempt(number: int) -> ProviderResult:
            ctx.set_attempt(number)
            run.spend.attempt_started = False
            # The spawn point holds a confined run to its table row again at each start.
            return await invoke_once(
                adapter_for(run.provider, self._catalog),
                request,
                run.executable,
                limits,
                environment=environment,
                isolate_env=self._settings.providers.isolate_env,
                on_progress=progress,
                on_start=started,
                extra_env=extra_env,
                lifeline=self._lifeline,
                acp=acp,
            )

        def on_retry(number: int, error: EngineError, delay: float) -> None:
            ctx.set_progress(lastError=error.code, retryInSeconds=round(delay, 2))

        result: ProviderResult | None = None
        try:
            async with (
                self._auth_environment(run) as auth_env,
                handoff_file(run.provider, request.mcp_servers, root=self._mcp_root) as mcp,
            ):
                extra_env.update(auth_env)
                # `attempt` reads `request` when it runs: it sees the servers' file.
                request = dataclasses.replace(request, mcp_config=mcp)
                result = await call_with_resilience(
                    attempt,
                    breaker=self.breakers[run.provider],
                    policy=self._policy,
                    on_retry=on_retry,
                    may_retry=run.spend.may_retry,
                )
        finally:
            if owned and (result is None or result.session_id is None):
                # Nothing to resume from a run that left no conversation: do not keep its dir.
                await asyncio.to_thread(shutil.rmtree, directory, True)
        return self._settle(ctx, run, result, directory, owned)

    def _settle(
        self,
        ctx: JobContext,
        run: PlannedCall,
        result: ProviderResult,
        directory: Path,
        owned: bool,
    ) -> dict[str, Any]:
        """This turn's usage and cost, the answer as asked for, and the session bookkeeping."""
        resolved = run.resolved
        choice = resolved.choice
        # A fork starts from its parent's totals (its history is the parent's), under a new id.
        continued = choice.resume_id == result.session_id or (choice.fork and choice.resume_id)
        resumed = resolved.known if continued else None
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
        if run.spend.routed:
            result = _counted_elsewhere(result)
        model = result.model or run.params.model
        estimate = None if run.spend.routed else self._prices.cost_of(model, turn)
        # Under a hard budget's hold a CLI's own count is taken only up to the gateway's price
        # of the tokens it says it used: OpenCode's list may lack the model, or a project's
        # config price it at nothing, and its row would be counted at $0 (SECURITY 73).
        held = run.spend.cap_usd is not None
        if estimate is not None and (
            # The table's costs are rounded to 1e-8: the same price summed is the same cost.
            result.cost_usd is None or (held and estimate > round(result.cost_usd, 8))
        ):
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

    @property
    def _mcp_root(self) -> Path:
        """Where the private files of a call's MCP servers are written."""
        return self._settings.data_path / "mcp-tmp"

    def _auth_environment(
        self, run: PlannedCall
    ) -> contextlib.AbstractAsyncContextManager[dict[str, str]]:
        routed_cli = run.spend.routed and not self._catalog.info(run.provider).speaks_acp
        if self._auth_files is None or routed_cli:
            # A CLI whose calls come back through the gateway is given no login of its own.
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

    def breaker_states(self) -> dict[str, dict[str, Any]]:
        """Each provider's breaker: its state, failures in a row, seconds until it retries."""
        return {pid: _breaker_state(b) for pid, b in self.breakers.items()}

    def breaker_state(self, provider: str) -> dict[str, Any] | None:
        """`provider`'s breaker as `breaker_states` gives it, None before its first call: one
        provider's health reads just its own (the window reads every provider's each second)."""
        breaker = self.breakers.get(provider)
        return None if breaker is None else _breaker_state(breaker)

    def _breaker_changed(self, provider: str, state: CircuitState, failures: int) -> None:
        self._events.publish(BreakerChanged(provider, state.value, failures))


@contextlib.contextmanager
def _held(hold: Hold) -> Iterator[None]:
    try:
        yield
    finally:
        hold.release()


def _cost_route(note: dict[str, str] | None, replay_of: str | None = None) -> dict[str, Any] | None:
    """A CLI row's route record: none of its own, only how its cost was found (`note`: the
    price book's `cost_note`, if it has a cost) and the row it re-sends (the recorder links the
    two by it)."""
    route = {"cost": note, "replayOf": replay_of}
    kept = {name: value for name, value in route.items() if value is not None}
    return kept or None


def _counted_elsewhere(result: ProviderResult) -> ProviderResult:
    """A routed run's result: its model calls' own rows hold its tokens and cost, so its job's
    row counts none of them again."""
    if not result.usage.total_tokens and result.cost_usd is None:
        return result
    return dataclasses.replace(
        result,
        usage=Usage(),
        cost_usd=None,
        cost_source=None,
        warnings=(*result.warnings, "tokens counted on the rows of its own model calls"),
    )


def _note_failed_call(ctx: JobContext, back: Callback) -> None:
    """A routed model call of the job failed at the gateway: its progress says how many have,
    and the last one's error, while the CLI retries them (quietly, for some)."""
    last = back.last_failure
    assert last is not None  # `AgentCallbacks.refused` set it
    ctx.note_progress(
        modelCallsFailed=back.failed_calls, lastModelCallError=f"{last.code}: {last.message}"
    )


def _note_waiting_calls(ctx: JobContext, back: Callback) -> None:
    """A routed model call of the job began or ended a wait for room in a hard budget: its
    progress says how many wait now (the job is not stuck, nor quiet for nothing)."""
    ctx.note_progress(modelCallsWaiting=back.waiting_calls)


def _with_failed_calls(error: EngineError, back: Callback) -> EngineError:
    """The job's error, saying its model calls failed at the gateway too: the CLI's own
    words about it may not say the gateway's. An agent pointed at the gateway has no login of
    its own to mend, so its "authentication failed" is the gateway's error, said first."""
    last = back.last_failure
    assert last is not None
    calls = "1 model call" if back.failed_calls == 1 else f"{back.failed_calls} model calls"
    if error.code == ErrorCode.AUTH_REQUIRED:
        said = copy.copy(last)
        said.message = f"{calls} of this job failed at the gateway, the last: {last.message}"
        if last.message not in error.message:  # the agent's words, where they add to it
            said.message += f" (the agent said: {error.message})"
        said.retryable = error.retryable  # the job's own attempts decide as they did
    else:
        said = copy.copy(error)
        failed = failed_calls_said(back.failed_calls, f"{last.code}: {last.message}")
        said.message = f"{error.message} ({failed})"
    said.args = (said.message,)
    # The job's own details (not the failed call's: the job's row is what they describe).
    said.details = {
        **error.details,
        "modelCallsFailed": back.failed_calls,
        "lastModelCallCode": last.code,
    }
    return said


def _refusal_of(refused: EngineError) -> EngineError:
    """The job's own error for a budget's refusal of one of its routed calls: the gateway's
    words, said of the job."""
    error = copy.copy(refused)
    error.message = f"a model call of this job was refused: {refused.message}"
    error.args = (error.message,)
    # Not the refused call's `requestId`: the job's error names the job's own row.
    error.details = {k: v for k, v in refused.details.items() if k != "requestId"}
    return error


def _breaker_state(breaker: CircuitBreaker) -> dict[str, Any]:
    open_now = breaker.state is CircuitState.OPEN
    return {
        "state": breaker.state.value,
        "consecutiveFailures": breaker.consecutive_failures,
        "retryAfterSeconds": round(breaker.retry_after_s(), 1) if open_now else 0,
    }
