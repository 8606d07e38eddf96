"""Overview's traffic, cost and savings figures survive a restart, and it shows a degraded store.

A real gateway (in this process, with its HTTP front door) answers requests through the
scripted upstream and is stopped; a second gateway on the same data dir starts, and a fresh
Overview page on it shows those requests in its 24 h totals (read back from the store at
start-up, off the event loop). Offscreen Qt on a qasync loop; waits are awaited and bounded,
never a nested Qt loop inside a coroutine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.qt import QApplication
from tests.fakes.upstream import ScriptedUpstream
from tests.gateways import start_runtime
from tests.ui.desk_gateway import desk_faces, post_messages
from tests.ui.waiting import until

REQUESTS = 12


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp)
    yield loop
    loop.close()


async def _started(loaded: LoadedSettings) -> tuple[GatewayRuntime, InstanceLock]:
    return await start_runtime(
        loaded, loaded.settings.with_values({"http.port": 0}), mode="desktop"
    )


async def _ask(runtime: GatewayRuntime, n: int) -> None:
    await post_messages(runtime, content=f"hi {n}")


def test_overview_shows_the_last_24h_after_a_restart_and_a_degraded_store(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty-bin"  # no CLI on PATH: the health table answers at once
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    async def scenario() -> None:
        async with ScriptedUpstream() as upstream:
            monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-bbbbbbbb")
            monkeypatch.setenv("ANTHROPIC_BASE_URL", upstream.base_url)
            first, lock = await _started(loaded)
            for n in range(REQUESTS):
                await _ask(first, n)
            await first.stop()
            lock.release()

            runtime, lock = await _started(loaded)
            bridge, actions, facts = desk_faces(runtime)
            page = OverviewPage(PageContext(bridge=bridge, actions=actions, facts=facts))
            qtbot.addWidget(page)
            try:
                page.show()
                page.page_shown()
                page.charts.set_window("24h")
                totals = page.charts.totals_label
                await until(lambda: f"{REQUESTS} requests" in totals.text(), totals.text())
                assert "Last 24 h" in totals.text()
                # Live traffic adds to what was read back, never counted twice.
                await _ask(runtime, REQUESTS)
                await until(lambda: f"{REQUESTS + 1} requests" in totals.text(), totals.text())

                # A store that cannot be written shows on the status line, and clears.
                assert "degraded" not in page.status_label.text()
                runtime.engine.store.health.report("recorder", "cannot write (disk full)")
                page.refresh_status()
                assert "degraded: recorder: cannot write (disk full)" in page.status_label.text()
                runtime.engine.store.health.clear("recorder")
                page.refresh_status()
                assert "degraded" not in page.status_label.text()
            finally:
                page.page_hidden()
                bridge.detach()
                await runtime.stop()
                lock.release()

    qloop.run_until_complete(scenario())
