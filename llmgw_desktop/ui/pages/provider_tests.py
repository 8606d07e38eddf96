"""The Providers page's Test: a tiny request to one provider, run as its own task, its result
kept for the provider's details ("gpt-4o-mini: OK in 0.4 s: ..."). The engine keeps a failed
test as the provider's lasting trouble (its status says "Test failed" until a later success),
so the page reloads its rows after each."""

from __future__ import annotations

import logging
from collections.abc import Callable

from llmgw_desktop.engine.api import Engine, ProbeResult
from llmgw_desktop.ui.pages.provider_rows import CLI_DEFAULT_MODEL, ProviderRow
from llmgw_desktop.ui.tasks import UiTasks

__all__ = ["ProviderTests"]

log = logging.getLogger(__name__)


class ProviderTests:
    """Tests under way and their last results, by row key; `done(row)` after each."""

    def __init__(self, engine: Engine, tasks: UiTasks, done: Callable[[ProviderRow], None]):
        self._engine = engine
        self._tasks = tasks
        self._done = done
        self.results: dict[str, ProbeResult] = {}
        self.running: set[str] = set()

    def start(self, row: ProviderRow, model: str) -> bool:
        """Test `row` with `model` (the CLI's own default: no model) in the background;
        False when one is under way already or the task could not start."""
        if row.key in self.running:
            return False
        self.running.add(row.key)
        wanted = "" if model.strip() == CLI_DEFAULT_MODEL else model.strip()
        if not self._tasks.spawn(self._run(row, wanted), what=f"test {row.name}"):
            self.running.discard(row.key)
            return False
        return True

    async def _run(self, row: ProviderRow, model: str) -> None:
        try:
            result = await self._engine.providers.probe(row.gateway_id, model)
        finally:
            self.running.discard(row.key)
        self.results[row.key] = result
        log.info("dashboard test of %s: %s", row.gateway_id, result.summary())
        self._done(row)

    def line(self, key: str) -> tuple[str, bool]:
        """The details' line for the last test, and whether it failed."""
        result = self.results.get(key)
        if key in self.running:
            return "Testing…", False
        if result is None:
            return "Not tested yet", False
        return f"{result.model or 'default model'}: {result.summary()}", not result.ok
