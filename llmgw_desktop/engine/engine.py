"""The engine's composition root: builds every part once, wires them by their constructors,
and holds the services the front doors use (listed, with the names they may import, in
`engine/api.py`). The order the parts start and stop in is `lifecycle.py`'s, their background
upkeep `upkeep.py`'s, and what `/health` shows `health.py`'s. It never imports Qt; the desktop
observes it through `events`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from llmgw_desktop import __version__
from llmgw_desktop.config.budgets import parse_budgets
from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.config.settings_jobs import moot_limit
from llmgw_desktop.config.upstream_mcp import parse_servers
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks, loopback_url
from llmgw_desktop.engine.auth.connection_keys import ConnectionKeys
from llmgw_desktop.engine.auth.gateway_keys import GatewayKeys
from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.auth.projects import ProjectGrants
from llmgw_desktop.engine.auth.service import AuthService
from llmgw_desktop.engine.budgets.definition import budget_zone
from llmgw_desktop.engine.budgets.ledger import BudgetLedger
from llmgw_desktop.engine.budgets.service import Budgets
from llmgw_desktop.engine.calls import ApprovalGate, CallRunner, ProviderCalls
from llmgw_desktop.engine.degraded import Degradation, degradations
from llmgw_desktop.engine.events import (
    EventBus,
    RequestFinished,
    StoreHealthChanged,
    UnheardNotices,
)
from llmgw_desktop.engine.gateway.composition import build_gateway, gateway_config_of
from llmgw_desktop.engine.gateway.desk.playground import Playground
from llmgw_desktop.engine.gateway.desk.provider_editor import ProviderEditor
from llmgw_desktop.engine.gateway.keys import KeyChain
from llmgw_desktop.engine.guard.desk import SecretQuestions
from llmgw_desktop.engine.guard.service import OutboundGuard
from llmgw_desktop.engine.health import EngineHealth
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.manager import JobLimits, JobManager
from llmgw_desktop.engine.jobs.retry import JobRetry
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.lifecycle import EngineState, Lifecycle
from llmgw_desktop.engine.live_settings import LiveSettings
from llmgw_desktop.engine.metrics import (
    CallHealth,
    GaugeSources,
    LiveMetrics,
    ScrapeFigures,
)
from llmgw_desktop.engine.own_secrets import remember_own_secrets
from llmgw_desktop.engine.providers.accounts import CliAccounts
from llmgw_desktop.engine.providers.answering import AnsweringWatch
from llmgw_desktop.engine.providers.cli_login import CliLogins
from llmgw_desktop.engine.providers.discovery import Discovery
from llmgw_desktop.engine.providers.lifeline import Lifeline
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
    left_by_an_earlier_run,
)
from llmgw_desktop.engine.sessions import AcpChats, SessionStore
from llmgw_desktop.engine.settings_saver import SettingsSaver, SettingsWriter
from llmgw_desktop.engine.shares import FairShare
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.telemetry import start_telemetry
from llmgw_desktop.engine.tokens.price_book import PriceBook, parse_prices
from llmgw_desktop.engine.tokens.price_settings import PriceSettings
from llmgw_desktop.engine.upkeep import Upkeep
from llmgw_desktop.engine.upstream_mcp.pins import ToolPins
from llmgw_desktop.engine.upstream_mcp.pins_file import PINS_FILE
from llmgw_desktop.engine.upstream_mcp.service import UpstreamServers
from llmgw_desktop.engine.validation.service import ValidationService
from llmgw_desktop.engine.vault import KeySource, Vault, default_key_sources
from llmgw_desktop.engine.workspaces import WorkspaceRegistry

__all__ = ["LOCAL_PRINCIPAL", "Engine"]

log = logging.getLogger(__name__)

# The principal of calls made on this machine without a token: stdio and the desktop UI.
LOCAL_PRINCIPAL = LOCAL


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
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        environ: Mapping[str, str] | None = None,
        vault_key_sources: Sequence[KeySource] | None = None,
    ) -> None:
        """`instance_token` is this instance's (from `instance.json`): it proves the local
        user to the HTTP door; `settings_writer` saves what the desk changes to `config.toml`
        (None: nothing is saved). `clock` is the time of day every part reads (what rows,
        loans and budget periods are dated by), `monotonic` the time the gateway's rests and
        cool-downs are measured in (its keys, hosts and targets); None: the system's. A test
        passes its own."""
        clock = clock or time.time
        self._settings_at_start = settings
        environ = os.environ if environ is None else environ
        remember_own_secrets(settings, environ)  # masked wherever they would show
        self._clock = clock
        self._monotonic = monotonic or time.monotonic
        # Every CLI and ACP agent this run offers: the shipped ones and those
        # `[providers.acp.NAME]` adds (the settings check accepted the tables), and which of
        # them the operator lets pass a hard budget by a run's cost (`unmetered_clis`).
        self.catalog = ProviderCatalog.of(settings.providers.acp, settings.providers.unmetered_clis)
        self.events = EventBus()
        # What the engine tells while it starts, before a desk listens (`EngineBridge`).
        self.unheard_notices = UnheardNotices(self.events)
        self.tasks = TaskSupervisor()
        # Built in the order they need each other: each step reads only what the steps before
        # it built.
        self._build_store(settings, settings_writer)
        self._build_jobs(settings, clock)
        self._build_recording(settings, environ, clock)
        self._build_money(settings, clock)
        self._build_live_figures(clock)
        self._build_providers(settings, environ, clock, vault_key_sources)
        self._build_calls(settings, environ, clock, instance_token)
        self._build_gateway(settings, environ)
        self._build_desk(settings, environ)
        self._build_upkeep(settings, clock)

    def _build_store(self, settings: Settings, settings_writer: SettingsWriter | None) -> None:
        """The store and what ties this process to it: the settings' writer, the prices every
        part reads, this process's lease, and the lifeline its CLIs' process groups hang on."""
        self.store = Database(
            settings.database_file,
            url=settings.store.url,
            password=settings.store.password,
            on_health_change=lambda reason: self.events.publish(StoreHealthChanged(reason)),
            earlier_run=lambda: left_by_an_earlier_run(settings.data_path),
        )
        self.settings_saver = SettingsSaver(settings_writer)
        # What every part prices by: the bundled table with the person's prices on top (the
        # settings check accepted them); the Settings page changes them while running.
        self.prices = PriceBook(user=parse_prices(settings.gateway.prices))
        self.price_settings = PriceSettings(self.prices, self.settings_saver)
        # Ties every CLI's process group to this gateway's life (it dies if the gateway does),
        # and a job's CLI to this process's lease (stopped before a peer can take it for dead).
        self.lifeline = Lifeline(stop_grace_s=settings.providers.stop_grace_ms / 1000)
        # This process's lease on the store: how other gateway processes sharing it tell that
        # it is alive (and, once it is not, end what it left running). Wall time, always:
        # leases are compared across processes.
        lease_s = settings.jobs.lease_ms / 1000
        self.leases = JobLeases(
            self.store,
            lease_s=lease_s,
            on_held=lambda held_until, lost: self.lifeline.keep_until(
                held_until, lease_s, lost=lost
            ),
        )

    def _build_jobs(self, settings: Settings, clock: Callable[[], float]) -> None:
        """The jobs (queued and running calls, with their limits) and the conversations."""
        jobs = settings.jobs
        # Said, not refused: the Settings page says the same under its controls.
        if note := moot_limit(jobs.max_concurrent, jobs.max_concurrent_per_provider):
            log.info("jobs.max_concurrent_per_provider, jobs.max_concurrent: %s", note)
        self.jobs = JobManager(
            JobStore(self.store),
            tasks=self.tasks,
            events=self.events,
            limits=JobLimits(
                max_running=jobs.max_concurrent,
                max_running_per_provider=jobs.max_concurrent_per_provider,
                max_queued=jobs.max_queued,
                share=FairShare(jobs.principal_share_percent, "jobs.principal_share_percent"),
                dedup_window_s=jobs.dedup_window_ms / 1000,
                retention_days=jobs.retention_days,
                stuck_after_s=jobs.stuck_after_ms / 1000,
            ),
            clock=clock,
            leases=self.leases,
        )
        self.sessions = SessionStore(self.store, clock=clock, catalog=self.catalog)
        self.acp_chats = AcpChats(self.store, clock=clock)

    def _build_recording(
        self, settings: Settings, environ: Mapping[str, str], clock: Callable[[], float]
    ) -> None:
        """What is kept of every request: its trace, its row in the flight recorder (with the
        body, where the person asked for it), and the edge's refusals, counted."""
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
        self.events.subscribe(RequestFinished, self.refusals.note_recorded, after=True)
        self.recorder_query = RecorderQuery(self.store, self.recorder)

    def _build_money(self, settings: Settings, clock: Callable[[], float]) -> None:
        """Who may spend what: the budgets, the gateway keys and the projects' grants."""
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
        self.budgets = Budgets(self.budget_ledger, self.settings_saver, self.store, self.recorder)
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

    def _build_live_figures(self, clock: Callable[[], float]) -> None:
        """The figures counted live from the events: the charts and each provider's health."""
        self.metrics = LiveMetrics(self.events, clock=clock, prices=self.prices)
        # Each provider's health from its recent calls (error rate, failures in a row, latency).
        self.provider_health = CallHealth(self.events, clock=clock)

    def _build_providers(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        clock: Callable[[], float],
        vault_key_sources: Sequence[KeySource] | None,
    ) -> None:
        """What a call may reach and what stands before it: the CLIs found and their switches,
        the vault, the workspaces, the user's MCP servers, the approval gate and the guard."""
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
        self._gateway_config = gateway_config_of(settings, self.catalog)
        self.switches = ProviderSwitches(
            settings.providers.disabled,
            api_providers=list(self._gateway_config.providers.values()),
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
        self.upstream_mcp = self._upstream_servers(settings)
        # Secrets in what leaves the machine: read before each provider is asked (`[guard]`);
        # `ask` puts them to the desk with the approval gate's time to answer.
        self.guard = OutboundGuard(
            settings.guard,
            events=self.events,
            questions=SecretQuestions(
                timeout_s=settings.approval.desk_timeout_ms / 1000,
                fallback=settings.guard.ask_fallback,
            ),
        )

    def _upstream_servers(self, settings: Settings) -> UpstreamServers:
        """The user's own MCP servers, offered on /mcp beside ours (none start until used)."""
        mcp = settings.mcp
        servers = parse_servers(mcp.servers)
        return UpstreamServers(
            servers,
            lifeline=self.lifeline,
            tasks=self.tasks,
            secret=self._vault_secret,
            recorder=self.recorder,
            approvals=self.approvals,
            record_arguments=mcp.record_arguments,
            list_wait_s=mcp.list_wait_ms / 1000,
            start_timeout_s=mcp.start_timeout_ms / 1000,
            call_timeout_s=mcp.call_timeout_ms / 1000,
            max_tools=mcp.max_tools_per_server,
            traced=self.telemetry.enabled,
            events=self.events,
            version=__version__,
            saver=self.settings_saver,
            vault=self.vault,
            pins=ToolPins(
                settings.data_path / PINS_FILE,
                enabled=mcp.pin_tools,
                withhold_flagged=mcp.withhold_flagged_tools,
                withhold_flagged_remote=mcp.withhold_flagged_tools_from_remote,
                servers=servers,
                events=self.events,
            ),
        )

    def _build_calls(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        clock: Callable[[], float],
        instance_token: str,
    ) -> None:
        """How a call runs (the provider calls, the one runner every front door uses, the
        desk's retry, the prompt cache's state) and who is calling (the auth service)."""
        # The gateway's API keys (read by its providers, and by the calls: a CLI's job under a
        # hard budget calls its models through the gateway, on the key of its vendor).
        # host:port pairs this gateway listens on (filled by `listening_on` once bound), so a
        # base URL pointing back at us is never used as an upstream. A live set: the gateway's
        # key chain reads it at each use.
        self._own_origins: set[str] = set()
        self._gateway_keys = KeyChain(
            self._gateway_config,
            environ=environ,
            vault=self.vault,
            own_origins=self._own_origins,
            clock=self._monotonic,
        )
        # Where the agents the gateway starts call their models back, as their caller.
        connection_keys = ConnectionKeys()
        self.callbacks = AgentCallbacks(
            connection_keys, covered=self.budget_ledger.covers, keyed=self._gateway_keys.has_key
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
            callbacks=self.callbacks,
            guard=self.guard,
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
            connection_keys=connection_keys,
            clock=clock,
            monotonic=self._monotonic,
        )
        # The auth service's two parts the front doors and the desk drive themselves: the OAuth
        # server (None when OAuth is off) and the queue of consents waiting for a person.
        self.oauth = self.auth.oauth
        self.consent = self.auth.consent

    def _build_gateway(self, settings: Settings, environ: Mapping[str, str]) -> None:
        """The HTTP gateway, the desk's playground on it, and `/metrics`."""
        self.gateway = build_gateway(
            settings,
            config=self._gateway_config,
            keys=self._gateway_keys,
            callbacks=self.callbacks,
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
            guard=self.guard,
            events=self.events,
            tasks=self.tasks,
            clock=self._monotonic,
        )
        # The desk's playground: chats through the gateway as the local user, recorded.
        # The desk offers what `/v1/models` does (`providers` is built with the desk, after).
        self.playground = Playground(
            self.gateway, self.recorder_query, offered=lambda: self.providers.models()
        )
        # What the desk saves: written to config.toml, and taken on now where it can be.
        self.live_settings = LiveSettings(
            settings,
            self.settings_saver,
            registry=self.gateway.registry,
            body_capture=self.body_capture,
            guard=self.guard,
        )
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

    def _build_desk(self, settings: Settings, environ: Mapping[str, str]) -> None:
        """The services the desk and the tools drive over the gateway and the calls: answers
        compared and reviewed, the providers' page, the CLIs' logins, the provider editor."""
        keys = self.gateway.keys
        trouble = ProviderTrouble(
            self.events,
            switch_ids=[state.id for state in self.switches.states()],
            keys_version=lambda: keys.version,
        )
        self.providers = ProvidersService(
            switches=self.switches,
            discovery=self.discovery,
            calls=self.calls,
            gateway=self.gateway,
            trouble=trouble,
            logins=CliLogins(
                discovery=self.discovery,
                trouble=trouble,
                is_enabled=self.switches.is_enabled,
                any_hard_budget=self.budget_ledger.any_hard,
                environ=environ,
                auth_files=self.vault,
                auth_root=settings.data_path / "auth-tmp",
                has_key=self._gateway_keys.has_key,
                door_open=lambda: bool(self.callbacks.url),
            ),
            call_health=self.provider_health,
            target_access=self.keys.target_refusal,
            project_access=self.project_grants.require,
        )
        self.callbacks.answering = self.providers.answering_models
        self.validation = ValidationService(
            self.runner,
            discovery=self.discovery,
            is_enabled=self.switches.is_enabled,
            model_to_ask=self.providers.model_to_ask,
            gateway=self.gateway,
            is_api_provider=lambda provider: self.gateway.registry.provider(provider) is not None,
        )
        # Whether anything can answer a call: the one fact the window, /health and the banner
        # read.
        self.answering = AnsweringWatch(
            self.providers.read_answering, self.events, before=self.providers.read_due_lists
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
                self.settings.with_values(
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

    def _build_upkeep(self, settings: Settings, clock: Callable[[], float]) -> None:
        """The background upkeep (hourly maintenance, the store's check, the charts' rebuild),
        the order every part starts and stops in, and what `/health` reads of them."""
        self.upkeep = Upkeep(
            settings,
            store=self.store,
            calls=self.calls,
            recorder=self.recorder,
            refusals=self.refusals,
            metrics=self.metrics,
            health=self.provider_health,
            clock=clock,
        )
        self.lifecycle = Lifecycle(
            store=self.store,
            vault=self.vault,
            auth=self.auth,
            jobs=self.jobs,
            tasks=self.tasks,
            lifeline=self.lifeline,
            gateway=self.gateway,
            recorder=self.recorder,
            budget_ledger=self.budget_ledger,
            keys=self.keys,
            refusals=self.refusals,
            upstream_mcp=self.upstream_mcp,
            telemetry=self.telemetry,
            upkeep=self.upkeep,
            answering=self.answering,
            events=self.events,
            clock=clock,
        )
        self._health = EngineHealth(
            settings,
            lifecycle=self.lifecycle,
            store=self.store,
            switches=self.switches,
            vault=self.vault,
            refusals=self.refusals,
            recorder=self.recorder,
            leases=self.leases,
            jobs=self.jobs,
            calls=self.calls,
            tasks=self.tasks,
            upstream_mcp=self.upstream_mcp,
            providers=self.providers,
            answering=self.answering,
            budgets=self.budgets,
            response_cache=self.gateway.cache,
            semantic_cache=self.gateway.semantic,
        )

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
        """Note the loopback port the front door bound, so no upstream is ever pointed at it,
        and the agents the gateway starts call their models back through it."""
        self._own_origins.update({f"127.0.0.1:{port}", f"[::1]:{port}", f"::1:{port}"})
        self.callbacks.url = loopback_url(self.settings.http.host, port)

    # -- start and stop (`lifecycle.py`: the order, and why) -------------------------------

    @property
    def state(self) -> EngineState:
        """Where the engine is: stopped, starting, running or stopping."""
        return self.lifecycle.state

    @property
    def started_at(self) -> float | None:
        """When the engine last started serving (None before it has)."""
        return self.lifecycle.started_at

    @property
    def settings(self) -> Settings:
        """The settings this engine runs on now: those it started with, and the changes it
        took on since (`live_settings`)."""
        live = getattr(self, "live_settings", None)
        return live.settings if live is not None else self._settings_at_start

    async def start(self, *, vault_later: bool = False) -> None:
        """Open the store and begin serving (`vault_later`: the vault opens in the background,
        its own calls waiting for it, so a front door can answer before the keyring is asked).

        Raises:
            StoreError: the database cannot be opened; nothing was started.
        """
        await self.lifecycle.start(vault_later=vault_later)

    async def stop(self) -> None:
        """Finish background work (bounded), then close the store. Safe to call twice."""
        await self.lifecycle.stop()

    async def interrupt_work(self) -> None:
        """A stop's first step: running jobs end `interrupted` (output kept, CLIs killed)."""
        await self.lifecycle.interrupt_work()

    def begin_drain(self) -> None:
        """A rolling restart's first step: take no new work; what is queued or running ends
        as usual (`live_jobs` counts it)."""
        self.lifecycle.begin_drain()

    @property
    def live_jobs(self) -> int:
        """Jobs queued or running now: what a drain waits for."""
        return self.lifecycle.live_jobs

    # -- what /health and the window show (`health.py`) ----------------------------------

    @property
    def uptime_seconds(self) -> float:
        return self.lifecycle.uptime_seconds

    @property
    def degradations(self) -> tuple[Degradation, ...]:
        """What keeps the serving gateway from being whole (its store's problem, a log file
        that takes no lines), the store's first; () when all is well (`degraded.py`)."""
        return degradations(self.store.health.reason)

    def health(self) -> dict[str, Any]:
        """Liveness facts safe to show anyone on this machine: no secrets, no paths."""
        return self._health.health()

    def readiness(self) -> dict[str, Any]:
        """Whether this process takes new work: running and not draining (`/health/ready`)."""
        return self._health.readiness()

    def process_health(self) -> dict[str, Any]:
        """Live jobs, limits, circuit breakers and switches: what `llm_process_health` shows."""
        return self._health.process_health()
