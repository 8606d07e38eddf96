"""UI tests collect cyclic garbage on the GUI thread only, as the desktop app does.

Without this, Python may run its collector on the database thread mid-test and destroy a
Qt object there while Qt still holds timers for it: a random segfault (see ui/gc_guard.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import qasync

from llmgw_desktop.ui.event_loop import GatewayEventLoop
from llmgw_desktop.ui.qt import QApplication


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
