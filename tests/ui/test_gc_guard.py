"""The desktop app's collector: automatic GC off while it runs, collection on the GUI thread."""

from __future__ import annotations

import gc

from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.gc_tuning import SERVING_THRESHOLDS
from llmgw_desktop.ui.gc_guard import GuiThreadCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collection_happens_on_the_gui_thread_timer(qtbot: QtBot) -> None:
    gc.enable()
    collector = GuiThreadCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        young = SERVING_THRESHOLDS[0]
        for _ in range(young + 50):
            _Cycle()
        assert gc.get_count()[0] > young
        qtbot.waitUntil(lambda: gc.get_count()[0] < young, timeout=2000)
    finally:
        collector.stop()
    assert gc.isenabled()


def test_the_app_freezes_its_start_up_and_gives_it_back_on_stop(qtbot: QtBot) -> None:
    gc.unfreeze()  # as in a fresh process (the UI package froze its heap: restored below)
    try:
        collector = GuiThreadCollector(interval_ms=10)
        collector.freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        collector.stop()
        assert gc.get_freeze_count() == 0
    finally:
        gc.collect()
        gc.freeze()


def test_a_host_that_froze_its_own_heap_keeps_it_frozen(qtbot: QtBot) -> None:
    frozen = gc.get_freeze_count()
    assert frozen > 0  # tests/ui/conftest.py froze what earlier packages left
    collector = GuiThreadCollector(interval_ms=10)
    collector.freeze_startup_objects()
    assert gc.get_freeze_count() == frozen  # the app did not add its objects on top
    collector.stop()
    assert gc.get_freeze_count() == frozen  # nor thaw the host's
