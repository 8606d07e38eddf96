"""What a review of the README's screenshots found untrue, each on a real engine (issue 25):

- the Flight recorder said "Refused by the gateway: none" while listing refused rows (its line
  counted only the door's refusals, which have no rows);
- tables and chart legends named providers by their ids (`mistral-api`), not as every other
  page does ("Mistral API");
- a row refused before any provider was asked showed provider `-`.

Real gateway and official `openai` SDK traffic: the Mistral API is pointed at the scripted
upstream; a daily token budget of 1 for the agent `ci` refuses its second request (402).
"""

from __future__ import annotations

import openai
import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.cost_breakdown import CostBreakdownBox
from llmgw_desktop.ui.pages.overview_charts import LiveCharts
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_model import COLUMNS
from llmgw_desktop.ui.tasks import UiTasks
from tests.ui.desk_gateway import Desk, OnGateway
from tests.ui.qt_thread_gc import collect_on_the_qt_thread  # noqa: F401 - autouse
from tests.waiting import until

MISTRAL = "mistral/mistral-large-latest"


def _column(page: RecorderPage, name: str) -> list[str]:
    model, number = page.model, COLUMNS.index(name)
    return [str(model.data(model.index(row, number))) for row in range(model.rowCount())]


def test_refused_rows_are_counted_and_providers_go_by_their_names(
    on_gateway: OnGateway, qtbot: QtBot
) -> None:
    async def body(desk: Desk) -> None:
        engine = desk.runtime.engine
        # Room for one call's hold (its body at a token a byte, and the output the rest pays
        # for, at least 256 tokens), and too little left for another once the scripted
        # upstream's usage (321 tokens) is counted.
        budget = {"scope": "agent=ci", "unit": "tokens", "period": "daily", "hard": 400}
        await engine.budgets.replace(LOCAL_CALLER, [budget])
        client = openai.AsyncOpenAI(
            base_url=desk.runtime.base_url + "/v1",
            api_key="unused",
            max_retries=0,
            default_headers={"X-Caller": "ci"},
        )
        hi = [{"role": "user", "content": "hi"}]
        await client.chat.completions.create(model=MISTRAL, messages=hi)  # type: ignore[arg-type]
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(model=MISTRAL, messages=hi)  # type: ignore[arg-type]
        assert refused.value.status_code == 402
        await client.close()

        context = PageContext(bridge=desk.bridge, actions=desk.actions, facts=desk.facts)
        page = RecorderPage(context)
        qtbot.addWidget(page)
        page.resize(1200, 800)
        page.show()
        page.page_shown()
        costs = CostBreakdownBox(desk.bridge, UiTasks())
        qtbot.addWidget(costs)
        try:
            await until(lambda: page.model.rowCount() == 2, "both rows listed")
            # The refused row is counted in the line under the table, with its code.
            await until(lambda: page.refused_label.text(), "the refusals line")
            line = page.refused_label.text()
            assert line.startswith("Refused by the gateway: 1 (1 × over a budget (402 "), line

            # Providers by name; the refused one marked as never asked, not shown as `-`.
            providers = _column(page, "Provider")
            assert providers == ["Mistral API · never sent", "Mistral API"], providers
            assert _column(page, "Model")[0] == MISTRAL  # what was asked
            # The filter box offers the name, and choosing it filters by the provider.
            box = page.provider_box
            await until(lambda: box.findText("Mistral API") > 0, "provider choices")
            assert box.findText("mistral-api") < 0
            box.setCurrentIndex(box.findText("Mistral API"))
            page.apply_filters()
            assert page.current_filters().provider == "mistral-api"
            await until(lambda: page.model.total == 1, "only the API's answered row")

            # Spend by provider and the cache chart's legend use the same name.
            costs.show()
            await until(lambda: costs.loads > 0, "the spend")
            names = {costs.cell(row, "Name") for row in range(costs.table.rowCount())}
            assert names == {"Mistral API", "never sent"}, names
            charts = LiveCharts(engine)
            qtbot.addWidget(charts)
            charts.redraw()
            assert "Mistral API" in charts.hits_legend.text()
            assert "mistral-api" not in charts.hits_legend.text()
        finally:
            page.page_hidden()
            page.tasks.cancel_all()
            costs.hide()

    on_gateway(body, also_upstream=("mistral",))
