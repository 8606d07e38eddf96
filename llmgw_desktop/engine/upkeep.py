"""The engine's background upkeep: the hourly maintenance, the store's start-up check and the
rebuild of Overview's charts, each off the request path and never a reason to stop serving.

Hourly, conversations unused for `jobs.retention_days` are forgotten (with the directories the
gateway made for them), and the recorder's rows and refusal counts are pruned. At start, the
store is checked (SQLite: `PRAGMA quick_check` within a time budget, stopped at once when the
engine stops) and the last 24 h of recorded requests are read back for the charts.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.engine.calls import ProviderCalls
from llmgw_desktop.engine.metrics import CallHealth, LiveMetrics, rebuild_health, rebuild_metrics
from llmgw_desktop.engine.recorder import FlightRecorder, RefusalCounter
from llmgw_desktop.engine.store import Database

__all__ = ["MAINTENANCE_EVERY_S", "Upkeep"]

log = logging.getLogger(__name__)

MAINTENANCE_EVERY_S = 3600.0


class Upkeep:
    """The engine's maintenance tasks, each spawned by the engine's start."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Database,
        calls: ProviderCalls,
        recorder: FlightRecorder,
        refusals: RefusalCounter,
        metrics: LiveMetrics,
        health: CallHealth,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._calls = calls
        self._recorder = recorder
        self._refusals = refusals
        self._metrics = metrics
        self._health = health
        self._clock = clock
        self._check_stop = threading.Event()

    async def rebuild_metrics(self, before: float) -> None:
        """Overview's last 24 h, from the rows runs before `before` left (charts start empty
        when they cannot be read); then each provider's calls of the health window."""
        try:
            replayed = await rebuild_metrics(self._store, self._metrics, before=before)
        except Exception as exc:  # the charts start empty until the store is read; it serves
            what = "could not read the last 24 h of requests back for the charts"
            self._store.redo_later(log, what, exc, lambda: self.rebuild_metrics(before))
            return
        if replayed:
            log.info("charts rebuilt from %d recorded request(s) of the last 24 h", replayed)
        await self.rebuild_health(before)

    async def rebuild_health(self, before: float) -> None:
        """Each provider's health from the calls runs before `before` finished in its window
        (read again later when they cannot be read now)."""
        try:
            counted = await rebuild_health(self._store, self._health, before=before)
        except Exception as exc:  # health starts from this run's calls until then
            what = "could not read the last calls back for each provider's health"
            self._store.redo_later(log, what, exc, lambda: self.rebuild_health(before))
            return
        if counted:
            log.info("provider health rebuilt from %d recorded call(s)", counted)

    def begin_store_check(self) -> None:
        """Arm the store's start-up check for this run: `store_check` runs it, until
        `end_store_check`."""
        self._check_stop = threading.Event()

    def end_store_check(self) -> None:
        """Stop the store check at once (the close's checkpoint must not wait for it)."""
        self._check_stop.set()

    async def store_check(self) -> None:
        """The store's start-up check (SQLite: `PRAGMA quick_check` within a time budget)."""
        problem = await self._store.check(self._check_stop)
        if problem is not None:
            self._store.health.report("integrity", problem)

    async def maintain_forever(self) -> None:
        """Hourly: forget old conversations (and the dirs made for them), prune the recorder."""
        while True:
            try:
                cutoff = self._clock() - self._settings.jobs.retention_days * 86400
                removed = await self._calls.expire_conversations(cutoff)
                if removed:
                    log.info("forgot %d conversation(s) unused for the retention period", removed)
                pruned = await self._recorder.prune()
                if pruned:
                    log.info("pruned %d flight-recorder row(s)", pruned)
                await self._refusals.prune()
            except Exception as exc:
                self._store.log_failure(log, "maintenance failed", exc)
            await asyncio.sleep(MAINTENANCE_EVERY_S)
