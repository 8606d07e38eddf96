"""The Prices page fitted to the window (issue 41, last review).

At 1920x1080 the page was a short box at its top (a switch, one line, a row of five fields)
over an empty rest. On a real desktop gateway, in the real window at both gallery sizes: the
prices in use are listed down the page's height beside the chosen model's details, which fill
the rest of its width; at 1024x700 nothing is cut: the list never scrolls sideways, every
column it shows reads whole (the cache prices give way first, the details have them), and the
details' fields, buttons and words fit their pane.
"""

from __future__ import annotations

import asyncio

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import format_usd
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.prices_box import OPTIONAL, PRICE_COLUMNS
from llmgw_desktop.ui.pages.prices_page import PricesPage
from llmgw_desktop.ui.qt import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QPoint,
    QScrollArea,
    QWidget,
)
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.ui.headings import HEADING_GAP, heading_gaps
from tests.waiting import until


def _edges(widget: QWidget, page: QWidget) -> tuple[int, int, int, int]:
    """`widget`'s left, top, right and bottom in `page`'s coordinates."""
    top_left = widget.mapTo(page, QPoint(0, 0))
    return (
        top_left.x(),
        top_left.y(),
        top_left.x() + widget.width(),
        top_left.y() + widget.height(),
    )


@pytest.mark.parametrize("size", [(1024, 700), (1920, 1080)])
def test_the_prices_fill_the_page_beside_the_chosen_models_details_and_nothing_is_cut(
    size: tuple[int, int], on_window: OnWindow, qtbot: QtBot
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        page = shown_page(window, PricesPage)
        box = page.box
        table, header, detail = box.table, box.table.horizontalHeader(), box.editor
        await until(lambda: _edges(table, page)[3] >= page.height() - 40, "the list down the page")
        # A column too wide would show the sideways bar (asserted absent) only after Qt's
        # deferred pass: an absence has no state to wait for, so a settle as well.
        await asyncio.sleep(0.05)
        prices = desk.runtime.engine.prices
        assert table.rowCount() == len(prices.bundled_entries()) > 10

        # The list runs down the page; the details take the width it leaves.
        _left, table_top, table_right, table_bottom = _edges(table, page)
        detail_left, _top, detail_right, _bottom = _edges(detail, page)
        assert table_bottom >= page.height() - 40, (table_bottom, page.height())
        assert table_bottom - table_top >= 0.6 * page.height()
        assert detail_left > table_right and detail_right >= page.width() - 40
        assert detail.width() >= 280

        # The list: nothing cut, never sideways; the model's name takes what is left.
        assert table.horizontalScrollBar().maximum() == 0
        shown = [c for c in range(len(PRICE_COLUMNS)) if not header.isSectionHidden(c)]
        hidden = [c for c in range(len(PRICE_COLUMNS)) if c not in shown]
        assert set(hidden) <= set(OPTIONAL)
        assert sum(header.sectionSize(c) for c in shown) == table.viewport().width()
        metrics = header.fontMetrics()
        for column in shown:
            assert header.sectionSize(column) > metrics.horizontalAdvance(PRICE_COLUMNS[column])
            assert header.sectionSize(column) >= table.sizeHintForColumn(column)
        if size[0] == 1920:
            assert not hidden
        # Review 41-3, finding 11: "Cache write" (right-aligned) and "From" (left-aligned)
        # touched; every two neighbouring headings now have room between their words.
        gaps = heading_gaps(table)
        assert min(gaps.values()) >= HEADING_GAP, gaps

        # Choosing a row shows its model and every price of it, the hidden ones too.
        model, price = prices.bundled_entries()[0]
        table.selectRow(0)
        assert detail.heading.text() == model and detail.badge.text().endswith("bundled")
        now = box.current_label.text()
        for figure in (price.input, price.output, price.cache_read, price.cache_write):
            assert format_usd(figure) in now, now
        assert not box.remove_button.isEnabled()  # not yours to remove

        # The details fit their pane: each field, button and line whole.
        await asyncio.sleep(0.02)
        for widget in detail.findChildren(QWidget):
            if not widget.isVisible() or not isinstance(widget, QLabel | QAbstractButton):
                continue
            left, _top, right, _bottom = _edges(widget, detail)
            assert left >= 0 and right <= detail.width(), (widget.objectName(), right)
            if isinstance(widget, QAbstractButton) or not widget.wordWrap():  # one line
                assert widget.width() >= widget.sizeHint().width(), widget.text()
        for edit in detail.findChildren(QLineEdit):
            assert edit.width() >= 100, edit.objectName()
        assert "USD per million tokens" in detail.help_label.text()
        # All of it in view: the help under the buttons is not scrolled out of the pane.
        area = box.findChild(QScrollArea, "detailScroll")
        assert area is not None and not area.verticalScrollBar().isVisible()

        # What is typed stays when the list changes under it (its row gone with the bundled).
        box.edits["input"].setText("1.5")
        box.bundled_switch.setChecked(False)
        assert box.model_edit.text() == model and box.edits["input"].text() == "1.5"

    on_window(body, size=size)
