"""The Flight recorder's detail held to the window, whatever it shows (issue 41, second review).

N1: with a request's bodies kept, the detail ran off the window at 1920 px: its status pill
read "comp…", "Export bo…" was cut, and the response JSON went past the right edge with no
scroll bar. On a real desktop gateway, a request kept by body capture (through the official
`anthropic` SDK, answered by the scripted upstream with a long line) is shown in the real
window at both gallery sizes: everything of the detail lies inside its pane, and the bodies wrap
rather than scroll sideways.
"""

from __future__ import annotations

import asyncio

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_detail import RecorderDetail
from llmgw_desktop.ui.qt import QPoint, QTextBrowser, QWidget
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnWindow, messages_request
from tests.waiting import until

# As the gallery's kept request answered: a sentence with long words, on one JSON line.
LONG_ANSWER = (
    "Rename `tmp` to `pending_orders_awaiting_shipment_confirmation`: it holds the orders "
    "not yet shipped, and `process_pending_orders_awaiting_shipment_confirmation()` reads it."
)


def _tab_pages(card: RecorderDetail) -> list[QWidget]:
    return [card.tabs.widget(i) for i in range(card.tabs.count())]


def _on_one_line(browser: QTextBrowser, words: str) -> bool:
    """Whether `words` (and, for an arrow, the times either side of it) lie on one line of
    `browser`'s laid-out text."""
    block = browser.document().begin()
    while block.isValid():
        text = block.text()
        at = text.find(words)
        if at >= 0:
            start, end = at, at + len(words) - 1
            if words == "→":
                start, end = at - 9, at + 10  # "07:38:18 → 07:38:18"
            layout = block.layout()
            first = layout.lineForTextPosition(start).lineNumber()
            return first == layout.lineForTextPosition(end).lineNumber()
        block = block.next()
    raise AssertionError(f"{words!r} is not in the detail")


def _right_edge_in(widget: QWidget, area: QWidget) -> int:
    """Where `widget`'s right edge lies in `area`'s coordinates."""
    return widget.mapTo(area, QPoint(widget.width(), 0)).x()


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 700)])
def test_the_detail_of_a_kept_request_stays_inside_its_pane(
    size: tuple[int, int], on_window: OnWindow, qtbot: QtBot
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        engine.body_capture.apply("recorder.capture.providers", ["anthropic"])
        await messages_request(desk.runtime, {"X-Caller": "cursor"})
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        window.show_page(RecorderPage.KEY)
        await until(lambda: recorder.model.loaded == 1, "the kept request listed")
        recorder.table.selectRow(0)
        await until(lambda: recorder.bodies.isVisible(), "the kept bodies shown")
        await until(lambda: recorder.replay.replay_button.isEnabled(), "Replay offered")
        await asyncio.sleep(0.05)  # the layout settles (what follows checks bounds: a settle)

        area = recorder.body.findChild(QWidget, "detailScroll")
        assert area is not None
        room = area.viewport().width()  # type: ignore[attr-defined]
        inner = area.widget()  # type: ignore[attr-defined]
        assert inner.width() <= room, (inner.width(), room, inner.minimumSizeHint())
        card, bodies = recorder.detail_card, recorder.bodies
        for part in (
            card.badge,
            card.heading,
            recorder.replay.replay_button,
            recorder.replay.curl_button,
            bodies.export_button,
            bodies.title,
            card.text,
            bodies.request_view,
            bodies.response_view,
        ):
            card.tabs.setCurrentWidget(part if part in _tab_pages(card) else card.text)
            await asyncio.sleep(0.02)
            right = _right_edge_in(part, area.viewport())  # type: ignore[attr-defined]
            assert right <= room, (part.objectName() or type(part).__name__, right, room)
        # Gallery review, finding 7: the form and the two bodies were three boxes of about
        # 90 px stacked, the form's Caller row cut. One box now, the bodies as its tabs,
        # taller than the list's half.
        card.tabs.setCurrentWidget(card.text)
        await until(lambda: card.text.height() > recorder.table.height() // 2, "the details tall")
        await asyncio.sleep(0.02)  # a settle as well, for the bounds and absent bars below
        assert [card.tabs.tabText(i) for i in range(card.tabs.count())] == [
            "Details",
            "Request",
            "Response",
        ]
        # Every tab reads whole beside the others (at 1024x768 under X11's fonts "Response
        # body" was cut to "Response b" behind scroll arrows); the whole in its tooltip.
        bar = card.tabs.tabBar()
        assert bar.tabRect(bar.count() - 1).right() <= bar.width(), bar.width()
        assert card.tabs.tabToolTip(2) == "The response body, as kept"
        assert card.text.height() > recorder.table.height() // 2, card.text.height()
        # The id and the two times are never broken across lines.
        record = recorder.model.summary(0)
        assert record is not None
        assert _on_one_line(card.text, str(record.id))
        assert _on_one_line(card.text, "→"), "the start and end times"
        # The status pill reads whole: as wide as it asks to be.
        assert card.badge.width() >= card.badge.sizeHint().width()
        assert bodies.export_button.width() >= bodies.export_button.sizeHint().width()
        # The bodies wrap: nothing to scroll to sideways.
        for view in (bodies.request_view, bodies.response_view):
            assert view.horizontalScrollBar().maximum() == 0, view.objectName()
        # The window was not widened by the detail.
        assert window.width() == size[0]

    replies = (Reply.ok(LONG_ANSWER, verbatim=True),)
    on_window(body, size=size, replies=replies)
