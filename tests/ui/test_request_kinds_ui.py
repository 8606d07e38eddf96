"""The window shows each kind of call: the Flight recorder's filter has a box for the kind
(chat, embedding, completion), and the Overview says how many of each the gateway served."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.overview import OverviewPage
from llmgw_desktop.ui.pages.overview_totals import kinds_summary
from llmgw_desktop.ui.pages.recorder_filters import RecorderFilterBar
from llmgw_desktop.ui.provider_names import ProviderNames
from tests.ui.desk_gateway import Desk, OnWindow


def test_the_kind_box_offers_each_kind_and_filters_by_it(qtbot: QtBot) -> None:
    bar = RecorderFilterBar()
    qtbot.addWidget(bar)
    bar.offer({}, ProviderNames())
    box = bar.boxes["kind"]
    assert [box.itemText(i) for i in range(box.count())] == ["", "chat", "embedding", "completion"]
    assert bar.current(ProviderNames()).kind is None
    box.setCurrentText("embedding")
    assert bar.current(ProviderNames()).kind == "embedding"


def test_kinds_are_said_leaving_out_those_with_none() -> None:
    assert kinds_summary({"chat": 0, "embedding": 0, "completion": 0}) == "none yet"
    assert (
        kinds_summary({"chat": 1200, "embedding": 3, "completion": 0}) == "1,200 chat · 3 embedding"
    )


def test_the_overview_counts_the_gateways_calls_by_kind(on_window: OnWindow) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        page = window.pages[OverviewPage.KEY]
        assert isinstance(page, OverviewPage)
        gateway = desk.runtime.engine.gateway
        page.refresh_status()
        assert page.kinds_label.text() == "none yet"
        gateway._kinds.update({"chat": 2, "embedding": 5})  # as requests would count
        page.refresh_status()
        assert page.kinds_label.text() == "2 chat · 5 embedding"

    on_window(body)
