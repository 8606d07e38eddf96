"""Provider calls: validate a request, pick its conversation and directory, submit it as a job.

Every call is a job (see `jobs/manager.py`). This module is the way in: who may make the call
(a gateway key's scope, the project, the budgets, a remote caller's workspace), what the
approval gate says, and the job it becomes. Every call gets a flight-recorder row, refused ones
included. What the job then runs (the attempts, the budget hold, the turn's usage and cost) is
`call_work.py`.

What only a call needs (the CLI adapters and their parsers, the prompt's token counts, the
CLI's auth files) is imported when a call comes, not with this module: a gateway start builds
this service but serves HTTP dialects first (`tests/test_startup_imports.py`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.config.upstream_mcp import UpstreamServerConfig, parse_servers
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks
from llmgw_desktop.engine.auth.connection_keys import ConnectionKeys
from llmgw_desktop.engine.auth.principals import LOCAL as LOCAL_PRINCIPAL
from llmgw_desktop.engine.budgets.holds import NO_BUDGETS, SpendGuard
from llmgw_desktop.engine.calls.approval import ApprovalDecision, ApprovalGate, ApprovalRequest
from llmgw_desktop.engine.calls.call_work import CallWork, PlannedCall
from llmgw_desktop.engine.calls.cli_spend import cli_cost_basis, run_for, unmetered
from llmgw_desktop.engine.calls.params import CallParams, RequestMeta, record_fields
from llmgw_desktop.engine.calls.remote_gate import RemotePowerGate
from llmgw_desktop.engine.calls.routing import ConversationDirs, ConversationRouter, Resolved
from llmgw_desktop.engine.errors import (
    ApprovalDenied,
    EngineError,
    ErrorCode,
    InvalidRequest,
    ProviderUnavailable,
)
from llmgw_desktop.engine.events import EventBus
from llmgw_desktop.engine.gateway.results import CallerInfo
from llmgw_desktop.engine.gateway.same_dialect.remote_passthrough import RemotePassthrough
from llmgw_desktop.engine.guard.service import OutboundGuard
from llmgw_desktop.engine.jobs.live import JobContext, JobSpec, Submitted
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.jobs.model import JobState
from llmgw_desktop.engine.providers.base import Held, ProviderRequest
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.mcp_handoff import WRITTEN_AT_START, servers_for
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.sessions import SessionStore
from llmgw_desktop.engine.states import RecordState, record_state_of
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.workspaces import Confinement, WorkspaceRegistry

if TYPE_CHECKING:
    from llmgw_desktop.engine.providers.auth_home import AuthFileSource

__all__ = ["ProviderCalls"]

log = logging.getLogger(__name__)


class ProviderCalls:
    """Submits provider calls as jobs (their work: `CallWork`, one breaker per provider)."""

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
        project_access: Callable[[str, str | None], None],
        target_access: Callable[[str, str, str], EngineError | None],
        clock: Callable[[], float] = time.time,
        auth_files: AuthFileSource | None = None,
        workspaces: WorkspaceRegistry | None = None,
        lifeline: Lifeline | None = None,
        budgets: SpendGuard | None = None,
        prices: PriceBook | None = None,
        callbacks: AgentCallbacks | None = None,
        guard: OutboundGuard | None = None,
    ) -> None:
        """`guard` reads a call's prompt for secrets before its CLI is given it (`[guard]`);
        `budgets` refuses a call a used-up hard budget covers, or a hard dollar budget one it
        could not count, and holds a running call's estimate (`engine/budgets/ledger.py`);
        `project_access(principal, project)` raises
        `ProjectForbidden` when the principal was not granted the project
        (`engine/auth/projects.py`)."""
        self._settings = settings
        self._guard = guard
        # The engine's prices (the person's over the bundled table): a run's estimated cost.
        self._prices = prices or PriceBook()
        self._budgets = budgets or NO_BUDGETS
        self._project_access = project_access
        # (principal, provider, model) -> the refusal when a gateway key's scope leaves the CLI
        # (or the model asked of it) out (`engine/auth/key_scope.py`).
        self._target_access = target_access
        self._workspaces = workspaces
        # Where the agents it starts call their models back (nowhere without a door).
        self._callbacks = callbacks or AgentCallbacks(
            ConnectionKeys(), covered=self._budgets.covers, keyed=_no_key
        )
        # Which remote callers the operator lets fetch web addresses (`web_fetch`): their
        # agents' fetches too (`permission_check.py`).
        passthrough = settings.gateway.remote_passthrough
        self._passthrough = RemotePassthrough(passthrough.allow, passthrough.principals)
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
        self._ensure_available = ensure_available
        self.conversation_dirs = ConversationDirs(conversations_dir, sessions)
        self._work = CallWork(
            settings,
            catalog=catalog,
            sessions=sessions,
            gate=gate,
            recorder=recorder,
            events=events,
            dirs=self.conversation_dirs,
            budgets=self._budgets,
            prices=self._prices,
            callbacks=self._callbacks,
            auth_files=auth_files,
            lifeline=lifeline,
        )
        # One circuit breaker per provider (`call_work.py` runs the attempts through them).
        self.breakers = self._work.breakers

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
                its model, or no model named for a CLI that does not report its cost), or a
                hard budget covers it and its CLI's model calls cannot come back through the
                gateway (`cli_spend.unmetered`, `reason` unmetered_cli).
        """
        meta = meta or RequestMeta()
        self._check_admissible(provider, params, principal, meta)
        await self._check_budget(provider, params, principal, meta)
        asked_workspace = params.workspace or ""  # anchoring resolves it to a directory
        params, servers, optimization = await self._prepared(provider, params, principal, meta)
        confinement = await self._power.check(provider, params, principal, meta)
        decision = await self._decide(provider, params, principal, meta, asked_workspace)
        from llmgw_desktop.engine.calls.token_savings import stable_prefix

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
            submitted, resolved = await self._start_decided(
                provider,
                params,
                principal,
                meta,
                record,
                decision,
                optimization,
                confinement=confinement,
                servers=servers,
            )
        except EngineError as error:
            denied = isinstance(error, ApprovalDenied)
            state = RecordState.DENIED if denied else RecordState.REFUSED
            self._recorder.finish(record, state=state, error_code=error.code)
            # The refusal names its row, so the caller can find it in the recorder.
            error.details.setdefault("requestId", record)
            raise
        except BaseException as exc:
            # The caller left (its request cancelled) while the call was being started, or a
            # bug: no job runs for it (`JobManager.submit` ends one whose row was written), so
            # nothing else would end its row, which stayed `started` for good.
            cancelled = isinstance(exc, asyncio.CancelledError)
            self._recorder.finish(
                record,
                state=RecordState.CANCELED if cancelled else RecordState.FAILED,
                error_code=ErrorCode.CANCELED if cancelled else ErrorCode.INTERNAL_ERROR,
            )
            raise
        self._recorder.update(
            record, job_id=submitted.job_id, session_id=resolved.gateway_session_id
        )
        if submitted.attached:
            self._recorder.finish(record, state=RecordState.DEDUPED)
        return dataclasses.replace(submitted, record_id=record)

    def _check_admissible(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> None:
        """Refuse, before anything is prepared or asked, a call outside the caller's gateway
        key, of a provider switched off or that is not a coding CLI, or in a project the
        principal was not granted (`submit` names what each raises)."""
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

    async def _prepared(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> tuple[CallParams, tuple[UpstreamServerConfig, ...], dict[str, Any]]:
        """The call as it will be put to the approval gate: its workspace anchored and its
        parameters validated, the MCP servers it hands the CLI, its prompt optimized (when
        asked; with what the optimization did) and passed by the outbound guard.

        Raises:
            InvalidRequest: a parameter, workspace or MCP server asked for is not acceptable.
            NotFound: the workspace named does not exist for this principal.
            SecretDetected, RequestUnscanned: the outbound guard refused the prompt (a refused
                row).
        """
        params = await self._anchored(provider, params, principal, meta.caller)
        # Validation looks at the working directory on disk: do it off the loop.
        params = await asyncio.to_thread(params.validated)
        # The MCP servers it hands the CLI, checked before anyone is asked to approve it.
        configured = parse_servers(self._settings.mcp.servers)
        servers = servers_for(provider, params.mcp_servers, configured)
        optimization: dict[str, Any] = {}
        from llmgw_desktop.engine.calls.token_savings import optimize_prompt

        if meta.optimize_prompt:
            # Off the loop: counting tokens is CPU work (and the first count loads the BPE).
            params, optimization = await asyncio.to_thread(optimize_prompt, params, provider)
        params = await self._check_secrets(provider, params, principal, meta)
        return params, servers, optimization

    async def _decide(
        self,
        provider: str,
        params: CallParams,
        principal: str,
        meta: RequestMeta,
        asked_workspace: str,
    ) -> ApprovalDecision:
        """The approval gate's decision on the call as it will run (`asked_workspace`: the
        workspace the caller named, before it was resolved to a directory)."""
        strategy = _strategy_for(principal, meta)
        return await self._gate.decide(
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
                # Scored because the caller is remote, not because it asked for `mcp_managed`:
                # it runs at the mode it asked for, never raised to the accept-edits rung.
                ladder=strategy == meta.approval_strategy,
            )
        )

    async def _start_decided(
        self,
        provider: str,
        params: CallParams,
        principal: str,
        meta: RequestMeta,
        record: str,
        decision: ApprovalDecision,
        optimization: dict[str, Any],
        *,
        confinement: Confinement | None,
        servers: tuple[UpstreamServerConfig, ...],
    ) -> tuple[Submitted, Resolved]:
        """Start the call as a job if the gate allowed it, at the permission mode it decided
        (lowered to what a remote caller's grant confines it to).

        Raises:
            ApprovalDenied: the approval gate refused it.
            EngineError: what `_start` raises (not installed, saturated ...).
        """
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
        return await self._start(
            provider,
            params,
            principal,
            meta,
            record,
            decision,
            optimization,
            held=self._held(confinement, principal),
            confined=decision.confined,
            notices=[] if clamped is None else [{"code": "remote_power", "message": clamped}],
            servers=servers,
        )

    def _start_record(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta, **more: Any
    ) -> str:
        """Open the call's flight-recorder row with what every row of a provider call names."""
        return self._recorder.start(**record_fields(provider, params, principal, meta), **more)

    def _refused(
        self,
        error: EngineError,
        provider: str,
        params: CallParams,
        principal: str,
        meta: RequestMeta,
    ) -> EngineError:
        """`error`, once the call's refused row is written and named in its details."""
        record = self._start_record(provider, params, principal, meta)
        self._recorder.finish(record, state=RecordState.REFUSED, error_code=error.code)
        error.details.setdefault("requestId", record)
        return error

    def _check_key_scope(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> None:
        """Refuse a CLI (or a model asked of it) outside a gateway key's scope, before
        anything else is looked at; the refusal is a refused row."""
        # A key names a CLI as the gateway's routes do (`claude-cli`, `mistral-cli`), not by
        # its engine id: `mistral` is Mistral's API there, and `claude-cli/*` has to reach
        # Claude Code by every door (SECURITY 46).
        named = self._catalog.bridge_of(provider).id if provider in self._catalog else provider
        outside = self._target_access(principal, named, params.model or "")
        if outside is None:
            return
        raise self._refused(outside, provider, params, principal, meta)

    def _check_project(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> None:
        """Refuse a project the principal was not granted before its logins or budget are
        touched; the refusal is a refused row."""
        try:
            self._project_access(principal, meta.project)
        except EngineError as error:
            self._refused(error, provider, params, principal, meta)
            raise

    async def _check_budget(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> None:
        """Refuse before anything runs (no approval asked, no CLI spawned); the refusal is a
        refused row that spent nothing (no provider was asked)."""
        try:
            run = run_for(self._callbacks, self._catalog, provider, params.model, principal, meta)
            route = await self._callbacks.choose(run)
            basis = cli_cost_basis(provider, params.model, self._prices, routed=route.routed)
            self._budgets.check(principal, meta.caller, meta.project, basis)
            why = unmetered(self._catalog, provider, route=route)
            if why is not None:
                self._budgets.refuse_unmetered(principal, meta.caller, meta.project, provider, why)
        except EngineError as error:
            self._refused(error, provider, params, principal, meta)
            raise

    async def _check_secrets(
        self, provider: str, params: CallParams, principal: str, meta: RequestMeta
    ) -> CallParams:
        """The call as its CLI may be given it, by the outbound guard (`[guard]`): as asked,
        or with each secret of its prompt replaced by a placeholder; a refusal is a refused
        row. The CLI's answer is its own (a CLI works on this machine and may write the real
        value itself), so placeholders in it are not put back."""
        if self._guard is None or meta.guarded:
            return params
        parts = params.prompt_parts
        prompt = (
            {"prompt": params.prompt or ""}
            if parts is None
            else {"system": parts.system, "tools": parts.tools, "context": parts.context}
            | {"task": parts.task}
        )
        who = CallerInfo(principal, meta.caller, meta.project, meta.tool, meta.transport)
        decision = await self._guard.for_call(provider, prompt, who, meta.record_id or "")
        if decision.refusal is not None:
            raise self._refused(decision.refusal, provider, params, principal, meta)
        redaction = decision.redaction
        if redaction is None:
            return params
        if parts is None:
            return dataclasses.replace(params, prompt=redaction.text(params.prompt or ""))
        redacted = dataclasses.replace(
            parts,
            system=redaction.text(parts.system),
            tools=redaction.text(parts.tools),
            context=redaction.text(parts.context),
            task=redaction.text(parts.task),
        )
        return dataclasses.replace(params, prompt_parts=redacted)

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
        held: Held | None,
        confined: bool,
        notices: list[dict[str, Any]],
        servers: tuple[UpstreamServerConfig, ...] = (),
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
            confined=held is not None or confined,
            held=held,
            mcp_servers=servers,
            mcp_config=WRITTEN_AT_START if servers else None,  # the run writes the file
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
        run = PlannedCall(
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
            return await self._work.run(ctx, run)

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
            unstarted=lambda state: self._unstarted(record, state),
        )
        return await self._jobs.submit(spec, force_refresh=params.force_refresh), resolved

    def _held(self, confinement: Confinement | None, principal: str) -> Held | None:
        """The grant a remote caller's run is held to (None: the local user, or `bypass`)."""
        if confinement is None or not confinement.confined:
            return None
        return Held(
            confinement.grant.level, may_fetch=self._passthrough.allowed(principal, "web_fetch")
        )

    def _unstarted(self, record: str, state: JobState) -> None:
        """The job ended in the queue, before its work (which ends the row) began: its row
        ends as the job did, nothing spent."""
        ending = record_state_of(state)
        self._recorder.finish(record, state=ending, error_code=ending.value)

    def _overruled(self, record: str, state: JobState) -> None:
        """The store kept another ending for the job (a peer ended it while this process
        stalled): the call's row says the same, whatever the CLI did here."""
        ending = record_state_of(state)
        self._recorder.update(record, state=ending, error_code=ending.value)

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

    async def expire_conversations(self, used_before: float) -> int:
        """Forget conversations unused since `used_before` and delete the dirs the gateway made."""
        return await self.conversation_dirs.expire(used_before)

    def breaker_states(self) -> dict[str, dict[str, Any]]:
        """Each provider's breaker: its state, failures in a row, seconds until it retries."""
        return self._work.breaker_states()

    def breaker_state(self, provider: str) -> dict[str, Any] | None:
        """`provider`'s breaker alone, None before its first call."""
        return self._work.breaker_state(provider)


async def _no_key(_provider: str, _project: str | None) -> bool:
    """Calls built without the gateway's keys (no gateway): none to route a CLI's calls on."""
    return False


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
