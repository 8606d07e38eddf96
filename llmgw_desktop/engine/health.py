"""The engine's liveness as `/health`, the tray, Overview and `llm_process_health` show it.

`/health` is answered to anyone who reaches the front door (every caller on this machine, and
on a network bind anyone on that network: it needs no key), so it holds facts, never secrets,
paths or anything of one principal:
the engine's state (`degraded` while the store is), its version and uptime, the switches'
pause, the global budget refusing every call (which, and when it resets), the vault's state,
whether plain HTTP is reachable from the network, the edge's refusals, the store, the
recorder, this process's lease, which providers fail, rest or have a
target cooling down (by id only), and, while the response cache is on, whether its file works
(and, with the semantic cache, whether its lookups answer within their deadline).
The process health adds the live jobs and their limits, the circuit breakers, the switches,
the background tasks, the user's MCP servers, the API hosts rested because no connection could
be made to them (each host's origin, never its base URL's path or query) and the API targets
cooling down.

Readiness (`/health/ready`, what an orchestrator routes by) is narrower: the gateway serves and
is not draining. A store that fails does not make it unready: every process shares the store,
and each serves on in its degraded mode (docs/RELIABILITY.md), which beats no process at all.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop import __version__
from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.auth.policy import plain_http_exposed
from llmgw_desktop.engine.budgets.refusals import refusing_every_call
from llmgw_desktop.engine.budgets.service import Budgets
from llmgw_desktop.engine.calls import ProviderCalls
from llmgw_desktop.engine.degraded import degradations
from llmgw_desktop.engine.gateway.semantic_cache import SemanticCache
from llmgw_desktop.engine.jobs.leases import JobLeases
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.lifecycle import EngineState, Lifecycle
from llmgw_desktop.engine.providers.answering import AnsweringWatch
from llmgw_desktop.engine.providers.health import public_summary
from llmgw_desktop.engine.providers.service import ProvidersService
from llmgw_desktop.engine.providers.switches import ProviderSwitches
from llmgw_desktop.engine.recorder import FlightRecorder, RefusalCounter
from llmgw_desktop.engine.response_cache import ResponseCache
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.upstream_mcp.service import UpstreamServers
from llmgw_desktop.engine.vault import Vault

__all__ = ["DRAINING", "EngineHealth"]

# `/health`'s status while a SIGTERM's drain lets what is in flight finish.
DRAINING = "draining"


class EngineHealth:
    """Reads the parts' health facts into the answers `/health` and the process health give."""

    def __init__(
        self,
        settings: Settings,
        *,
        lifecycle: Lifecycle,
        store: Database,
        switches: ProviderSwitches,
        vault: Vault,
        refusals: RefusalCounter,
        recorder: FlightRecorder,
        leases: JobLeases,
        jobs: JobManager,
        calls: ProviderCalls,
        tasks: TaskSupervisor,
        upstream_mcp: UpstreamServers,
        providers: ProvidersService,
        answering: AnsweringWatch,
        budgets: Budgets,
        response_cache: ResponseCache | None = None,
        semantic_cache: SemanticCache | None = None,
    ) -> None:
        self._settings = settings
        self._lifecycle = lifecycle
        self._store = store
        self._switches = switches
        self._vault = vault
        self._refusals = refusals
        self._recorder = recorder
        self._leases = leases
        self._jobs = jobs
        self._calls = calls
        self._tasks = tasks
        self._upstream_mcp = upstream_mcp
        self._providers = providers
        self._answering = answering
        self._budgets = budgets
        self._response_cache = response_cache
        self._semantic_cache = semantic_cache

    def health(self) -> dict[str, Any]:
        """Liveness facts safe to show anyone who reaches the front door: no secrets, no paths,
        nothing of one principal."""
        state = self._lifecycle.state
        status = "ok" if state is EngineState.RUNNING else state.value
        if status == "ok" and self._lifecycle.draining:
            status = DRAINING
        store_problem = self._store.health.reason
        degraded = degradations(store_problem)
        logging_problem = next((d.reason for d in degraded if d.part == "log"), None)
        if status == "ok" and degraded:
            status = "degraded"
        answer = {
            "service": "llmgw-desktop",
            "status": status,
            "version": __version__,
            "uptime_seconds": round(self._lifecycle.uptime_seconds, 3),
            "paused": self._switches.paused,
            # The global budget that refuses every call now (scope, period, unit and when it
            # resets), or None: like a pause, not the process's `status` (no restart or other
            # replica serves past it); its figures are the operator's, on the Budgets page.
            "refusing": self._refusing(),
            "vault": self._vault.status()["state"],
            # Reachable from the network without TLS in front: tokens travel in clear.
            "plain_http": plain_http_exposed(self._settings),
            # Requests the edge refused since start (auth, rate limits, bad bodies ...).
            "refused": self._refusals.health(),
            "store": {
                "state": "ok" if store_problem is None else "degraded",
                "reason": store_problem,
            },
            "recorder": self._recorder.status(),
            # Whether the log file takes its lines (a full disk): they go to stderr meanwhile.
            "log": {
                "state": "ok" if logging_problem is None else "failing",
                "reason": logging_problem,
            },
            # This process's lease on the store, and how many other gateway processes share it.
            "lease": self._leases.health(),
            # Which providers fail, as the window shows it; the details are on /v1/providers,
            # behind its authentication (SECURITY finding 57). Not the gateway's `status`: an
            # upstream failing fails every gateway alike.
            # `state: "none"` when nothing can answer a call (no key, local server or CLI).
            "providers": public_summary(
                self._providers.health_all(), answering=self._answering.now()
            ),
            # The providers with an API target cooling down or with its circuit open: it goes
            # behind the others in its routes (`GET /v1/providers` says which, and for how long).
            "cooling": sorted({view.provider for view in self._providers.cooling()}),
            # The user's own MCP servers behind /mcp, counted: their names are the user's
            # (`llm_process_health` has each one's state, for the operator).
            "mcpServers": {
                "configured": len(self._upstream_mcp.servers),
                "failing": len(self._upstream_mcp.failing()),
            },
        }
        cache = self._response_cache
        if cache is not None and cache.enabled:
            # Not the gateway's `status`: a cache that fails costs upstream calls, not answers.
            answer["cache"] = cache.health()
            if self._semantic_cache is not None:
                # Whether its lookups answer within their deadline, or are skipped now.
                answer["cache"]["semantic"] = self._semantic_cache.health()
        return answer

    def _refusing(self) -> dict[str, Any] | None:
        refusing = refusing_every_call(self._budgets.statuses())
        if refusing is None:
            return None
        budget = refusing.budget
        return {
            "scope": budget.scope,
            "period": budget.period,
            "unit": budget.unit,
            "resetsAt": round(refusing.resets_at, 3),
        }

    def readiness(self) -> dict[str, Any]:
        """Whether this process takes new work (`ready`), and its status when it does not."""
        lifecycle = self._lifecycle
        if lifecycle.ready:
            return {"ready": True, "status": "ok"}
        status = DRAINING if lifecycle.draining else lifecycle.state.value
        return {"ready": False, "status": status}

    def process_health(self) -> dict[str, Any]:
        """Live jobs, limits, circuit breakers, switches and rested hosts: what
        `llm_process_health` shows."""
        return {
            "engine": self.health(),
            "jobs": self._jobs.health(),
            "breakers": self._calls.breaker_states(),
            "providers": {p.id: p.enabled for p in self._switches.states()},
            "backgroundTasks": len(self._tasks.running),
            # The user's own MCP servers: state, tool count, starts, last error (redacted).
            "mcpServers": self._upstream_mcp.status(),
            # API hosts no connection could be made to, passed over for now: the provider, the
            # base URL's origin (never its path or query), failures in a row, seconds left,
            # the last error (redacted). `/health` names only the providers.
            "restingHosts": [host.to_dict() for host in self._providers.resting()],
            # API targets cooling down after a 429 or with their circuit open: each target's
            # state, seconds left, failures in a row and last failure's outcome.
            "coolingTargets": [view.to_dict() for view in self._providers.cooling()],
        }
