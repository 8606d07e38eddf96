"""The desktop app's collector: automatic GC off while it runs, collection on the GUI thread."""

from __future__ import annotations

import gc

from pytestqt.qtbot import QtBot

from llmgw_desktop.gc_tuning import SERVING_THRESHOLDS
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
