"""One request's cost reads the same on every page (issue 41, second review, N5).

The Flight recorder's list rounded costs to two significant figures ("$0.000037", "$0.00026")
while its own detail, Keys, Budgets, Agents and the Playground wrote them with `format_usd`
("$0.0000372", "$0.000255"). On a real desktop gateway, one request through the official
`anthropic` SDK is priced from the bundled table; the list's cell, the detail's Cost and the
Agents page's lane say one figure, and the list's tooltip gives the exact one.
"""

from __future__ import annotations

import time

import pytest

from llmgw_desktop.engine.api import JobState, JobView, format_usd
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.agents import COLUMNS as AGENT_COLUMNS
from llmgw_desktop.ui.pages.agents import AgentsPage
from llmgw_desktop.ui.pages.job_detail import result_text
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_model import COLUMNS
from llmgw_desktop.ui.pages.recorder_words import FIGURE_SPACE, format_cost_cell
from llmgw_desktop.ui.qt import Qt
from tests.ui.desk_gateway import Desk, OnWindow, messages_request
from tests.waiting import until


@pytest.mark.parametrize("usd", [0.0000372, 0.000255, 0.000576, 0.0682, 0.5, 12.3456])
def test_the_recorder_list_writes_a_cost_as_every_page_does(usd: float) -> None:
    assert format_cost_cell(usd).rstrip(FIGURE_SPACE) == format_usd(usd)


def test_a_jobs_cost_in_its_details_is_written_as_every_page_does() -> None:
    now = time.time()
    view = JobView(
        id="job_1",
        provider="claude",
        state=JobState.COMPLETED,
        created_at=now,
        updated_at=now,
        result={"text": "ok", "cost_usd": 0.000576, "cost_source": "cli"},
    )
    assert f" {format_usd(0.000576)} (reported by the CLI)" in result_text(view)


def test_one_requests_cost_reads_the_same_in_the_list_its_detail_and_agents(
    on_window: OnWindow,
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        await messages_request(desk.runtime, {"X-Caller": "priced-agent"})
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        window.show_page(RecorderPage.KEY)
        await until(lambda: recorder.model.loaded == 1, "the request listed")
        cost = recorder.model.summary(0).cost_usd  # type: ignore[union-attr]
        assert cost is not None and 0 < cost < 0.01  # sub-cent: where they differed
        figure = format_usd(cost)
        cell = recorder.model.index(0, COLUMNS.index("Cost"))
        assert str(cell.data()).rstrip(FIGURE_SPACE) == figure
        tip = str(cell.data(Qt.ItemDataRole.ToolTipRole))
        assert tip.startswith(figure), tip
        recorder.table.selectRow(0)
        await until(lambda: "Cost" in recorder.detail.toPlainText(), "the detail")
        assert f"\nCost\n{figure} (" in recorder.detail.toPlainText()

        agents = window.pages[AgentsPage.KEY]
        assert isinstance(agents, AgentsPage)
        window.show_page(AgentsPage.KEY)
        await until(lambda: agents.tree.topLevelItemCount() == 1, "the agent's lane")
        lane = agents.tree.topLevelItem(0)
        assert lane.text(AGENT_COLUMNS.index("Cost")) == figure

    on_window(body, size=(1920, 1080))
