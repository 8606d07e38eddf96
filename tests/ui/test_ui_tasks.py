"""A widget's background work that ends after the widget was closed is not an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from llmgw_desktop.ui.event_loop import GatewayEventLoop
from llmgw_desktop.ui.qt import QApplication, QLabel
from llmgw_desktop.ui.tasks import UiTasks


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[GatewayEventLoop]:
    event_loop = GatewayEventLoop(qapp)
    yield event_loop
    event_loop.close()


def _closed_label() -> QLabel:
    """A label whose C++ side is gone, as a page's is after its window closed."""
    import shiboken6

    label = QLabel("before")
    shiboken6.delete(label)
    return label


def test_work_ending_after_its_widget_closed_is_one_debug_line_not_an_error(
    loop: GatewayEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    label = _closed_label()
    tasks = UiTasks(on_error=label.setText)
    answered = asyncio.Event()

    async def load() -> None:
        await answered.wait()  # the engine answers after the window closed
        label.setText("after")

    async def scenario() -> None:
        assert tasks.spawn(load(), what="sum the spend")
        answered.set()
        await tasks.settled()

    with caplog.at_level(logging.DEBUG, logger="llmgw_desktop.ui.tasks"):
        loop.run_until_complete(asyncio.wait_for(scenario(), 10))
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not errors, [r.getMessage() for r in errors]
    assert any("after its widget was closed" in r.getMessage() for r in caplog.records)


def test_a_real_failure_is_still_reported_to_the_window(
    loop: GatewayEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    shown: list[str] = []
    tasks = UiTasks(on_error=shown.append)

    async def load() -> None:
        raise RuntimeError("the store said no")

    async def scenario() -> None:
        assert tasks.spawn(load(), what="sum the spend")
        await tasks.settled()

    loop.run_until_complete(asyncio.wait_for(scenario(), 10))
    assert shown == ["Could not sum the spend: the store said no"]
    assert any(r.levelno == logging.ERROR for r in caplog.records)
