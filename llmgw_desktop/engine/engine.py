"""The engine's composition root: builds every part once, wires them by their constructors,
starts and stops them, and holds the services the front doors use (listed, with the names they
may import, in `engine/api.py`). It never imports Qt; the desktop observes it through `events`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from llmgw_desktop import __version__
from llmgw_desktop.config.budgets import parse_budgets
from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.config.upstream_mcp import parse_servers
from llmgw_desktop.engine.auth.gateway_keys import GatewayKeys
from llmgw_desktop.engine.auth.policy import plain_http_exposed
from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.auth.projects import ProjectGrants
from llmgw_desktop.engine.auth.service import AuthService
from llmgw_desktop.engine.budgets.definition import budget_zone
from llmgw_desktop.engine.budgets.ledger import BudgetLedger
from llmgw_desktop.engine.budgets.service import Budgets
from llmgw_desktop.engine.calls import ApprovalGate, CallRunner, ProviderCalls
from llmgw_desktop.engine.events import (
    EngineStarted,
    EngineStopped,
    EventBus,
    RequestFinished,
    StoreHealthChanged,
)
from llmgw_desktop.engine.gateway.composition import build_gateway, gateway_config_of
from llmgw_desktop.engine.gateway.playground import Playground
from llmgw_desktop.engine.gateway.provider_editor import ProviderEditor
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.manager import JobLimits, JobManager
from llmgw_desktop.engine.jobs.retry import JobRetry
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.metrics import (
    CallHealth,
    GaugeSources,
    LiveMetrics,
    ScrapeFigures,
    rebuild_metrics,
)
from llmgw_desktop.engine.providers.accounts import CliAccounts
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.orphans import SavedGroup, stop_left_behind
from llmgw_desktop.engine.providers.service import ProvidersService
from llmgw_desktop.engine.providers.switches import ProviderSwitches
from llmgw_desktop.engine.providers.trouble import ProviderTrouble
from llmgw_desktop.engine.recorder import (
    BodyCapture,
    CacheState,
    CapturePolicy,
    FlightRecorder,
    RecorderJournal,
    RecorderQuery,
    RecorderSpill,
    RefusalCounter,
)
from llmgw_desktop.engine.redact import known_secrets
from llmgw_desktop.engine.sessions import SessionStore
from llmgw_desktop.engine.settings_saver import SettingsSaver, SettingsWriter
from llmgw_desktop.engine.shares import FairShare
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.location import store_password
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.telemetry import start_telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook, parse_prices
from llmgw_desktop.engine.tokens.price_settings import PriceSettings
from llmgw_desktop.engine.upstream_mcp.service import UpstreamServers
from llmgw_desktop.engine.validation.service import ValidationService
from llmgw_desktop.engine.vault import KeySource, Vault, default_key_sources
from llmgw_desktop.engine.workspaces import WorkspaceRegistry

__all__ = ["LOCAL_PRINCIPAL", "Engine", "EngineState"]

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


class Engine:
    """Starts and stops the gateway's core and holds its services: the composition root.

    Every part is built here, once, and handed what it needs through its constructor; the
    front doors and the desk reach the parts only through the services named in `engine/api.py`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        settings_writer: SettingsWriter | None = None,
        instance_token: str = "",
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        vault_key_sources: Sequence[KeySource] | None = None,
    ) -> None:
        """`instance_token` is this instance's (from `instance.json`): it proves the local
        user to the HTTP door; `settings_writer` saves what the desk changes to `config.toml`
        (None: nothing is saved)."""
        self.settings = settings
        environ = os.environ if environ is None else environ
        # The process's own secrets, masked by the redactor wherever it runs (the vault's
        # master key is added where it is read).
        known_secrets.add(
            settings.http.auth_token,
            settings.http.oauth.registration_secret,
            settings.metrics.scrape_token,
            *settings.otel.headers.values(),
            store_password(settings.store.url),
            environ.get("PGPASSWORD", ""),
            environ.get("LLM_GATEWAY_MASTER_KEY", "").strip(),
        )
        self._clock = clock
        # Every CLI and ACP agent this run offers: the shipped ones and those
        # `[providers.acp.NAME]` adds (the settings check accepted the tables).
        self.catalog = ProviderCatalog.of(settings.providers.acp)
        self.events = EventBus()
        self.tasks = TaskSupervisor()
        self.store = Database(
            settings.database_file,
            url=settings.store.url,
            on_health_change=lambda reason: self.events.publish(StoreHealthChanged(reason)),
        )
        self.settings_saver = SettingsSaver(settings_writer)
        # What every part prices by: the bundled table with the person's prices on top (the
        # settings check accepted them); the Settings page changes them while running.
        self.prices = PriceBook(user=parse_prices(settings.gateway.prices))
        self.price_settings = PriceSettings(self.prices, self.settings_saver)
        # This process's lease on the store: how other gateway processes sharing it tell that
        # it is alive (and, once it is not, end what it left running). Wall time, always:
        # leases are compared across processes.
        # Ties every CLI's process group to this gateway's life (it dies if the gateway does),
        # and a job's CLI to this process's lease (stopped before a peer can take it for dead).
        self.lifeline = Lifeline(stop_grace_s=settings.providers.stop_grace_ms / 1000)
        lease_s = settings.jobs.lease_ms / 1000
        self.leases = JobLeases(
            self.store,
            lease_s=lease_s,
            on_held=lambda held_until: self.lifeline.keep_until(held_until, lease_s),
        )
        self.jobs = JobManager(
            JobStore(self.store),
            tasks=self.tasks,
            events=self.events,
            limits=JobLimits(
                max_running=settings.jobs.max_concurrent,
                max_running_per_provider=settings.jobs.max_concurrent_per_provider,
                max_queued=settings.jobs.max_queued,
                share=FairShare(
                    settings.jobs.principal_share_percent, "jobs.principal_share_percent"
                ),
                dedup_window_s=settings.jobs.dedup_window_ms / 1000,
                retention_days=settings.jobs.retention_days,
                stuck_after_s=settings.jobs.stuck_after_ms / 1000,
            ),
            clock=clock,
            leases=self.leases,
        )
        self.sessions = SessionStore(self.store, clock=clock, catalog=self.catalog)
        # OpenTelemetry export (the no-op unless otel.enabled: no SDK is imported then).
        self.telemetry = start_telemetry(settings, self.events, environ)
        # The request bodies the person chose to keep (`[recorder.capture]`; off by default).
        self.body_capture = BodyCapture(self.store, CapturePolicy.of(settings), clock=clock)
        self.recorder = FlightRecorder(
            self.store,
            retention_days=settings.recorder.retention_days,
            max_rows=settings.recorder.max_rows,
            max_pending=settings.recorder.max_pending,
            spill=RecorderSpill(settings.data_path),
            journal=RecorderJournal(settings.data_path),
            on_finish=self.events.publish,
            clock=clock,
            process_id=self.leases.process_id,
            trace_of=self.telemetry.trace_id,
            bodies=self.body_capture,
        )
        # The edge's own refusals (bad credentials, rate limits ...): counted, not recorded.
        self.refusals = RefusalCounter(
            self.store, retention_days=settings.recorder.retention_days, clock=clock
        )
        self.events.subscribe(RequestFinished, self.refusals.note_recorded)
        self.recorder_query = RecorderQuery(self.store, self.recorder)
        # Spend per budget, counted from the recorder's finished rows; checked before every
        # CLI run and upstream call (the settings check already accepted the tables).
        self.budget_ledger = BudgetLedger(
            parse_budgets(settings.budgets),
            store=self.store,
            recorder=self.recorder,
            events=self.events,
            spawn=lambda coro: self.tasks.spawn(coro, name="budget-settle"),
            process_id=self.leases.process_id,
            clock=clock,
            # Every process on a shared store counts in one calendar: its periods' starts are
            # the keys the store counts spend under.
            zone=budget_zone(settings.store.budget_timezone, shared_store=bool(settings.store.url)),
        )
        self.budgets = Budgets(self.budget_ledger, self.settings_saver)
        # Gateway keys: each its own principal, scoped, budgeted and rate limited; looked up
        # in the store on every request, so a revocation anywhere counts at once.
        self.keys = GatewayKeys(
            self.store,
            ledger=self.budget_ledger,
            spawn=lambda coro: self.tasks.spawn(coro, name="gateway-key-used"),
            clock=clock,
        )
        # Which remote principals may name which project (its keys, logins and budgets).
        self.project_grants = ProjectGrants(
            settings.projects.grants, key_projects=self.keys.projects_of
        )
        self.metrics = LiveMetrics(self.events, clock=clock, prices=self.prices)
        # Each provider's health from its recent calls (error rate, failures in a row, latency).
        self.provider_health = CallHealth(self.events, clock=clock)
        self.approvals = ApprovalGate(
            allow_bypass=settings.approval.allow_bypass,
            threshold=settings.approval.threshold,
            ask_at_desk=settings.approval.ask_at_desk,
            desk_timeout_s=settings.approval.desk_timeout_ms / 1000,
        )
        self.discovery = Discovery(
            search_path=settings.providers.cli_path,
            cache_s=settings.providers.version_cache_ms / 1000,
            catalog=self.catalog,
        )
        # Read once: the switches offer one per API provider, the gateway routes by it.
        gateway_config = gateway_config_of(settings, self.catalog)
        self.switches = ProviderSwitches(
            settings.providers.disabled,
            api_providers=list(gateway_config.providers.values()),
            discovery=self.discovery,
            events=self.events,
            saver=self.settings_saver,
            tasks=self.tasks,
            saving=lambda: self.state is EngineState.RUNNING,
        )
        self.vault = Vault(
            self.store,
            default_key_sources(settings.data_path, environ)
            if vault_key_sources is None
            else vault_key_sources,
        )
        self.workspaces = WorkspaceRegistry(settings, self.store, environ=environ, clock=clock)
        # The user's own MCP servers, offered on /mcp beside ours (none start until used).
        self.upstream_mcp = UpstreamServers(
            parse_servers(settings.mcp.servers),
            lifeline=self.lifeline,
            tasks=self.tasks,
            secret=self._vault_secret,
            recorder=self.recorder,
            approvals=self.approvals,
            record_arguments=settings.mcp.record_arguments,
            list_wait_s=settings.mcp.list_wait_ms / 1000,
            start_timeout_s=settings.mcp.start_timeout_ms / 1000,
            max_tools=settings.mcp.max_tools_per_server,
            version=__version__,
            saver=self.settings_saver,
            vault=self.vault,
        )
        self.calls = ProviderCalls(
            settings,
            jobs=self.jobs,
            sessions=self.sessions,
            discovery=self.discovery,
            events=self.events,
            ensure_available=self.switches.ensure_available,
            conversations_dir=settings.data_path / "conversations",
            gate=self.approvals,
            recorder=self.recorder,
            clock=clock,
            auth_files=self.vault,
            workspaces=self.workspaces,
            lifeline=self.lifeline,
            budgets=self.budget_ledger,
            project_access=self.project_grants.require,
            target_access=self.keys.target_refusal,
            prices=self.prices,
        )
        # Every front door runs calls through this one rule: wait up to the sync deadline,
        # else answer deferred with the job id.
        self.runner = CallRunner(
            self.calls, self.jobs, deadline_s=settings.jobs.sync_deadline_ms / 1000
        )
        self.job_retry = JobRetry(
            jobs=self.jobs, calls=self.calls, workspaces=self.workspaces, recorder=self.recorder
        )
        self.cache = CacheState(
            self.store,
            self.recorder,
            anthropic_ttl_s=settings.cache_awareness.anthropic_ttl_seconds,
            clock=clock,
            prices=self.prices,
        )
        self.auth = AuthService(
            settings,
            self.store,
            environ=environ,
            instance_token=instance_token,
            keys=self.keys,
            clock=clock,
        )
        # The auth service's two parts the front doors and the desk drive themselves: the OAuth
        # server (None when OAuth is off) and the queue of consents waiting for a person.
        self.oauth = self.auth.oauth
        self.consent = self.auth.consent
        # host:port pairs this gateway listens on (filled by `listening_on` once bound), so a
        # base URL pointing back at us is never used as an upstream. A live set: the gateway's
        # key chain reads it at each use.
        self._own_origins: set[str] = set()
        self.gateway = build_gateway(
            settings,
            config=gateway_config,
            runner=self.runner,
            jobs=self.jobs,
            recorder=self.recorder,
            vault=self.vault,
            cli_available=self.switches.unavailable_reason,
            api_refusal=self.switches.api_refusal,
            environ=environ,
            own_origins=self._own_origins,
            budgets=self.budget_ledger,
            project_access=self.project_grants.require,
            target_access=self.keys.target_refusal,
            telemetry=self.telemetry,
            prices=self.prices,
        )
        # The desk's playground: chats through the gateway as the local user, recorded.
        self.playground = Playground(self.gateway, self.recorder_query)
        # `/metrics`: counted from the same events as the charts; None when switched off.
        self.scrape: ScrapeFigures | None = None
        if settings.metrics.enabled:
            self.scrape = ScrapeFigures(
                self.events,
                GaugeSources(
                    active_jobs=lambda: self.metrics.active_jobs,
                    recorder=self.recorder.status,
                    store_problem=lambda: self.store.health.reason,
                    breakers=self.calls.breaker_states,
                    edge_refusals=lambda: self.refusals.by_code,
                ),
                # Each process of a team gateway exposes its own figures: told apart by this.
                process=self.leases.process_id if self.leases.shared else "main",
                max_label_values=settings.metrics.max_label_values,
                max_series=settings.metrics.max_series,
                max_label_values_per_principal=settings.metrics.max_label_values_per_principal,
            )
        self.validation = ValidationService(
            self.runner,
            discovery=self.discovery,
            is_enabled=self.switches.is_enabled,
            gateway=self.gateway,
            is_api_provider=lambda provider: self.gateway.registry.provider(provider) is not None,
        )
        self.providers = ProvidersService(
            switches=self.switches,
            discovery=self.discovery,
            calls=self.calls,
            gateway=self.gateway,
            trouble=ProviderTrouble(
                self.events, switch_ids=[state.id for state in self.switches.states()]
            ),
            target_access=self.keys.target_refusal,
        )
        # Each installed CLI's login, from its own files (read-only, offline).
        self.cli_accounts = CliAccounts(
            environ=environ, locate=self.discovery.locate, providers=self.catalog.ids
        )
        # The desk's editor of the person's API providers: saved and routed by at once.
        self.provider_editor = ProviderEditor(
            providers=settings.gateway.providers,
            aliases=settings.gateway.aliases,
            routes=settings.gateway.routes,
            config_of=lambda providers, aliases, routes: gateway_config_of(
                settings.with_values(
                    {
                        "gateway.providers": dict(providers),
                        "gateway.aliases": dict(aliases),
                        "gateway.routes": dict(routes),
                    }
                ),
                self.catalog,
            ),
            gateway=self.gateway,
            saver=self.settings_saver,
            vault=self.vault,
            prices=self.prices,
            refresh=lambda: self._spawn_soon(
                self.gateway.directory.refresh(force=True), "provider-lists"
            ),
        )
        self.state = EngineState.STOPPED
        self.started_at: float | None = None
        self._check_stop = threading.Event()

    def _spawn_soon(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Start background work now if running, else drop it (nothing to refresh yet)."""
        if self.state is EngineState.RUNNING:
            self.tasks.spawn(work, name=name)
        else:
            work.close()

    async def _vault_secret(self, name: str) -> str | None:
        """The first API key the vault holds under `name` (a `vault:NAME` reference)."""
        keys = await self.vault.resolve_keys(name)
        return keys[0] if keys else None

    def listening_on(self, port: int) -> None:
        """Note the loopback port the front door bound, so no upstream is ever pointed at it."""
        self._own_origins.update({f"127.0.0.1:{port}", f"[::1]:{port}", f"::1:{port}"})

    async def start(self, *, vault_later: bool = False) -> None:
        """Open the store and begin serving (`vault_later`: the vault opens in the background,
        its own calls waiting for it, so a front door can answer before the keyring is asked).

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
            if vault_later:
                self.vault.open_later(lambda coro: self.tasks.spawn(coro, name="vault-open"))
            else:
                await self.vault.open()
            await self.auth.start()
            # On a store other gateways share, unfinished jobs may be theirs, running now: only
            # those whose process's lease ran out are ended (by the lease reaper, `leases.py`).
            shared = self.store.engine.shared
            if shared:
                log.info(
                    "the store is shared (%s): jobs and recorder rows other gateways left open "
                    "are ended only once their process's lease (jobs.lease_ms) runs out",
                    self.store.engine.name,
                )
            left_running = await self.jobs.start(recover=not shared)
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
            if not shared:
                await self.recorder.close_interrupted(self._clock())
        except Exception:  # the record of the past must not keep the gateway from serving
            log.exception("could not close the flight-recorder rows an earlier run left open")
        # Before serving: this period's spend, so a restart does not forget it (never raises).
        await self.budget_ledger.load()
        try:
            await self.keys.start()  # the keys' budgets join the ledger before serving
        except Exception:  # a store that cannot be read now: keys still verify per request
            log.exception("could not read the gateway keys' budgets")
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
            # Before the tasks: each server is asked to exit (stdin closed) before any is killed.
            await self.upstream_mcp.stop()
            await self.tasks.shutdown(grace=TASKS_STOP_GRACE_S)
            await self.gateway.close()
            # Requests still open (an answer streaming when the front door closed) were cut by
            # the stop: their rows say so, in the same word as the jobs'.
            self.recorder.interrupt_open()
            await self.recorder.close()
            # After the recorder's last rows: what they cost, and the holds of calls ended.
            await self.budget_ledger.close()
            try:
                await self.refusals.close()
            except Exception as exc:  # counts only: never a reason to fail the stop
                self.store.log_failure(log, "could not write the last refusal counts", exc)
            await self.lifeline.close()
            await self.telemetry.close()
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

    @property
    def store_problem(self) -> str | None:
        """Why the store is degraded (damaged file, full disk ...), or None when all is well."""
        return self.store.health.reason

    def health(self) -> dict[str, Any]:
        """Liveness facts safe to show anyone on this machine: no secrets, no paths."""
        status = "ok" if self.state is EngineState.RUNNING else self.state.value
        store_problem = self.store_problem
        if status == "ok" and store_problem is not None:
            status = "degraded"
        return {
            "service": "llmgw-desktop",
            "status": status,
            "version": __version__,
            "uptime_seconds": round(self.uptime_seconds, 3),
            "paused": self.switches.paused,
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
            # This process's lease on the store, and how many other gateway processes share it.
            "lease": self.leases.health(),
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
        """The store's start-up check (SQLite: `PRAGMA quick_check` within a time budget)."""
        problem = await self.store.check(self._check_stop)
        if problem is not None:
            self.store.health.report("integrity", problem)

    async def _maintain_forever(self) -> None:
        """Hourly: forget old conversations (and the dirs made for them), prune the recorder."""
        while True:
            try:
                cutoff = self._clock() - self.settings.jobs.retention_days * 86400
                removed = await self.calls.expire_conversations(cutoff)
                if removed:
                    log.info("forgot %d conversation(s) unused for the retention period", removed)
                pruned = await self.recorder.prune()
                if pruned:
                    log.info("pruned %d flight-recorder row(s)", pruned)
                await self.refusals.prune()
            except Exception as exc:
                self.store.log_failure(log, "maintenance failed", exc)
            await asyncio.sleep(MAINTENANCE_EVERY_S)

    def process_health(self) -> dict[str, Any]:
        """Live jobs, limits, circuit breakers and switches: what `llm_process_health` shows."""
        return {
            "engine": self.health(),
            "jobs": self.jobs.health(),
            "breakers": self.calls.breaker_states(),
            "providers": {p.id: p.enabled for p in self.switches.states()},
            "backgroundTasks": len(self.tasks.running),
            # The user's own MCP servers: state, tool count, starts, last error (redacted).
            "mcpServers": self.upstream_mcp.status(),
        }
