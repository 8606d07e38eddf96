"""Overview's traffic, cost and savings figures survive a restart, and it shows a degraded store.

A real gateway (in this process, with its HTTP front door) answers requests through the
scripted upstream and is stopped; a second gateway on the same data dir starts, and a fresh
Overview page on it shows those requests in its 24 h totals (read back from the store at
start-up, off the event loop). Offscreen Qt on a qasync loop; waits are awaited and bounded,
never a nested Qt loop inside a coroutine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.pages.base import PageContext, WindowFacts
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.qt import QApplication
from tests.fakes.upstream import ScriptedUpstream
from tests.ui.waiting import until

REQUESTS = 12


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp)
    yield loop
    loop.close()


async def _started(loaded: LoadedSettings) -> tuple[GatewayRuntime, InstanceLock]:
    settings = loaded.settings.with_values({"http.port": 0})
    lock = InstanceLock(settings.data_path)
    assert lock.acquire()
    runtime = GatewayRuntime(
        replace(loaded, settings=settings), mode="desktop", lock=lock, on_activate=lambda: "x"
    )
    await runtime.start()
    return runtime, lock


async def _ask(runtime: GatewayRuntime, n: int) -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": f"hi {n}"}],
    }
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            runtime.base_url + "/v1/messages",
            json=body,
            headers={"anthropic-version": "2023-06-01", "x-api-key": "unused"},
        ) as response,
    ):
        assert response.status == 200, await response.text()


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
            bridge = EngineBridge(runtime.engine)
            actions = GatewayActions(
                bridge,
                endpoint=lambda: runtime.mcp_url,
                open_dashboard=lambda: None,
                quit_app=lambda: None,
            )
            data = runtime.settings.data_path
            facts = WindowFacts(runtime.mcp_url, runtime.base_url + "/health", data, data)
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
