"""The Jobs page's list: a job a row of two lines, fitted to the room beside the details.

Every column shows its text whole; the prompt (what tells one job from another) takes what
is left, at least a fifth of the list, over two lines, ending in "…" when longer (the whole
summary in its tooltip and the details). The model and the tool give way first, each moving
under its neighbour as a second, muted line (`TwoLineDelegate`): the model under the provider,
the tool under who sent the job. Then, least needed first: who, tokens, elapsed, provider
(`OPTIONAL`). Started, state and progress always stay: "attempt 2 · retry in 5s" or a stuck
job's silence must read whole. Widths are measured after a load and on a resize, never per
tick.

Progress and elapsed change every second while a job runs, so their widths are fixed, not
measured: a job turning stuck ("no output for 46s · limit 5s") once widened Progress enough to
push Who out, and the list's columns changed with the clock. Progress is as wide as a stuck
job's first line, its phrase wrapping onto the row's second line (an error code breaks after
its underscores as it is drawn, `BreakAfterUnderscores`). The row height follows the font the table
has when it is fitted (the window's one table style sets every table's rows once, and the
theme's font may come after the table is made), and the last column keeps a gap before the
frame.
"""

from __future__ import annotations

from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.kit.two_line import TwoLineDelegate, two_line_height
from llmgw_desktop.ui.pages.jobs_model import (
    COLUMNS,
    ELAPSED_COLUMN,
    PROGRESS_COLUMN,
    PROMPT_COLUMN,
)
from llmgw_desktop.ui.qt import (
    QHeaderView,
    QKeyEvent,
    QModelIndex,
    QPersistentModelIndex,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QTableView,
    Signal,
)

__all__ = ["OPTIONAL", "PROMPT_MIN_WIDTH", "JobsTable"]

Index = QModelIndex | QPersistentModelIndex
PROMPT_MIN_WIDTH = 110
# What fixes the widths of the columns that move with the clock (see above).
PROGRESS_SAMPLE = "no output for 59m 59s"
ELAPSED_SAMPLE = "59m 59s"
CELL_PADDING = 12  # as `ColumnFitter`'s: the cell's margins and the grid
END_GAP = 8  # px kept free after the last column
WORD_BREAK = "\u200b"  # a zero-width space: where a line may break, drawn as nothing
OPTIONAL = tuple(
    COLUMNS.index(c) for c in ("Model", "Tool", "Who", "Tokens", "Elapsed", "Provider")
)
# The prompt keeps at least this share of the list before the optional columns are shown.
PROMPT_SHARE = 0.2
# A column that gives way moves under its neighbour as the neighbour's second line.
SECOND_LINES = {
    COLUMNS.index("Provider"): COLUMNS.index("Model"),
    COLUMNS.index("Who"): COLUMNS.index("Tool"),
}


class BreakAfterUnderscores(QStyledItemDelegate):
    """Draws a cell whose words may break after an underscore ("session_provider_mismatch"
    over two lines); the text itself, which a screen reader reads, stays as it is."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        option.text = option.text.replace("_", "_" + WORD_BREAK)


class JobsTable(QTableView):
    """The jobs list; Enter or Return on a job opens it, as a double-click does."""

    openRequested = Signal(QModelIndex)

    def __init__(self) -> None:
        super().__init__()
        self.columns: ColumnFitter | None = None
        # Tab moves on to the details; the arrow keys move between rows.
        self.setTabKeyNavigation(False)
        # Two lines a job: the prompt wraps onto the second; a column that gave way shows
        # under its neighbour.
        self.setWordWrap(True)
        for column in SECOND_LINES:
            delegate = TwoLineDelegate(self.second_line, self, measure=self._under)
            self.setItemDelegateForColumn(column, delegate)
        self.setItemDelegateForColumn(PROGRESS_COLUMN, BreakAfterUnderscores(self))
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """Rows of two lines of the font in use, and their padding."""
        height = two_line_height(self.fontMetrics().lineSpacing())
        rows = self.verticalHeader()
        if rows.defaultSectionSize() != height:
            rows.setDefaultSectionSize(height)

    def _under(self, index: QModelIndex | QPersistentModelIndex) -> str:
        """What may come to sit under this cell (measured for the column's width)."""
        under = SECOND_LINES.get(index.column())
        return "" if under is None else str(index.sibling(index.row(), under).data() or "")

    def second_line(self, index: QModelIndex | QPersistentModelIndex) -> str:
        """What a column that gave way says, under its neighbour in this row."""
        under = SECOND_LINES.get(index.column())
        if under is None or not self.isColumnHidden(under):
            return ""
        return str(index.sibling(index.row(), under).data() or "")

    def fit_columns(self, *, contents: object = None) -> None:
        """Fit the columns to their text and the list's width; `contents` stands for what the
        rows say (the jobs and their states): when it and the width are as last time, nothing
        is measured, since measuring costs the loop ~5 ms."""
        if self.model() is None:
            return
        if self.columns is None:
            self.columns = ColumnFitter(
                self,
                stretch=PROMPT_COLUMN,
                optional=OPTIONAL,
                stretch_min=PROMPT_MIN_WIDTH,
                stretch_share=PROMPT_SHARE,
            )
            self.columns.end_gap = END_GAP
            # A column that gave way under a shown neighbour is still on screen.
            self.columns.moved = {under: beside for beside, under in SECOND_LINES.items()}
        self._fit_rows()
        metrics = self.fontMetrics()
        fixed = {
            PROGRESS_COLUMN: metrics.horizontalAdvance(PROGRESS_SAMPLE) + CELL_PADDING,
            ELAPSED_COLUMN: metrics.horizontalAdvance(ELAPSED_SAMPLE) + CELL_PADDING,
        }
        if fixed != self.columns.fixed:  # another font: measure again
            self.columns.fixed = fixed
            contents = None
        self.columns.fit(contents=contents)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.openRequested.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)
