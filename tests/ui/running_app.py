"""The whole desktop app in the test's process, for the tests that run it (`shell/app.py`).

`desktop_app` holds the data folder's instance lock for an app, as `llmgw-desktop` does before
it builds one; `app_running` runs it on the test's loop until the block ends, then quits it as
the tray's Quit does and checks that it exited cleanly; `exit_code` runs it while a test drives
it to its end (its Quit action, the port dialog's Quit) and gives the code it exits with.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol, TypeVar

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.shell.instance import InstanceLock
from tests.waiting import until

__all__ = ["OnApp", "app_running", "desktop_app", "exit_code", "ui_up", "window_shown"]

T = TypeVar("T")


@contextmanager
def desktop_app(loaded: LoadedSettings, **options: Any) -> Iterator[DesktopApp]:
    """A `DesktopApp(loaded, lock, **options)` holding its data folder's lock until the block
    ends."""
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    try:
        yield DesktopApp(loaded, lock, **options)
    finally:
        lock.release()


def ui_up(desktop: DesktopApp) -> bool:
    """The app serves and its desk is built: the window and tray, and the desk's questions
    wired (the last thing it does before it waits to quit)."""
    return desktop.consent is not None


def window_shown(desktop: DesktopApp) -> bool:
    """The app's window is up and visible (a start that is not hidden shows it)."""
    return desktop.window is not None and desktop.window.isVisible()


@asynccontextmanager
async def app_running(
    desktop: DesktopApp, up: Callable[[DesktopApp], Any] = ui_up
) -> AsyncIterator[DesktopApp]:
    """Run `desktop` until `up(desktop)`, yield it, then quit it and await its end: it must
    exit 0."""
    run = asyncio.get_running_loop().create_task(desktop.run())
    try:
        await until(lambda: up(desktop), "the desktop app up")
        yield desktop
    finally:
        desktop.request_quit()
        code = await run
    assert code == 0, f"the desktop app exited with {code}"


def exit_code(
    loop: asyncio.AbstractEventLoop, desktop: DesktopApp, drive: Callable[[], Awaitable[object]]
) -> int:
    """Run `desktop` on `loop` and `await drive()` while it runs; `drive` ends the app (its
    Quit action, a dialog's Quit). The code the app exits with."""

    async def scenario() -> int:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await drive()
        return await run

    return int(loop.run_until_complete(scenario()))


class OnApp(Protocol):
    """`on_app(desktop, body, up=...)` (the fixture): `await body(desktop)` while `desktop`
    runs (`app_running`); what `body` returns."""

    def __call__(
        self,
        desktop: DesktopApp,
        body: Callable[[DesktopApp], Awaitable[T]],
        up: Callable[[DesktopApp], Any] = ...,
    ) -> T: ...
