"""The Agents page fitted to the window (issue 41, second review: N4 and #11).

At 1024 px the list scrolled sideways and "Last activity" was cut to "La"; at 1920 px the
figures, packed beside their names, left ~840 px of the window empty. On a real desktop
gateway (requests from several agents through the official `anthropic` SDK to the scripted
upstream), in the real window at both gallery sizes: the list never scrolls sideways and every
column it shows reads whole, the least needed hidden first; the chosen agent's details fill
the rest of the width with every figure, the hidden ones included.
"""

from __future__ import annotations

import asyncio

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.agents import COLUMNS, OPTIONAL, AgentsPage
from tests.ui.desk_gateway import Desk, OnWindow, messages_request
from tests.waiting import until

AGENTS = ("claude-code", "cursor", "codex", "aider")


@pytest.mark.parametrize("size", [(1024, 700), (1920, 1080)])
def test_the_agents_list_fits_beside_the_chosen_agents_details(
    size: tuple[int, int], on_window: OnWindow, qtbot: QtBot
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        for agent in AGENTS:
            await messages_request(desk.runtime, {"X-Caller": agent}, project="api")
        page = window.pages[AgentsPage.KEY]
        assert isinstance(page, AgentsPage)
        window.show_page(AgentsPage.KEY)
        await until(lambda: page.tree.topLevelItemCount() == len(AGENTS), "the lanes")
        detail = page.detail
        await until(lambda: detail.isVisible() and detail.width() >= 280, "the details laid out")
        # A column too wide would show the sideways bar (asserted absent) only after Qt's
        # deferred pass: an absence has no state to wait for, so a settle as well.
        await asyncio.sleep(0.05)

        tree, header = page.tree, page.tree.header()
        assert tree.horizontalScrollBar().maximum() == 0
        shown = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
        widths = sum(header.sectionSize(c) for c in shown)
        assert widths <= tree.viewport().width()
        metrics = header.fontMetrics()
        for column in shown:
            heading = metrics.horizontalAdvance(COLUMNS[column])
            assert header.sectionSize(column) > heading, COLUMNS[column]
            if column:
                assert header.sectionSize(column) >= tree.sizeHintForColumn(column)
        hidden = [c for c in range(len(COLUMNS)) if c not in shown]
        assert set(hidden) == set(OPTIONAL[: len(hidden)])  # least needed first
        if size[0] == 1920:
            assert not hidden
            # The list's width is used: the name takes what the figures leave.
            assert widths == tree.viewport().width()
        # The chosen agent's details: every figure, the hidden ones too.
        assert detail.isVisible() and detail.width() >= 280
        lane = page.selected_lane()
        assert lane is not None
        assert detail.heading.text() == tree.currentItem().text(0)  # type: ignore[union-attr]
        assert detail.values["Requests"].text().startswith("1 (none failed or refused)")
        assert "cache read 200" in detail.values["Tokens"].text()
        assert detail.values["Prompt cache"].text().endswith("of the prompt read")
        assert detail.values["Last request"].text()
        assert detail.values["Projects"].text() == "api: 1"
        assert page.requests_button.isEnabled() and page.requests_button.isVisible()
        # Nothing of the details is cut at its right edge.
        assert detail.width() <= detail.parentWidget().width()  # type: ignore[union-attr]

    on_window(body, size=size)


LONG_AGENT = "claude-code run by the OAuth client laptop-editor-of-the-whole-team"


def test_a_long_agent_name_gives_way_before_the_cost_at_1024x768(
    on_window: OnWindow, qtbot: QtBot
) -> None:
    """The 1024x768 sweep (issue 64's leftovers, item 2): with an agent named at length (an
    OAuth client's), the name took its whole width once every optional column had gone, and
    the Cost column ran past the list's edge ("≥ $0.00" cut, a sideways scroll bar). The name
    gives way now, elided with the whole of it on hover; Requests and Cost read whole."""

    async def body(desk: Desk, window: MainWindow) -> None:
        for agent in (LONG_AGENT, "codex"):
            await messages_request(desk.runtime, {"X-Caller": agent}, project="api")
        page = window.pages[AgentsPage.KEY]
        assert isinstance(page, AgentsPage)
        window.show_page(AgentsPage.KEY)
        await until(lambda: page.tree.topLevelItemCount() == 2, "the lanes")
        tree, header = page.tree, page.tree.header()
        cost = COLUMNS.index("Cost")
        await until(
            lambda: header.sectionSize(cost) >= tree.sizeHintForColumn(cost), "the cost shown whole"
        )
        await asyncio.sleep(0.05)  # a settle as well: the sideways bar, asserted absent

        assert tree.horizontalScrollBar().maximum() == 0
        shown = [c for c in range(len(COLUMNS)) if not header.isSectionHidden(c)]
        assert sum(header.sectionSize(c) for c in shown) <= tree.viewport().width()
        for name in ("Requests", "Cost"):
            column = COLUMNS.index(name)
            assert column in shown
            assert header.sectionSize(column) >= tree.sizeHintForColumn(column), name
        items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
        long_item = next(i for i in items if i is not None and LONG_AGENT in i.text(0))
        assert long_item.toolTip(0) == long_item.text(0)

    on_window(body, size=(1024, 768))
