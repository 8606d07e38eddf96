"""The engine facade: the one public surface the transports and the UI call.

It owns the store, the event bus and the background tasks, and holds the user's provider
switches. It never imports Qt; the desktop shell observes it through `events`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from llmgw_desktop import __version__
from llmgw_desktop.engine.approval import ApprovalGate
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.policy import plain_http_exposed
from llmgw_desktop.engine.auth.principals import LOCAL, Principal
from llmgw_desktop.engine.auth.service import AuthService
from llmgw_desktop.engine.cache_state import CacheState
from llmgw_desktop.engine.call_params import CallParams, RequestMeta
from llmgw_desktop.engine.calls import ProviderCalls
from llmgw_desktop.engine.errors import GatewayError, InvalidRequest, ProviderUnavailable
from llmgw_desktop.engine.events import (
    EngineStarted,
    EngineStopped,
    EventBus,
    Notice,
    PauseChanged,
    ProviderToggled,
    StoreHealthChanged,
)
from llmgw_desktop.engine.gateway.composition import build_gateway
from llmgw_desktop.engine.jobs.manager import JobLimits, JobManager, JobOrigin, Submitted
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.metrics import LiveMetrics
from llmgw_desktop.engine.metrics_history import rebuild_metrics
from llmgw_desktop.engine.providers.base import PromptParts
from llmgw_desktop.engine.providers.cli_catalog import PROVIDER_IDS, PROVIDERS
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.orphans import SavedGroup, stop_left_behind
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.recorder_query import RecorderQuery
from llmgw_desktop.engine.recorder_spill import RecorderSpill
from llmgw_desktop.engine.refusals import RefusalCounter
from llmgw_desktop.engine.sessions import SessionStore
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.health import check_store
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.validation.service import ValidationService
from llmgw_desktop.engine.vault import KeySource, Vault, default_key_sources
from llmgw_desktop.engine.workspaces import Workspace, WorkspaceRegistry
from llmgw_desktop.settings import Settings

__all__ = ["LOCAL_PRINCIPAL", "Engine", "EngineState", "ProviderState", "SettingsWriter"]

log = logging.getLogger(__name__)

# The principal of calls made on this machine without a token: stdio and the desktop UI.
LOCAL_PRINCIPAL = LOCAL
MAINTENANCE_EVERY_S = 3600.0
# At stop, background tasks that are not services (a progress write, a settings save) get this
# long to end by themselves; a stop must stay within about a second.
TASKS_STOP_GRACE_S = 0.5


class EngineState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


class SettingsWriter(Protocol):
    """Persists one setting (blocking); the engine calls it off the loop."""

    def update(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class ProviderState:
    id: str
    display_name: str
    enabled: bool


class Engine:
    """Starts and stops the gateway's core and answers the questions the front doors ask."""

    def __init__(
        self,
        settings: Settings,
        *,
        settings_writer: SettingsWriter | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        vault_key_sources: Sequence[KeySource] | None = None,
    ) -> None:
        self.settings = settings
        self.events = EventBus()
        self.tasks = TaskSupervisor()
        self.store = Database(settings.database_file)
        self.jobs = JobManager(
            JobStore(self.store),
            tasks=self.tasks,
            events=self.events,
            limits=JobLimits(
                max_running=settings.max_concurrent_jobs,
                max_running_per_provider=settings.max_concurrent_per_provider,
                max_queued=settings.max_queued_jobs,
                dedup_window_s=settings.dedup_window_ms / 1000,
                retention_days=settings.job_retention_days,
            ),
            clock=clock,
        )
        self.sessions = SessionStore(self.store, clock=clock)
        self.recorder = FlightRecorder(
            self.store,
            retention_days=settings.recorder_retention_days,
            max_rows=settings.recorder_max_rows,
            max_pending=settings.recorder_max_pending,
            spill=RecorderSpill(settings.data_path),
            clock=clock,
        )
        self.store.health.on_change = lambda reason: self.events.publish(StoreHealthChanged(reason))
        self.recorder.on_finish = self.events.publish
        # The edge's own refusals (bad credentials, rate limits ...): counted, not recorded.
        self.refusals = RefusalCounter(
            self.store, retention_days=settings.recorder_retention_days, clock=clock
        )
        self.recorder_query = RecorderQuery(self.store, self.recorder)
        self.metrics = LiveMetrics(self.events, clock=clock)
        self.approvals = ApprovalGate(
            allow_bypass=settings.allow_bypass,
            threshold=settings.approval_threshold,
            ask_at_desk=settings.approval_ask_at_desk,
            desk_timeout_s=settings.approval_desk_timeout_ms / 1000,
        )
        self.discovery = Discovery(
            search_path=settings.cli_path, cache_s=settings.version_cache_ms / 1000
        )
        # Ties every CLI's process group to this gateway's life (it dies if the gateway does).
        self.lifeline = Lifeline(stop_grace_s=settings.stop_grace_ms / 1000)
        environ = os.environ if environ is None else environ
        self.vault = Vault(
            self.store,
            default_key_sources(settings.data_path, environ)
            if vault_key_sources is None
            else vault_key_sources,
        )
        self.workspaces = WorkspaceRegistry(settings, self.store, environ=environ, clock=clock)
        self.calls = ProviderCalls(
            settings,
            jobs=self.jobs,
            sessions=self.sessions,
            discovery=self.discovery,
            events=self.events,
            ensure_available=self.ensure_provider_available,
            conversations_dir=settings.data_path / "conversations",
            gate=self.approvals,
            recorder=self.recorder,
            clock=clock,
            auth_files=self.vault,
            workspaces=self.workspaces,
            lifeline=self.lifeline,
        )
        self.jobs.set_resubmitter(self._call_again)
        self.cache = CacheState(
            self.store, self.recorder, anthropic_ttl_s=settings.anthropic_ttl_seconds, clock=clock
        )
        self.validation = ValidationService(
            self.calls, self.jobs, deadline_s=settings.sync_deadline_ms / 1000
        )
        self.auth = AuthService(settings, self.store, environ=environ, clock=clock)
        self.gateway = build_gateway(
            settings,
            calls=self.calls,
            jobs=self.jobs,
            recorder=self.recorder,
            vault=self.vault,
            cli_available=self.cli_unavailable,
            environ=environ,
            own_origins=lambda: set(self.own_origins),
        )
        # host:port pairs this gateway listens on (set by the runtime once bound), so a base
        # URL pointing back at us is never used as an upstream.
        self.own_origins: set[str] = set()
        self._settings_writer = settings_writer
        self._save_lock = asyncio.Lock()
        self._clock = clock
        self._disabled: set[str] = set(settings.disabled_providers)
        self._paused = False
        self.state = EngineState.STOPPED
        self.started_at: float | None = None
        self._check_stop = threading.Event()

    async def start(self) -> None:
        """Open the store and begin serving.

        Raises:
            StoreError: the database cannot be opened; nothing was started.
        """
        if self.state is not EngineState.STOPPED:
            raise RuntimeError(f"engine cannot start while {self.state.value}")
        self.state = EngineState.STARTING
        began = self._clock()
        self.tasks.reopen()
        self.lifeline.stopping = False
        self.gateway.stopping = False
        try:
            await self.store.open()
            # A locked vault (missing or wrong master key) is reported, never fatal: keys from
            # config and the environment still work, and nothing stored is touched.
            await self.vault.open()
            await self.auth.start()
            left_running = await self.jobs.start()
        except BaseException:
            await self.store.close()
            self.state = EngineState.STOPPED
            raise
        # Off the database thread and bounded: readiness never waits for it.
        self._check_stop = threading.Event()
        self.tasks.spawn(self._check_store(), name="store-check")
        self.tasks.spawn(self._maintain_forever(), name="maintenance", service=True)
        # Local servers and the API providers' model lists, kept fresh off the request path.
        self.tasks.spawn(
            self.gateway.directory.run_forever(), name="provider-directory", service=True
        )
        try:
            # Rows an earlier run spilled are replayed by the first flush (just below).
            await self.recorder.open()
            # After the jobs: a row whose job an earlier run finished takes the job's ending.
            await self.recorder.close_interrupted(self._clock())
        except Exception:  # the record of the past must not keep the gateway from serving
            log.exception("could not close the flight-recorder rows an earlier run left open")
        self.tasks.spawn(self.recorder.run_forever(), name="flight-recorder", service=True)
        self.tasks.spawn(self.refusals.run_forever(), name="refusal-counts", service=True)
        # Overview's last 24 h, from the rows earlier runs left (a background read).
        self.tasks.spawn(self._rebuild_metrics(began), name="rebuild-metrics")
        saved = [
            SavedGroup(job.job_id, job.process_group, job.process_identity)
            for job in left_running
            if job.process_group is not None and job.process_identity is not None
        ]
        if saved:
            self.tasks.spawn(
                stop_left_behind(saved, self.lifeline.stop_grace_s), name="stop-left-behind"
            )
        self.started_at = self._clock()
        self.state = EngineState.RUNNING
        log.info("engine started (version %s)", __version__)
        self.events.publish(EngineStarted(self.started_at))

    async def stop(self) -> None:
        """Finish background work (bounded), then close the store. Safe to call twice."""
        if self.state in (EngineState.STOPPED, EngineState.STOPPING):
            return
        self.state = EngineState.STOPPING
        self._check_stop.set()  # the store check must not hold up the close's checkpoint
        try:
            await self.interrupt_work()
            await self.tasks.shutdown(grace=TASKS_STOP_GRACE_S)
            await self.gateway.upstream.close()
            # Requests still open (an answer streaming when the front door closed) were cut by
            # the stop: their rows say so, in the same word as the jobs'.
            self.recorder.interrupt_open()
            await self.recorder.close()
            try:
                await self.refusals.close()
            except Exception:  # counts only: never a reason to fail the stop
                log.exception("could not write the last refusal counts")
            await self.lifeline.close()
        finally:
            await self.store.close()
            self.state = EngineState.STOPPED
            log.info("engine stopped")
            self.events.publish(EngineStopped())

    async def interrupt_work(self) -> None:
        """End every running job now as `interrupted`, partial output kept, CLI groups
        killed after the short stop grace. The first step of a stop; safe to call twice."""
        self.lifeline.stopping = True
        self.gateway.stopping = True
        await self.jobs.stop()

    # -- what /health and the window show -------------------------------------------------

    @property
    def uptime_seconds(self) -> float:
        return 0.0 if self.started_at is None else max(0.0, self._clock() - self.started_at)

    def health(self) -> dict[str, Any]:
        """Liveness facts safe to show anyone on this machine: no secrets, no paths."""
        status = "ok" if self.state is EngineState.RUNNING else self.state.value
        store_problem = self.store.health.reason
        if status == "ok" and store_problem is not None:
            status = "degraded"
        return {
            "service": "llmgw-desktop",
            "status": status,
            "version": __version__,
            "uptime_seconds": round(self.uptime_seconds, 3),
            "paused": self._paused,
            "vault": self.vault.status()["state"],
            # Reachable from the network without TLS in front: tokens travel in clear.
            "plain_http": plain_http_exposed(self.settings),
            # Requests the edge refused since start (auth, rate limits, bad bodies ...).
            "refused": self.refusals.health(),
            "store": {
                "state": "ok" if store_problem is None else "degraded",
                "reason": store_problem,
            },
            "recorder": self.recorder.status(),
        }

    async def _rebuild_metrics(self, before: float) -> None:
        try:
            replayed = await rebuild_metrics(self.store, self.metrics, before=before)
        except Exception:  # the charts start empty, as before; the gateway serves
            log.exception("could not read the last 24 h of requests back for the charts")
            return
        if replayed:
            log.info("charts rebuilt from %d recorded request(s) of the last 24 h", replayed)

    async def _check_store(self) -> None:
        """`PRAGMA quick_check` on a connection of its own, within a time budget."""
        problem = await check_store(self.store.path, self._check_stop)
        if problem is not None:
            self.store.health.report("integrity", problem)

    async def _maintain_forever(self) -> None:
        """Hourly: forget old conversations (and the dirs made for them), prune the recorder."""
        while True:
            try:
                cutoff = self._clock() - self.settings.job_retention_days * 86400
                removed = await self.calls.expire_conversations(cutoff)
                if removed:
                    log.info("forgot %d conversation(s) unused for the retention period", removed)
                pruned = await self.recorder.prune()
                if pruned:
                    log.info("pruned %d flight-recorder row(s)", pruned)
                await self.refusals.prune()
            except Exception:
                log.exception("maintenance failed")
            await asyncio.sleep(MAINTENANCE_EVERY_S)

    def process_health(self) -> dict[str, Any]:
        """Live jobs, limits, circuit breakers and switches: what `llm_process_health` shows."""
        return {
            "engine": self.health(),
            "jobs": self.jobs.health(),
            "breakers": self.calls.breaker_states(),
            "providers": {p.id: p.enabled for p in self.provider_states()},
            "backgroundTasks": len(self.tasks.running),
        }

    # -- provider switches -----------------------------------------------------------------

    def provider_states(self) -> list[ProviderState]:
        """Every known provider with whether the user has it switched on."""
        return [ProviderState(p.id, p.display_name, p.id not in self._disabled) for p in PROVIDERS]

    def is_provider_enabled(self, provider: str) -> bool:
        return provider not in self._disabled

    @property
    def paused(self) -> bool:
        return self._paused

    def set_provider_enabled(self, principal: Principal, provider: str, enabled: bool) -> None:
        """Switch one provider on or off and remember the choice in `config.toml`.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            InvalidRequest: `provider` is not a known provider id.
        """
        require(principal, Capability.PROVIDER_SWITCHES)
        if provider not in PROVIDER_IDS:
            raise InvalidRequest(
                f"unknown provider {provider!r}; known: {', '.join(PROVIDER_IDS)}",
                code="unknown_provider",
            )
        if (provider not in self._disabled) == enabled:
            return
        if enabled:
            self._disabled.discard(provider)
        else:
            self._disabled.add(provider)
        log.info("provider %s switched %s", provider, "on" if enabled else "off")
        self.events.publish(ProviderToggled(provider, enabled))
        self._save_disabled_providers()

    def set_paused(self, principal: Principal, paused: bool) -> None:
        """Pause or resume every provider at once, keeping each provider's own switch.

        Pausing lasts until resumed or the app quits; it is not written to the config.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
        """
        require(principal, Capability.PROVIDER_SWITCHES)
        if paused == self._paused:
            return
        self._paused = paused
        log.info("all providers %s", "paused" if paused else "resumed")
        self.events.publish(PauseChanged(paused))

    def ensure_provider_available(self, provider: str) -> None:
        """Check the user lets `provider` run now; every provider call starts here.

        Raises:
            InvalidRequest: `provider` is not a known provider id.
            ProviderUnavailable: the provider is switched off (`provider_disabled`) or the
                gateway is paused (`gateway_paused`).
        """
        if provider not in PROVIDER_IDS:
            raise InvalidRequest(f"unknown provider {provider!r}", code="unknown_provider")
        if self._paused:
            raise ProviderUnavailable(
                "all providers are paused; resume them from the tray or the window menu",
                code="gateway_paused",
                provider=provider,
            )
        if provider in self._disabled:
            raise ProviderUnavailable(
                f"provider {provider!r} is switched off; switch it on from the tray or the "
                "window menu (or remove it from providers.disabled in config.toml)",
                code="provider_disabled",
                provider=provider,
            )

    async def cli_unavailable(self, provider: str) -> GatewayError | None:
        """Why `provider`'s CLI cannot run now (off, paused, not installed), or None."""
        try:
            self.ensure_provider_available(provider)
        except GatewayError as exc:
            return exc
        if await self.discovery.locate(provider) is None:
            info = next(p for p in PROVIDERS if p.id == provider)
            return ProviderUnavailable(
                f"{info.display_name} is not installed; install it with: {info.install_command}",
                code="not_installed",
                provider=provider,
            )
        return None

    @property
    def can_save_settings(self) -> bool:
        """Whether `save_setting` has a settings file to write to."""
        return self._settings_writer is not None

    async def save_setting(self, principal: Principal, key: str, value: Any) -> None:
        """Write one already-checked setting to the settings file (the dashboard's Settings
        page); the running engine keeps its value until the next start. Shares the provider
        switches' lock, so two writes never interleave their read-modify-write of the file.

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            RuntimeError: this engine was built without a settings file.
            OSError: the file cannot be read or written.
        """
        require(principal, Capability.SETTINGS)
        writer = self._settings_writer
        if writer is None:
            raise RuntimeError("this gateway was started without a settings file to save to")
        async with self._save_lock:
            await asyncio.to_thread(writer.update, key, value)
        log.info("saved setting %s to the settings file", key)

    async def _call_again(self, origin: JobOrigin) -> Submitted:
        """Submit a stored job's provider call as a new call: the desk's Retry (approval,
        recorder and job as for any call, as the job's own principal).

        Raises:
            InvalidRequest: the stored request is not a provider call's, or a remote caller's
                directory is no longer one of its workspaces (code `not_rebuildable`).
            GatewayError: whatever submitting the call raises.
        """
        params = _params_from_request(origin.request, origin.correlation_id)
        if params.working_dir is not None and origin.principal != LOCAL:
            # A remote call names a workspace, never a directory: find the one it ran in.
            visible = await self.workspaces.visible(origin.principal)
            name = await asyncio.to_thread(_workspace_at, visible, params.working_dir)
            if name is None:
                raise InvalidRequest(
                    f"job {origin.job_id} ran in a directory that is no longer one of "
                    f"{origin.principal}'s workspaces",
                    code="not_rebuildable",
                )
            params = dataclasses.replace(params, working_dir=None, workspace=name)
        meta = RequestMeta(transport="desktop", tool="retry", caller=origin.caller)
        return await self.calls.submit(origin.provider, params, origin.principal, meta)

    def _save_disabled_providers(self) -> None:
        if self._settings_writer is None or self.state is not EngineState.RUNNING:
            return
        self.tasks.spawn(self._write_disabled_providers(), name="save-provider-switches")

    async def _write_disabled_providers(self) -> None:
        writer = self._settings_writer
        assert writer is not None
        # The lock keeps writes in order; each writes the latest state, so the last one wins.
        async with self._save_lock:
            value = [p for p in PROVIDER_IDS if p in self._disabled]
            try:
                await asyncio.to_thread(writer.update, "providers.disabled", value)
            except Exception as exc:
                log.exception("could not save the provider switches")
                self.events.publish(
                    Notice("warning", f"Could not save the provider switches: {exc}")
                )


def _params_from_request(request: Mapping[str, Any], correlation_id: str | None) -> CallParams:
    """A provider call's parameters from its job's stored arguments (`CallParams.canonical`).

    Raises:
        InvalidRequest: the arguments are not a provider call's (code `not_rebuildable`).
    """
    try:
        parts = request["promptParts"]
        return CallParams(
            prompt=request["prompt"],
            prompt_parts=None if parts is None else PromptParts(**parts),
            model=request["model"],
            session_id=request["sessionId"],
            resume_latest=bool(request["resumeLatest"]),
            create_new_session=bool(request["createNewSession"]),
            fork=bool(request["fork"]),
            permission_mode=request["permissionMode"],
            allowed_tools=tuple(request["allowedTools"]),
            disallowed_tools=tuple(request["disallowedTools"]),
            working_dir=request["workingDir"],
            timeout_ms=request["timeoutMs"],
            idle_timeout_ms=request["idleTimeoutMs"],
            # A retry runs anew, even where an identical call has since succeeded.
            force_refresh=True,
            correlation_id=correlation_id,
        )
    except (KeyError, TypeError) as exc:
        raise InvalidRequest(
            f"the stored request is not a provider call the gateway can rebuild ({exc!r})",
            code="not_rebuildable",
        ) from exc


def _workspace_at(workspaces: Sequence[Workspace], directory: str) -> str | None:
    """The name of the workspace whose (resolved) path is `directory`. Touches the disk."""
    for workspace in workspaces:
        if os.path.realpath(workspace.path) == directory:
            return workspace.name
    return None
