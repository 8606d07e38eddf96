"""UI tests collect cyclic garbage on the GUI thread only, as the desktop app does.

Without this, Python may run its collector on the database thread mid-test and destroy a
Qt object there while Qt still holds timers for it: a random segfault (see ui/gc_guard.py).
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.event_loop import GatewayEventLoop
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import QApplication
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnDesk, RunDesk, desk_gateway


@pytest.fixture(scope="package", autouse=True)
def freeze_what_earlier_tests_left() -> Iterator[None]:
    """Each UI test collects twice; in a whole-suite run the heap holds everything earlier
    packages left behind (hypothesis's caches, SDK clients, recorded bodies), and walking it
    took 3 s per collection. Frozen once here, the collections walk only what UI tests make."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture(autouse=True)
def collect_garbage_on_the_gui_thread() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        if was_enabled:
            gc.enable()


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """The desktop app's loop on the test's QApplication; closed windows never quit the app."""
    QApplication.setQuitOnLastWindowClosed(False)
    loop = GatewayEventLoop(qapp)
    yield loop
    loop.close()
    # The loop's Qt timers go with it here, on the GUI thread, in the autouse collection.


@pytest.fixture
def on_desk(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
    tmp_path: Path,
) -> OnDesk:
    """`on_desk(PageType, body, size=..., replies=..., also_upstream=...)` starts a desktop-mode
    gateway on the scripted upstream (`desk_gateway`), shows the page on it and runs
    `await body(desk, page)` on the desktop's loop."""

    def run(
        page_type: type[Page],
        body: Callable[[Desk, Any], Awaitable[None]],
        *,
        size: tuple[int, int] = (1200, 800),
        replies: tuple[Reply, ...] = (),
        also_upstream: tuple[str, ...] = (),
    ) -> None:
        async def scenario() -> None:
            async with desk_gateway(
                loaded, monkeypatch, tmp_path, replies=replies, also_upstream=also_upstream
            ) as desk:
                context = PageContext(bridge=desk.bridge, actions=desk.actions, facts=desk.facts)
                page = page_type(context)
                qtbot.addWidget(page)
                page.resize(*size)
                page.show()
                try:
                    await body(desk, page)
                finally:
                    page.page_hidden()
                    page.tasks.cancel_all()

        qloop.run_until_complete(scenario())

    return run


@pytest.fixture
def run_desk(on_desk: OnDesk) -> RunDesk:
    """`run_desk(body, replies=...)`: the Flight recorder page on a desk gateway (answering
    `replies` first), and `await body(runtime, page)` run on it."""

    def run(
        body: Callable[[GatewayRuntime, RecorderPage], Awaitable[None]],
        *,
        replies: tuple[Reply, ...] = (),
    ) -> None:
        async def on_page(desk: Desk, page: RecorderPage) -> None:
            await body(desk.runtime, page)

        on_desk(RecorderPage, on_page, size=(1200, 800), replies=replies)

    return run
