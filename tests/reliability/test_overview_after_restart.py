"""Overview's traffic, cost and savings figures survive a restart, and it shows a degraded store.

A real gateway (in this process, with its HTTP front door) answers requests through the
scripted upstream and is stopped; a second gateway on the same data dir starts, and a fresh
Overview page on it shows those requests in its 24 h totals (read back from the store at
start-up, off the event loop). Offscreen Qt on the desktop's qasync loop; waits are awaited and
bounded, never a nested Qt loop inside a coroutine.
"""

from __future__ import annotations

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.pages.overview import OverviewPage
from tests.ui.conftest import on_desk, on_gateway, qloop  # noqa: F401 - fixtures
from tests.ui.desk_gateway import Desk, OnDesk, OnGateway, post_messages
from tests.waiting import until

REQUESTS = 12


async def _ask(runtime: GatewayRuntime, n: int) -> None:
    await post_messages(runtime, content=f"hi {n}")


def test_overview_shows_the_last_24h_after_a_restart_and_a_degraded_store(
    on_gateway: OnGateway,  # noqa: F811
    on_desk: OnDesk,  # noqa: F811
) -> None:
    async def before_the_restart(desk: Desk) -> None:
        for n in range(REQUESTS):
            await _ask(desk.runtime, n)

    async def after_the_restart(desk: Desk, page: OverviewPage) -> None:
        runtime = desk.runtime
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

    on_gateway(before_the_restart)
    # A second gateway on the same data dir, the page fresh on it.
    on_desk(OverviewPage, after_the_restart)
