"""The Flight recorder list's columns: sized to what they hold, never scrolled to sideways.

Short of room (1024 px beside the details), the model moves under its provider, a second line
in the same cell (`TwoLineDelegate`), before the provider, the state, the error code or the
cost give way: those are what a person scans the list by to find why a request failed.

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

from llmgw_desktop.ui.kit.column_hint import HiddenColumnsHint
from llmgw_desktop.ui.kit.columns import plan_columns
from llmgw_desktop.ui.kit.two_line import TwoLineDelegate, two_line_height
from llmgw_desktop.ui.pages.recorder_model import COLUMNS, RecorderTableModel
from llmgw_desktop.ui.pages.recorder_words import format_clock, format_state
from llmgw_desktop.ui.qt import QEvent, QModelIndex, QObject, QPersistentModelIndex, QTableView

__all__ = ["OPTIONAL", "ROW_HEIGHT", "RecorderColumns"]

ROW_HEIGHT = 24  # px a one-line row takes

# What each column's widest usual cell looks like, for its first width (free-text columns
# then grow to their content). The state is measured over every state, glyph included.
COLUMN_SAMPLES = {
    "Provider": "openrouter",
    "Model": "claude-sonnet-4-6",
    "Error code": "upstream_timeout",
    "HTTP": "504",
    "Project": "a-project",
    "Caller": "claude-code/2.0",
    "Runs as": "OAuth client laptop-editor",
    "Duration": "12m 05s",
    "Tokens in": "1,234,567",
    "Tokens out": "123,456",
    "Cache read": "1,234,567",
    "Cache write": "123,456",
    "Cost": "$0.0000372",
}
# Measured from what the rows hold (a time of another day is longer than today's "08:17:05").
FREE_TEXT_COLUMNS = ("Time", "Provider", "Model", "Error code", "Project", "Caller", "Runs as")
COLUMN_MAX = 280  # a free-text column grows to its content up to this (a user agent can be long)
CELL_PADDING = 16  # the cell's margins and the gap to the next column
ICON_ROOM = 22  # a status cell's glyph and the gap after it
# Columns with a glyph before their text: the state's, and the time's mark of a request whose
# body was kept (room kept for it on every row, so a kept request never widens the column).
ICON_COLUMNS = ("State", "Time")
MODEL = COLUMNS.index("Model")
PROVIDER = COLUMNS.index("Provider")
# Hidden first when the list is narrow: the details show every one of them. The model is not
# among them: it moves under its provider instead (`lay_out`).
OPTIONAL = tuple(
    COLUMNS.index(name)
    for name in (
        "Cache write",
        "Cache read",
        "Runs as",
        "Project",
        "Tokens out",
        "Tokens in",
        "HTTP",
        "Duration",
        "Caller",
        "Error code",
        "Cost",
    )
)
# Kept while the model moves under its provider (given way to last, on a very narrow list):
# what a request cost, what this app is about (the state says it failed; the details and the
# state's tooltip say why).
KEPT_NARROW = (COLUMNS.index("Cost"),)
# The provider's column, holding the model too, is never narrower than this.
TWO_LINE_MIN = 120


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
                samples = [format_clock(time.time())]
            elif name == "State":
                samples = [format_state(state) for state in ("completed", "interrupted")]
                samples.append(format_state("completed", from_cache=True))
            cell = max(metrics.horizontalAdvance(sample) for sample in samples) + CELL_PADDING
            if name in ICON_COLUMNS:
                cell += ICON_ROOM
            self.widths[column] = max(cell, header.sectionSizeHint(column))
        self.two_lines = False
        table.setItemDelegateForColumn(PROVIDER, TwoLineDelegate(self.second_line, table))
        self.hint = HiddenColumnsHint(table)
        self.hint.chosen.connect(self.prefer)
        # Least needed first; a column the person asks for from the hint is no longer one.
        self.optional = list(OPTIONAL)
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
            if name in ICON_COLUMNS:
                wanted += ICON_ROOM
            self.widths[column] = max(self.widths[column], wanted)
        self.lay_out()

    def lay_out(self) -> None:
        """Hide what does not fit, least needed first; the model stretches, or, short of room
        for the provider, state, error code and cost beside it, moves under its provider.
        While columns are hidden the header's end says how many (`HiddenColumnsHint`)."""
        room = self._table.viewport().width()
        if room <= 0:
            return
        hidden, stretch, two_lines, stretched = self._plan(room)
        self._apply(hidden, stretch, two_lines, stretched)
        if not self.hint.fits:  # its words cover a heading: room at the header's end for them,
            # unless that costs what a person scans the list by to find why a request failed
            plan = self._plan(room - self.hint.room())
            if not plan[0] & set(KEPT_NARROW) - hidden:
                self._apply(*plan)

    def _apply(self, hidden: set[int], stretch: int, two_lines: bool, stretched: int) -> None:
        """Hide `hidden`, size the rest (`stretched` to `stretch`), and say what gave way."""
        self.two_lines = two_lines
        header = self._table.horizontalHeader()
        for column, width in self.widths.items():
            if header.isSectionHidden(column) != (column in hidden):
                header.setSectionHidden(column, column in hidden)
            wanted = stretch if column == stretched else width
            if column not in hidden and header.sectionSize(column) != wanted:
                header.resizeSection(column, wanted)
        spacing = self._table.fontMetrics().lineSpacing()
        height = two_line_height(spacing) if two_lines else ROW_HEIGHT
        rows = self._table.verticalHeader()
        if rows.defaultSectionSize() != height:
            rows.setDefaultSectionSize(height)
        self.hint.show_hidden([COLUMNS[c] for c in sorted(hidden & set(OPTIONAL))], over=stretched)

    def _plan(self, room: int) -> tuple[set[int], int, bool, int]:
        """For `room` px: the columns hidden, the stretched one's width, whether the model
        moves under its provider, and which column stretches."""
        widths = self.widths
        hidden, stretch = plan_columns(
            widths,
            room,
            stretch=MODEL,
            optional=[c for c in self.optional if c not in KEPT_NARROW],
            stretch_min=widths[MODEL],  # a model's name is never cut
        )
        shown = sum(w for c, w in widths.items() if c not in hidden and c != MODEL)
        if shown + widths[MODEL] <= room:
            return hidden, stretch, False, MODEL
        # The model under its provider: the provider's column stretches instead.
        others = {c: w for c, w in widths.items() if c != MODEL}
        others[PROVIDER] = max(widths[PROVIDER], widths[MODEL], TWO_LINE_MIN)
        hidden, stretch = plan_columns(
            others, room, stretch=PROVIDER, optional=self.optional, stretch_min=TWO_LINE_MIN
        )
        hidden.add(MODEL)
        return hidden, stretch, True, PROVIDER

    def prefer(self, name: str) -> None:
        """Show column `name` from now on, whatever the room (asked for from the hint): the
        other optional ones give way, and short of room the list scrolls sideways."""
        column = COLUMNS.index(name) if name in COLUMNS else None
        if column in self.optional:
            self.optional.remove(column)
            self.lay_out()

    def second_line(self, index: QModelIndex | QPersistentModelIndex) -> str:
        """The model under the provider, while the model's own column gives way."""
        if not self.two_lines or index.column() != PROVIDER:
            return ""
        return str(index.sibling(index.row(), MODEL).data() or "")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.lay_out()
        return False
