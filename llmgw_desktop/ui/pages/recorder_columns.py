"""The Flight recorder list's columns: sized to what they hold, never scrolled to sideways.

The fixed vocabularies (time, states, numbers) are measured from the font once; the free-text
ones (provider, caller, ...) from the first page each time the filters change, up to a cap,
and they only grow, so a live refresh never makes the list jump (a cell cut at the cap shows
its whole text in its tooltip). They are measured from the distinct texts, not by the view:
its `sizeHintForColumn` asks the delegate about every row, 20-30 ms of the loop thread for a
page. What does not fit beside the details is hidden, least needed first (`plan_columns`);
the model takes the room left.
"""

from __future__ import annotations

import time

from llmgw_desktop.ui.kit.columns import plan_columns
from llmgw_desktop.ui.pages.recorder_model import COLUMNS, RecorderTableModel
from llmgw_desktop.ui.pages.recorder_words import format_state, format_time
from llmgw_desktop.ui.qt import QEvent, QObject, QTableView

__all__ = ["OPTIONAL", "STRETCH", "RecorderColumns"]

# What each column's widest usual cell looks like, for its first width (free-text columns
# then grow to their content). The state is measured over every state, glyph included.
COLUMN_SAMPLES = {
    "Time": "2026-12-31 23:59:59",
    "Provider": "openrouter",
    "Model": "claude-sonnet-4-6",
    "Error code": "upstream_timeout",
    "HTTP": "504",
    "Project": "a-project",
    "Caller": "claude-code/2.0",
    "Principal": "gateway-bearer",
    "Duration": "12m 05s",
    "Tokens in": "1,234,567",
    "Tokens out": "123,456",
    "Cache read": "1,234,567",
    "Cache write": "123,456",
    "Cost": "$0.0123",
}
# Measured from what the rows hold (a sub-cent cost has three significant digits: $0.0000372).
FREE_TEXT_COLUMNS = ("Provider", "Model", "Error code", "Project", "Caller", "Principal", "Cost")
COLUMN_MAX = 280  # a free-text column grows to its content up to this (a user agent can be long)
CELL_PADDING = 16  # the cell's margins and the gap to the next column
ICON_ROOM = 22  # a status cell's glyph and the gap after it
STRETCH = COLUMNS.index("Model")
# Hidden first when the list is narrow: the details show every one of them.
OPTIONAL = tuple(
    COLUMNS.index(name)
    for name in (
        "Cache write",
        "Cache read",
        "Principal",
        "Project",
        "Tokens out",
        "Tokens in",
        "HTTP",
        "Duration",
        "Caller",
        "Error code",
        "Cost",
        "Provider",
    )
)


class RecorderColumns(QObject):
    """Keeps the list's columns sized and fitted to its width."""

    def __init__(self, table: QTableView, model: RecorderTableModel) -> None:
        super().__init__(table)
        self._table = table
        self._model = model
        self.widths: dict[int, int] = {}
        metrics = table.fontMetrics()
        header = table.horizontalHeader()
        for column, name in enumerate(COLUMNS):
            samples = [COLUMN_SAMPLES.get(name, name)]
            if name == "Time":
                samples.append(format_time(time.time()))
            elif name == "State":
                samples = [format_state(state) for state in ("completed", "interrupted")]
            cell = max(metrics.horizontalAdvance(sample) for sample in samples) + CELL_PADDING
            if name == "State":
                cell += ICON_ROOM
            self.widths[column] = max(cell, header.sectionSizeHint(column))
        table.viewport().installEventFilter(self)
        self.lay_out()

    def fit_free_text(self) -> None:
        """Widen the free-text columns to what the rows loaded hold, up to `COLUMN_MAX`."""
        metrics = self._table.fontMetrics()
        for name in FREE_TEXT_COLUMNS:
            column = COLUMNS.index(name)
            texts = self._model.cell_texts(column)
            widest = max((metrics.horizontalAdvance(text) for text in texts), default=0)
            wanted = min(COLUMN_MAX, widest + CELL_PADDING)
            self.widths[column] = max(self.widths[column], wanted)
        self.lay_out()

    def lay_out(self) -> None:
        """Hide what does not fit, least needed first; the model stretches."""
        room = self._table.viewport().width()
        if room <= 0:
            return
        hidden, stretch = plan_columns(
            self.widths,
            room,
            stretch=STRETCH,
            optional=OPTIONAL,
            stretch_min=self.widths[STRETCH],  # a model's name is never cut
        )
        header = self._table.horizontalHeader()
        for column, width in self.widths.items():
            if header.isSectionHidden(column) != (column in hidden):
                header.setSectionHidden(column, column in hidden)
            wanted = stretch if column == STRETCH else width
            if column not in hidden and header.sectionSize(column) != wanted:
                header.resizeSection(column, wanted)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.lay_out()
        return False
