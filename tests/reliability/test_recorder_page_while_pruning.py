"""The Flight recorder page stays usable while the start-up prune of a large store runs.

A store 300,000 rows over `recorder.max_rows` (made with one bulk `INSERT ... SELECT` before
the gateway starts) is opened by a real gateway, whose start-up maintenance prunes it in
batches. The real page, offscreen on a qasync loop, lists rows and shows their count within a
bound while that prune is still running (it used to show an empty table and "counting…" for
about 80 s). Waits are awaited and bounded, never a nested Qt loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.store import Database
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import QApplication
from tests.gateways import start_runtime
from tests.reliability.test_recorder_prune import CAP, OVER, bulk_fill
from tests.ui.desk_gateway import desk_faces

PAGE_BOUND_S = 5.0  # rows and count on screen, on a loaded 2-core machine, while pruning


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp)
    yield loop
    loop.close()


def _count_shown(page: RecorderPage) -> int | None:
    text = page.count_label.text()
    if "counting" in text or not text:
        return None
    return int(text.split()[0].replace(",", ""))


def test_recorder_page_lists_and_counts_rows_while_the_start_up_prune_runs(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    settings = loaded.settings.with_values({"http.port": 0, "recorder.max_rows": CAP})

    async def scenario() -> None:
        made = Database(settings.database_file)
        await made.open()
        await made.close()
        bulk_fill(settings.database_file, CAP + OVER, time.time())

        runtime, lock = await start_runtime(loaded, settings, mode="desktop")
        bridge, actions, facts = desk_faces(runtime)
        page = RecorderPage(PageContext(bridge=bridge, actions=actions, facts=facts))
        qtbot.addWidget(page)
        page.resize(1200, 800)
        try:
            shown = time.monotonic()
            page.show()
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
                query = runtime.engine.recorder_query
                # The store has no awaitable for "pruned"; polled, bounded.
                while await query.count(page.current_filters()) > CAP:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
        finally:
            page.page_hidden()
            page.tasks.cancel_all()
            bridge.detach()
            await runtime.stop()
            lock.release()

    qloop.run_until_complete(scenario())
