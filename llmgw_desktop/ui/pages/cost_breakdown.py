"""Overview's spend section: what the last day, week or month cost, by provider, model, project
or agent, and where the figures come from.

The figures are the flight recorder's (`RecorderQuery.costs`): the CLI's own cost where it
reports one, else an estimate from the price table, whose date and sources are shown under the
table. A request whose model the table does not know is "not priced", never $0. The section
loads while it is visible (at once, on a change of window or grouping, and every few seconds),
one load at a time.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from llmgw_desktop.engine.api import (
    COST_WINDOWS,
    CostBreakdown,
    CostDimension,
    CostGroup,
    Engine,
    format_usd,
)
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.kit.figures import ALIGN_FIGURE
from llmgw_desktop.ui.kit.tables import align_heading
from llmgw_desktop.ui.pages.recorder_words import NO_TOKENS_COST
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QHideEvent,
    QLabel,
    QShowEvent,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTimer,
    QVBoxLayout,
)
from llmgw_desktop.ui.tasks import OnceMore, UiTasks

__all__ = ["COST_COLUMNS", "CostBreakdownBox"]

COST_COLUMNS = ("Name", "Requests", "Cost", "Not priced")
COST_REFRESH_MS = 10_000
# What the grouping box offers -> the engine's dimension; the agent is the recorder's caller.
_GROUPINGS: dict[str, CostDimension] = {
    "Provider": "provider",
    "Model": "model",
    "Project": "project",
    "Agent": "caller",
    "Session": "session",
}
_TABLE_ROWS_SHOWN = 6  # the table's height; more rows scroll


class CostBreakdownBox(QGroupBox):
    """Spend over a window, grouped as the person chooses, with the prices' date and sources."""

    def __init__(self, bridge: EngineBridge, tasks: UiTasks) -> None:
        super().__init__("Spend")
        self.setObjectName("costBreakdown")
        self._engine: Engine = bridge.engine
        self._refresh = OnceMore(tasks, self._load, "sum the spend")
        self.loads = 0  # finished loads (tests wait on it)
        self.window_box = QComboBox()
        self.window_box.addItems(list(COST_WINDOWS))
        self.group_box = QComboBox()
        self.group_box.addItems(list(_GROUPINGS))
        self.window_box.currentIndexChanged.connect(lambda _i: self.request_refresh())
        self.group_box.currentIndexChanged.connect(lambda _i: self.request_refresh())
        self.total_label = QLabel("…")
        self.total_label.setObjectName("costTotal")
        self.total_label.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Last"))
        controls.addWidget(self.window_box)
        controls.addWidget(QLabel("by"))
        controls.addWidget(self.group_box)
        controls.addWidget(self.total_label, 1)

        self.table = QTableWidget(0, len(COST_COLUMNS))
        self.table.setObjectName("costTable")
        self.table.setHorizontalHeaderLabels(COST_COLUMNS)
        align_heading(self.table, range(1, len(COST_COLUMNS)))  # over the figures
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COST_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        row_height = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(header.sizeHint().height() + row_height * _TABLE_ROWS_SHOWN + 4)

        self.source_label = QLabel()
        self.source_label.setObjectName("costSource")
        self.source_label.setWordWrap(True)
        self.source_label.setTextFormat(Qt.TextFormat.PlainText)

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.table)
        layout.addWidget(self.source_label)
        self._timer = QTimer(self)
        self._timer.setInterval(COST_REFRESH_MS)
        self._timer.timeout.connect(self.request_refresh)

    # Loads only while visible: Overview shows and hides it with the page.
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()
        self.request_refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()

    @property
    def grouping(self) -> CostDimension:
        return _GROUPINGS[self.group_box.currentText()]

    @property
    def window_s(self) -> float:
        return COST_WINDOWS[self.window_box.currentText()]

    def request_refresh(self) -> None:
        """Load in the background; a request during a load loads once more after it."""
        self._refresh.request()

    async def _load(self) -> None:
        breakdown = await self._engine.recorder_query.costs(self.grouping, self.window_s)
        self.show_breakdown(breakdown)
        self.loads += 1

    def show_breakdown(self, breakdown: CostBreakdown) -> None:
        """Redraw the table, the total and the prices' provenance from `breakdown`."""
        self.table.setRowCount(len(breakdown.groups))
        # Providers by the names every page shows (`mistral-api` is "Mistral API").
        names = ProviderNames.of(self._engine) if breakdown.by == "provider" else ProviderNames()
        for index, group in enumerate(breakdown.groups):
            unpriced = f"{group.unpriced:,}" if group.unpriced else ""
            texts = (
                names.name(group.name) if group.name else "(none)",
                f"{group.requests:,}",
                _cost_words(group),
                unpriced,
            )
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(ALIGN_FIGURE)
                self.table.setItem(index, column, item)
        total = breakdown.total
        text = f"{format_usd(total.cost_usd)} over {total.requests:,} request(s)"
        if total.unpriced:
            text += f"; {total.unpriced:,} not priced (model not in the price table)"
        if breakdown.groups_left_off:
            text += f"; the {len(breakdown.groups)} biggest shown"
        self.total_label.setText(text)
        hosts = ", ".join(urlsplit(url).hostname or url for url in breakdown.price_sources)
        self.source_label.setText(
            "The CLI's own cost where it reports one; else estimated from tokens (cache reads "
            f"and writes at their own prices) and list prices of {breakdown.prices_revised} "
            f"({hosts})."
        )
        self.source_label.setToolTip("\n".join(breakdown.price_sources))

    def cell(self, row: int, column: str) -> str:
        """The text shown in `row` under `column` (one of COST_COLUMNS)."""
        item = self.table.item(row, COST_COLUMNS.index(column))
        return "" if item is None else item.text()


def _cost_words(group: CostGroup) -> str:
    """A group's cost: its dollars where any request was priced, "not priced" where requests
    used tokens no price covers, and "none (no tokens)" where none used any (calls that failed
    before an answer read "not priced" beside an empty Not priced column, a review)."""
    if group.priced:
        return format_usd(group.cost_usd)
    return "not priced" if group.unpriced else NO_TOKENS_COST
