"""Collect Python's cyclic garbage on the Qt thread only.

Python runs its cycle collector on whichever thread happens to allocate when a threshold is
crossed. Here that is often the database thread or the event loop's executor. If a cycle
holds a Qt object, its C++ destructor then runs on that thread, while Qt may still fire a
timer or deliver an event to it on the GUI thread: a use-after-free that crashes the process
(seen as random segfaults in the UI tests, with gdb showing a timer firing on a freed object).

So the desktop app turns automatic collection off and collects from a timer on the GUI
thread instead, when the youngest generation has grown past the serving threshold
(`gc_tuning.py`).
"""

from __future__ import annotations

import gc

from llmgw_desktop.engine.api import SERVING_THRESHOLDS, note_frozen
from llmgw_desktop.ui.qt import QObject, QTimer

__all__ = ["GuiThreadCollector"]

CHECK_EVERY_MS = 500


class GuiThreadCollector(QObject):
    """Disables automatic GC while alive; collects on the GUI thread when it is due."""

    def __init__(self, interval_ms: int = CHECK_EVERY_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = SERVING_THRESHOLDS
        self._was_enabled = gc.isenabled()
        self._froze = False
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, as Python would."""
        first, second, third = self._thresholds
        count0, count1, count2 = gc.get_count()
        if count0 > first:
            generation = 0
            if count1 > second:
                generation = 1
                if count2 > third:
                    generation = 2
            gc.collect(generation)

    def freeze_startup_objects(self) -> None:
        """Move everything alive now (modules, the engine, the widgets) out of the collector's
        view: a full collection then walks only what was made since, so it stays well under
        a frame instead of the 25-35 ms a full walk took with the dashboard open.

        No collection first: measured in the real app at this moment, a full collection found
        0 unreachable objects (after a young one found 123) and held the window 54-112 ms,
        the one stall over a frame a person could see in bench/dashboard_flood.py. The
        little garbage the young generations may hold stays frozen, once.

        If the process already froze objects of its own (a host such as a test runner that
        starts many apps), the permanent generation is its to manage: freezing ours on top
        could not be undone without unfreezing its objects too, so the app leaves it alone."""
        if self._froze:
            return
        if gc.get_freeze_count() == 0:
            gc.freeze()
            self._froze = True
            note_frozen()

    def stop(self) -> None:
        """Collect once more here and give collection back to Python."""
        self._timer.stop()
        if self._froze:
            gc.unfreeze()
            self._froze = False
            note_frozen(False)
        gc.collect()
        if self._was_enabled:
            gc.enable()
