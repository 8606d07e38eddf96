"""The desktop app's collector: automatic GC off while it runs, collection on the GUI thread."""

from __future__ import annotations

import gc

from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.gc_guard import GuiThreadCollector


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collection_happens_on_the_gui_thread_timer(qtbot: QtBot) -> None:
    gc.enable()
    collector = GuiThreadCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        for _ in range(gc.get_threshold()[0] + 50):
            _Cycle()
        assert gc.get_count()[0] > gc.get_threshold()[0]
        qtbot.waitUntil(lambda: gc.get_count()[0] < gc.get_threshold()[0], timeout=2000)
    finally:
        collector.stop()
    assert gc.isenabled()
