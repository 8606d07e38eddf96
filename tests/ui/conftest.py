"""The UI tests' shared fixtures: the desktop's loop (`qloop`), and a desk gateway to run a
test's body on (`on_gateway`), with the dashboard window on it (`on_window`) or one page
(`on_desk`, `run_desk`), or the whole desktop app (`on_app`).

UI tests collect cyclic garbage on the GUI thread only, as the desktop app does. Without this,
Python may run its collector on the database thread mid-test and destroy a Qt object there
while Qt still holds timers for it: a random segfault (see ui/gc_guard.py).
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.event_loop import GatewayEventLoop
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import QApplication
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import (
    Desk,
    OnDesk,
    OnGateway,
    OnWindow,
    RunDesk,
    desk_gateway,
    desk_window,
)
from tests.ui.oauth_browser import consent_settings
from tests.ui.running_app import OnApp, app_running, desktop_app, ui_up

T = TypeVar("T")


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
def on_gateway(
    qloop: qasync.QEventLoop,
    loaded: LoadedSettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> OnGateway:
    """`on_gateway(body, loaded=..., replies=..., also_upstream=..., keyed=...)` starts a
    desktop-mode gateway on the scripted upstream (`desk_gateway`, on `loaded` when given, else
    the test's settings), runs `await body(desk)` on the desktop's loop and stops it; what
    `body` returns."""
    tests_own = loaded

    def run(
        body: Callable[[Desk], Awaitable[T]],
        *,
        loaded: LoadedSettings | None = None,
        replies: tuple[Reply, ...] = (),
        also_upstream: tuple[str, ...] = (),
        keyed: bool = True,
        own_providers: Mapping[str, Mapping[str, Any]] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> T:
        settings = tests_own if loaded is None else loaded

        async def scenario() -> T:
            async with desk_gateway(
                settings,
                monkeypatch,
                tmp_path,
                replies=replies,
                also_upstream=also_upstream,
                keyed=keyed,
                own_providers=own_providers,
                values=values,
            ) as desk:
                return await body(desk)

        return qloop.run_until_complete(scenario())

    return run


@pytest.fixture
def on_window(on_gateway: OnGateway, qtbot: QtBot) -> OnWindow:
    """`on_window(body, size=..., show=..., **gateway)` runs `await body(desk, window)` with
    the dashboard window (`desk_window`: at `size`, shown unless `show=False`) on a gateway
    from `on_gateway` (its keywords pass through), and closes the window after it."""

    def run(
        body: Callable[[Desk, MainWindow], Awaitable[T]],
        *,
        size: tuple[int, int] | None = None,
        show: bool = True,
        **gateway: Any,
    ) -> T:
        async def in_window(desk: Desk) -> T:
            with desk_window(desk, qtbot, size=size, show=show) as window:
                return await body(desk, window)

        return on_gateway(in_window, **gateway)

    return run


@pytest.fixture
def on_desk(on_gateway: OnGateway, qtbot: QtBot) -> OnDesk:
    """`on_desk(PageType, body, size=..., **gateway)` shows the page alone on a gateway from
    `on_gateway` (its keywords pass through) and runs `await body(desk, page)` on it."""

    def run(
        page_type: type[Page],
        body: Callable[[Desk, Any], Awaitable[None]],
        *,
        size: tuple[int, int] = (1200, 800),
        **gateway: Any,
    ) -> None:
        async def on_page(desk: Desk) -> None:
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

        on_gateway(on_page, **gateway)

    return run


@pytest.fixture
def on_app(qloop: qasync.QEventLoop) -> OnApp:
    """`on_app(desktop, body, up=...)` runs the whole desktop app (`app_running`: until
    `up(desktop)`, then quit, exiting 0) and `await body(desktop)` while it runs; what `body`
    returns."""

    def run(
        desktop: DesktopApp,
        body: Callable[[DesktopApp], Awaitable[T]],
        up: Callable[[DesktopApp], Any] = ui_up,
    ) -> T:
        async def scenario() -> T:
            async with app_running(desktop, up):
                return await body(desktop)

        return qloop.run_until_complete(scenario())

    return run


@pytest.fixture
def consent_desktop(request: pytest.FixtureRequest, loaded: LoadedSettings) -> Iterator[DesktopApp]:
    """The desktop app with OAuth on and one static client whose sign-ins wait for consent at
    the desk (`oauth_browser.consent_settings`); an indirect parameter overrides settings."""
    with desktop_app(consent_settings(loaded, getattr(request, "param", {}))) as app:
        yield app


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
