"""A short list is as tall as its rows, the sideways scroll bar counted when its columns are
wider than the view (review round 2, finding 4: at 1024 px the OAuth grants showed one row and
a half under two scroll bars, the bar having come after the height was set)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.kit.tables import fit_rows
from llmgw_desktop.ui.qt import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

WIDE = "Use this gateway's MCP tools and its model APIs"


def test_two_wide_rows_are_both_shown_above_the_sideways_bar(qtbot: QtBot) -> None:
    table = QTableWidget(0, 4)
    qtbot.addWidget(table)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    fit_rows(table)
    table.setFixedWidth(420)
    table.show()
    for row in range(2):  # the rows come after the height was first set, as refreshes bring them
        table.insertRow(row)
        for column in range(4):
            table.setItem(row, column, QTableWidgetItem(f"{WIDE} {row}.{column}"))
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() > 0, timeout=5000)
    assert table.horizontalScrollBar().maximum() > 0  # wider than the view: the bar is there
    assert table.verticalScrollBar().maximum() == 0, "a row is hidden under the sideways bar"


def test_both_rows_stay_shown_when_the_window_widens_while_the_page_is_hidden(
    qtbot: QtBot,
) -> None:
    """Review 2026-11-27 under Xvfb: the OAuth grants showed both rows at 1024 px (over the
    sideways bar), then one and a half under a vertical bar at 1440 px: the window had widened
    while another page was shown, and the height was fitted without the hidden header's."""
    page = QWidget()
    qtbot.addWidget(page)
    table = QTableWidget(0, 4, page)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    fit_rows(table)
    table.setFixedWidth(420)
    page.show()
    for row in range(2):
        table.insertRow(row)
        for column in range(4):
            table.setItem(row, column, QTableWidgetItem(f"{WIDE} {row}.{column}"))
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() > 0, timeout=5000)
    assert table.horizontalScrollBar().maximum() > 0
    page.hide()  # another page is shown
    table.setFixedWidth(4000)  # the window widened: every column fits, the bar goes
    qtbot.wait(50)  # what the widening sets off runs while the page is hidden
    page.show()  # back on the page
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() == 0, timeout=5000)
    assert table.horizontalScrollBar().maximum() == 0
    assert table.verticalScrollBar().maximum() == 0, "a row is hidden once the bar went"
