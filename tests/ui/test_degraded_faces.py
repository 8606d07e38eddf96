"""Every face of the window says a serving gateway is degraded when `/health` does: the header's
chip, Overview's Gateway card and status line, and the tray, each for every part that can
degrade it (`engine/degraded.py`, the one rule they read).

Found on screen (2026-11-29): a full log disk made `/health` and the header say degraded while
Overview's card read "Working" in green and the tray "idle". The store's problem is reported as
the store reports one; the log's is the log writer's own note (`note_log_refused`, what
`LogFile` calls: the full disk itself is `tests/reliability/test_log_full_disk.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llmgw_desktop.engine.api import Engine, note_log_refused
from llmgw_desktop.ui.main_window import MainWindow
from tests.ui.desk_gateway import Desk, OnWindow, desk_tray


def _store_damaged(engine: Engine) -> Callable[[], None]:
    engine.store.health.report("integrity", "integrity: database disk image is malformed")
    return lambda: engine.store.health.clear("integrity")


def _log_refused(_engine: Engine) -> Callable[[], None]:
    note_log_refused("the log file cannot be written: No space left on device")
    return lambda: note_log_refused(None)


# Each part that degrades a serving gateway: how a test makes it so (and undoes it), the words
# its reason holds, and the tone the window gives it.
DEGRADING = {
    "store": (_store_damaged, "disk image is malformed", "error"),
    "log": (_log_refused, "No space left on device", "warning"),
}


@pytest.mark.parametrize("part", sorted(DEGRADING))
def test_every_face_says_degraded_while_health_does(part: str, on_window: OnWindow) -> None:
    degrade, words, tone = DEGRADING[part]

    async def body(desk: Desk, window: MainWindow) -> None:
        engine, overview = desk.runtime.engine, window.overview
        chip, card = window.header.chips["gateway"], overview.figures.cards["gateway"]
        with desk_tray(desk) as tray:

            def faces() -> dict[str, object]:
                window.header.redraw()
                overview.refresh_status()
                tray.redraw()
                return {
                    "health": engine.health()["status"],
                    "chip": (chip.text(), chip.property("tone")),
                    "card": (card.value.text(), card.value.property("tone")),
                    "status line": "degraded" in overview.status_label.text(),
                    "tray": tray.state,
                }

            well = faces()
            assert well["health"] == "ok" and well["chip"] == ("Running", "ok"), well
            undo = degrade(engine)
            try:
                assert faces() == {
                    "health": "degraded",
                    "chip": ("Degraded", tone),
                    "card": ("Degraded", tone),
                    "status line": True,
                    "tray": tone,  # amber beside the amber chip, red beside the red one
                }
                for tip in (chip.toolTip(), card.toolTip(), tray.tooltip()):
                    assert words in tip, tip
            finally:
                undo()
            assert faces() == well

    on_window(body)
