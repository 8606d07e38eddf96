"""The desktop composition root in-process, on a qasync loop, offscreen."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace

import aiohttp
import pytest
import qasync

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.shell.exit_codes import EXIT_PORT_IN_USE
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.ui.qt import QApplication, QMessageBox
from tests.ui.waiting import until


def _dialog() -> QMessageBox | None:
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    return next((b for b in boxes if b.isVisible()), None)


def _run(loop: qasync.QEventLoop, scenario: Callable[[], Awaitable[int]]) -> int:
    return int(loop.run_until_complete(scenario()))


@pytest.fixture
def squatted(loaded: LoadedSettings) -> Iterator[tuple[LoadedSettings, int]]:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        yield replace(loaded, settings=loaded.settings.with_values({"http.port": port})), port


def test_desktop_serves_and_quits_cleanly(qloop: qasync.QEventLoop, loaded: LoadedSettings) -> None:
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    desktop = DesktopApp(loaded, lock)

    async def scenario() -> int:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None and desktop.window.isVisible(), "window")
        assert desktop.runtime is not None
        async with (
            aiohttp.ClientSession() as client,
            client.get(desktop.runtime.base_url + "/health") as response,
        ):
            assert (await response.json())["status"] == "ok"
        desktop.actions.quit.trigger()  # type: ignore[union-attr]
        return await run

    try:
        assert _run(qloop, scenario) == 0
    finally:
        lock.release()
    assert desktop.runtime is not None and desktop.runtime.engine.state.value == "stopped"


def test_taken_port_offers_the_next_free_one(
    qloop: qasync.QEventLoop, squatted: tuple[LoadedSettings, int]
) -> None:
    loaded, taken = squatted
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    desktop = DesktopApp(loaded, lock)

    async def scenario() -> int:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(_dialog, "port dialog")
        box = _dialog()
        assert box is not None and f"Port {taken} is already used" in box.text()
        use = next(b for b in box.buttons() if b.text().startswith("Use port"))
        use.click()
        await until(lambda: desktop.runtime is not None and desktop.window is not None, "ui")
        assert desktop.runtime is not None and desktop.runtime.http.port > taken
        desktop.request_quit()
        return await run

    try:
        assert _run(qloop, scenario) == 0
    finally:
        lock.release()


def test_declining_another_port_exits_with_port_in_use(
    qloop: qasync.QEventLoop, squatted: tuple[LoadedSettings, int]
) -> None:
    loaded, _ = squatted
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    desktop = DesktopApp(loaded, lock)

    async def scenario() -> int:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(_dialog, "port dialog")
        box = _dialog()
        assert box is not None
        next(b for b in box.buttons() if b.text() == "Quit").click()
        return await run

    try:
        assert _run(qloop, scenario) == EXIT_PORT_IN_USE
    finally:
        lock.release()
