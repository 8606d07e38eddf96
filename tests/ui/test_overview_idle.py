"""The Overview at rest: its status line changes words only when something changed, so an
idle window does not lay the page out again every second (docs/PERFORMANCE.md, "The window's
idle CPU and memory, issue 41")."""

from __future__ import annotations

import pytest

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.overview import OverviewPage, uptime_text
from tests.ui.desk_gateway import Desk, OnWindow


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "under a minute"),
        (59.9, "under a minute"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1h 00m"),
        (3 * 3600 + 5 * 60 + 59, "3h 05m"),
        (26 * 3600 + 59 * 60, "1d 2h"),
    ],
)
def test_the_uptime_is_told_to_the_minute(seconds: float, words: str) -> None:
    assert uptime_text(seconds) == words


def test_an_idle_status_line_keeps_its_words_within_a_minute(on_window: OnWindow) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        page = window.pages[OverviewPage.KEY]
        assert isinstance(page, OverviewPage)
        lifecycle = desk.runtime.engine.lifecycle
        assert lifecycle.started_at is not None
        seen = []
        for uptime in (125.0, 126.0, 179.0):  # three ticks in the same minute
            lifecycle.started_at = lifecycle._clock() - uptime
            page.refresh_status()
            seen.append(page.status_label.text())
        assert seen == ["Running for 2 min"] * 3
        lifecycle.started_at = lifecycle._clock() - 180.0
        page.refresh_status()
        assert page.status_label.text() == "Running for 3 min"

    on_window(body)
