"""The Flight recorder page stays usable while the start-up prune of a large store runs.

A store 300,000 rows over `recorder.max_rows` (made with one bulk `INSERT ... SELECT` before
the gateway starts) is opened by a real gateway, whose start-up maintenance prunes it in
batches. The real page, offscreen on the desktop's qasync loop, lists rows and shows their count
within a bound while that prune is still running (it used to show an empty table and
"counting…" for about 80 s). Waits are awaited and bounded, never a nested Qt loop.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import qasync

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.store import Database
from llmgw_desktop.ui.pages.recorder import RecorderPage
from tests.reliability.test_recorder_prune import CAP, OVER, bulk_fill
from tests.ui.conftest import on_desk, on_gateway, qloop  # noqa: F401 - fixtures
from tests.ui.desk_gateway import Desk, OnDesk

PAGE_BOUND_S = 5.0  # rows and count on screen, on a loaded 2-core machine, while pruning


def _count_shown(page: RecorderPage) -> int | None:
    text = page.count_label.text()
    if "counting" in text or not text:
        return None
    return int(text.split()[0].replace(",", ""))


def test_recorder_page_lists_and_counts_rows_while_the_start_up_prune_runs(
    qloop: qasync.QEventLoop,  # noqa: F811
    on_desk: OnDesk,  # noqa: F811
    loaded: LoadedSettings,
) -> None:
    settings = loaded.settings.with_values({"recorder.max_rows": CAP})

    async def made() -> None:
        store = Database(settings.database_file)
        await store.open()
        await store.close()

    qloop.run_until_complete(made())
    bulk_fill(settings.database_file, CAP + OVER, time.time())

    async def body(desk: Desk, page: RecorderPage) -> None:
        shown = time.monotonic()
        page.page_shown()
        async with asyncio.timeout(PAGE_BOUND_S):
            while not (page.model.rowCount() and _count_shown(page)):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        took = time.monotonic() - shown
        counted = _count_shown(page)
        print(f"rows and count ({counted:,}) on screen {took * 1000:.0f} ms after showing")
        assert counted is not None and counted > CAP, "the prune was over: not a test"
        # The prune goes on to leave exactly the cap.
        async with asyncio.timeout(120):
            query = desk.runtime.engine.recorder_query
            # The store has no awaitable for "pruned"; polled, bounded.
            while await query.count(page.current_filters()) > CAP:  # noqa: ASYNC110
                await asyncio.sleep(0.2)

    on_desk(RecorderPage, body, size=(1200, 800), loaded=replace(loaded, settings=settings))
