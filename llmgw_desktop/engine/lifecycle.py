"""The engine's start and stop: the order its parts open and close in, and its state.

Start opens the store (nothing is started if it cannot be opened), then the vault (a locked
vault is reported, never fatal), the auth service and the jobs; spawns the upkeep
(`upkeep.py`), the provider directory and the watch on what can answer; opens the recorder
(replaying what an earlier run spilled) and closes the rows that run left open; counts this
period's spend in before serving; and stops the CLIs a crash left running. A drain
(`begin_drain`, headless mode's answer to SIGTERM) comes before a stop: the engine says it is no
longer ready and counts the jobs still live, while the front door stops taking work and waits
for them (`shell/drain.py`). Stop ends the work first (jobs `interrupted`), then the user's MCP
servers, the tasks (bounded), the upstream pool, the recorder's last rows, the budgets'
settlements, and closes the store last. `docs/ARCHITECTURE.md`, "Composition roots, start and
stop", says why this order. The parts are built and handed over by the composition root
(`engine.py`).
"""

from __future__ import annotations

import enum
import functools
import logging
import time
from collections.abc import Callable

from llmgw_desktop import __version__
from llmgw_desktop.engine.auth.gateway_keys import GatewayKeys
from llmgw_desktop.engine.auth.service import AuthService
from llmgw_desktop.engine.budgets.ledger import BudgetLedger
from llmgw_desktop.engine.events import EngineStarted, EngineStopped, EventBus
from llmgw_desktop.engine.gateway.service import GatewayService
from llmgw_desktop.engine.jobs.manager import JobManager
from llmgw_desktop.engine.providers.answering import AnsweringWatch
from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.providers.orphans import SavedGroup, stop_left_behind
from llmgw_desktop.engine.recorder import FlightRecorder, RefusalCounter
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tasks import TaskSupervisor
from llmgw_desktop.engine.telemetry import Telemetry
from llmgw_desktop.engine.upkeep import Upkeep
from llmgw_desktop.engine.upstream_mcp.service import UpstreamServers
from llmgw_desktop.engine.vault import Vault

__all__ = ["TASKS_STOP_GRACE_S", "EngineState", "Lifecycle"]

log = logging.getLogger(__name__)

# At stop, background tasks that are not services (a progress write, a settings save) get this
# long to end by themselves; a stop must stay within about a second.
TASKS_STOP_GRACE_S = 0.5


class EngineState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


class Lifecycle:
    """Starts and stops the engine's parts in order, and says where the engine is."""

    def __init__(
        self,
        *,
        store: Database,
        vault: Vault,
        auth: AuthService,
        jobs: JobManager,
        tasks: TaskSupervisor,
        lifeline: Lifeline,
        gateway: GatewayService,
        recorder: FlightRecorder,
        budget_ledger: BudgetLedger,
        keys: GatewayKeys,
        refusals: RefusalCounter,
        upstream_mcp: UpstreamServers,
        telemetry: Telemetry,
        upkeep: Upkeep,
        answering: AnsweringWatch,
        events: EventBus,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._vault = vault
        self._auth = auth
        self._jobs = jobs
        self._tasks = tasks
        self._lifeline = lifeline
        self._gateway = gateway
        self._recorder = recorder
        self._budget_ledger = budget_ledger
        self._keys = keys
        self._refusals = refusals
        self._upstream_mcp = upstream_mcp
        self._telemetry = telemetry
        self._upkeep = upkeep
        self._answering = answering
        self._events = events
        self._clock = clock
        self.state = EngineState.STOPPED
        self.started_at: float | None = None
        # Running, but to stop soon: not ready for new work (`/health/ready`), while what is
        # in flight finishes. A flag beside the state, as everything else runs on as before.
        self.draining = False

    def _begin_anew(self) -> None:
        """What an earlier stop or drain left set, cleared: tasks may be spawned again, and
        nothing is draining or stopping."""
        self._tasks.reopen()
        self.draining = False
        self._lifeline.stopping = False
        self._gateway.stopping = False

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
        self._begin_anew()
        try:
            await self._store.open()
            # A locked vault (missing or wrong master key) is reported, never fatal: keys from
            # config and the environment still work, and nothing stored is touched.
            if vault_later:
                self._vault.open_later(lambda coro: self._tasks.spawn(coro, name="vault-open"))
            else:
                await self._vault.open()
            await self._auth.start()
            # On a store other gateways share, unfinished jobs may be theirs, running now: only
            # those whose process's lease ran out are ended (by the lease reaper, `leases.py`).
            shared = self._store.engine.shared
            if shared:
                log.info(
                    "the store is shared (%s): jobs and recorder rows other gateways left open "
                    "are ended only once their process's lease (jobs.lease_ms) runs out",
                    self._store.engine.name,
                )
            left_running = await self._jobs.start(recover=not shared)
        except BaseException:
            await self._store.close()
            self.state = EngineState.STOPPED
            raise
        # What failed while the store did (at this start too) is done again until it is.
        self._tasks.spawn(self._store.redo.run_forever(), name="store-redo", service=True)
        # Off the database thread and bounded: readiness never waits for it.
        self._upkeep.begin_store_check()
        self._tasks.spawn(self._upkeep.store_check(), name="store-check")
        self._tasks.spawn(self._upkeep.maintain_forever(), name="maintenance", service=True)
        # Local servers and the API providers' model lists, kept fresh off the request path.
        self._tasks.spawn(
            self._gateway.directory.run_forever(), name="provider-directory", service=True
        )
        # Whether anything can answer, looked at again as switches, keys and lists change.
        self._tasks.spawn(self._answering.run_forever(), name="answering", service=True)
        try:
            # Rows an earlier run spilled are replayed by the first flush (just below).
            await self._recorder.open()
            # After the jobs: a row whose job an earlier run finished takes the job's ending.
            if not shared:
                await self._recorder.close_interrupted(self._clock())
        except Exception:  # the record of the past must not keep the gateway from serving
            log.exception("could not close the flight-recorder rows an earlier run left open")
        # Before serving: this period's spend, so a restart does not forget it (never raises).
        await self._budget_ledger.load()
        await self._keys_budgets()
        self._tasks.spawn(self._recorder.run_forever(), name="flight-recorder", service=True)
        self._tasks.spawn(self._refusals.run_forever(), name="refusal-counts", service=True)
        # Overview's last 24 h, from the rows earlier runs left (a background read).
        self._tasks.spawn(self._upkeep.rebuild_metrics(began), name="rebuild-metrics")
        saved = [
            SavedGroup(job.job_id, job.process_group, job.process_identity)
            for job in left_running
            if job.process_group is not None and job.process_identity is not None
        ]
        if saved:
            self._tasks.spawn(
                stop_left_behind(saved, self._lifeline.stop_grace_s), name="stop-left-behind"
            )
        self._upstream_mcp.warm()  # the user's MCP servers start now, in the background
        self.started_at = self._clock()
        self.state = EngineState.RUNNING
        log.info("engine started (version %s)", __version__)
        self._events.publish(EngineStarted(self.started_at))

    async def _keys_budgets(self) -> None:
        """The gateway keys' budgets into the ledger (before serving). A store that cannot be
        read now is read again until it is: meanwhile each key verifies per request, its
        budget joining the ledger at its first call, but the desk would not show it."""
        try:
            await self._keys.start()
        except Exception as exc:
            again = functools.partial(self._keys.start, untaught_only=True)
            self._store.redo_later(log, "could not read the gateway keys' budgets", exc, again)

    async def stop(self) -> None:
        """Finish background work (bounded), then close the store. Safe to call twice."""
        if self.state in (EngineState.STOPPED, EngineState.STOPPING):
            return
        self.state = EngineState.STOPPING
        self._upkeep.end_store_check()  # the store check must not hold up the close's checkpoint
        try:
            await self.interrupt_work()
            # Before the tasks: each server is asked to exit (stdin closed) before any is killed.
            await self._upstream_mcp.stop()
            await self._tasks.shutdown(grace=TASKS_STOP_GRACE_S)
            await self._gateway.close()
            # Requests still open (an answer streaming when the front door closed) were cut by
            # the stop: their rows say so, in the same word as the jobs'.
            self._recorder.interrupt_open()
            # Those who only watch rows (refusal counts, telemetry) hear these before they
            # write their last figures below.
            self._events.drain()
            await self._recorder.close()
            # After the recorder's last rows: what they cost, and the holds of calls ended.
            await self._budget_ledger.close()
            try:
                await self._refusals.close()
            except Exception as exc:  # counts only: never a reason to fail the stop
                self._store.log_failure(log, "could not write the last refusal counts", exc)
            await self._lifeline.close()
            await self._telemetry.close()
        finally:
            await self._store.close()
            self.state = EngineState.STOPPED
            log.info("engine stopped")
            self._events.publish(EngineStopped())

    @property
    def ready(self) -> bool:
        """Whether new work is welcome: running, and not draining."""
        return self.state is EngineState.RUNNING and not self.draining

    def begin_drain(self) -> None:
        """Say from now on that this gateway is not ready: it is about to stop. Work goes on:
        jobs queued or running finish as usual (`live_jobs` counts them)."""
        if self.state is EngineState.RUNNING and not self.draining:
            self.draining = True
            log.info("draining: not ready for new work; what is in flight may finish")

    @property
    def live_jobs(self) -> int:
        """Jobs of this process queued or running: what a drain waits for besides requests."""
        return self._jobs.live_count

    @property
    def uptime_seconds(self) -> float:
        """Seconds since the engine last started serving (0 before it has)."""
        return 0.0 if self.started_at is None else max(0.0, self._clock() - self.started_at)

    async def interrupt_work(self) -> None:
        """End every running job now as `interrupted`, partial output kept, CLI groups
        killed after the short stop grace, and every call still waiting for its upstream's
        answer, its caller told `gateway_stopping`. The first step of a stop; safe to call
        twice."""
        self._lifeline.stopping = True
        self._gateway.stopping = True
        # Before any of the stop's writes: none waits on a frozen server for long.
        self._store.stopping()
        await self._jobs.stop()
        self._gateway.end_in_flight()
