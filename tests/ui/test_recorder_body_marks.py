"""Which recorded requests can be replayed, at a glance (issue 41, second review, N13).

Replay on… needs the request's body, kept only where body capture is on; nothing in the list
said which rows had one, and the row chosen by default often had none. On a real desktop
gateway, one request is sent with capture off and one with it on (the official `anthropic`
SDK, the scripted upstream): the kept one is marked in the list with Replay on…'s icon and
says so in its tooltip, the other is not; choosing the other, Replay on… is disabled and both
the line under it and its tooltip say why.
"""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_columns import ICON_ROOM
from llmgw_desktop.ui.pages.recorder_model import BODY_KEPT, TIME_COLUMN
from llmgw_desktop.ui.pages.replay import NOT_CAPTURED
from llmgw_desktop.ui.qt import QIcon, Qt
from tests.ui.desk_gateway import Desk, OnDesk, messages_request
from tests.waiting import until


@pytest.mark.parametrize("width", [760, 1200])
def test_requests_whose_body_was_kept_are_marked_and_the_others_say_why_they_cannot_replay(
    width: int, on_desk: OnDesk, qtbot: QtBot
) -> None:
    async def body(desk: Desk, page: RecorderPage) -> None:
        engine = desk.runtime.engine
        await messages_request(desk.runtime, {"X-Caller": "not-kept"})
        engine.body_capture.apply("recorder.capture.providers", ["anthropic"])
        await messages_request(desk.runtime, {"X-Caller": "kept"})
        page.page_shown()
        await until(lambda: page.model.loaded == 2, "both requests listed")
        model = page.model
        kept, not_kept = (model.index(row, TIME_COLUMN) for row in (0, 1))
        assert model.summary(0).body_kept and not model.summary(1).body_kept  # type: ignore[union-attr]
        mark = kept.data(Qt.ItemDataRole.DecorationRole)
        assert isinstance(mark, QIcon) and not mark.isNull()
        blank = not_kept.data(Qt.ItemDataRole.DecorationRole)  # the mark's room, kept blank
        assert isinstance(blank, QIcon) and blank.cacheKey() != mark.cacheKey()
        assert BODY_KEPT in str(kept.data(Qt.ItemDataRole.ToolTipRole))
        assert BODY_KEPT not in str(not_kept.data(Qt.ItemDataRole.ToolTipRole))
        # The time reads whole beside the mark.
        metrics = page.table.fontMetrics()
        time_text = str(kept.data())
        needed = metrics.horizontalAdvance(time_text) + ICON_ROOM
        assert page.table.columnWidth(TIME_COLUMN) >= needed

        replay = page.replay
        await until(lambda: replay.replay_button.isEnabled(), "the kept one replays")
        page.table.selectRow(1)
        await until(lambda: NOT_CAPTURED in replay.why_label.text(), "why not, under it")
        assert not replay.replay_button.isEnabled()
        assert replay.replay_button.toolTip().startswith(NOT_CAPTURED)
        assert "marked ▶" in replay.replay_button.toolTip()

    on_desk(RecorderPage, body, size=(width, 700))
