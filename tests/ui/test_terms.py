"""Words of the trade say what they mean on hover (issue 54.2): "Circuit", "p50 / p95",
"Principal" and the rest, in every list that uses them, from one table (`ui/terms.py`)."""

from __future__ import annotations

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.qt import Qt
from llmgw_desktop.ui.terms import TERMS, meaning
from tests.ui.desk_gateway import Desk, OnWindow


def test_the_terms_a_newcomer_meets_are_explained_in_every_list(on_window: OnWindow) -> None:
    async def body(_desk: Desk, window: MainWindow) -> None:
        health = window.overview.health
        tips = {
            health.horizontalHeaderItem(c).text(): health.horizontalHeaderItem(c).toolTip()
            for c in range(health.columnCount())
        }
        assert tips["Circuit"] == TERMS["Circuit"] and "median" in tips["p50 / p95"]
        window.show_page(RecorderPage.KEY)
        recorder = window.pages[RecorderPage.KEY]
        assert isinstance(recorder, RecorderPage)
        model = recorder.table.model()
        headings = {
            model.headerData(c, Qt.Orientation.Horizontal): model.headerData(
                c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
            )
            for c in range(model.columnCount())
        }
        assert headings["Principal"].startswith(TERMS["Principal"])
        assert meaning("Not a term") == ""

    on_window(body)
