"""The Jobs page's list: one line a job, fitted to the room beside the details.

Every column shows its text whole; the prompt (what tells one job from another) takes what
is left, at least a quarter of the list, and ends in "…" when long (the whole summary in its
tooltip and the details). When the list is narrow, the columns the details also show give way,
least needed first: who, tool, tokens, model, elapsed, provider (`OPTIONAL`). Started, state
and progress always stay: "attempt 2 · retry in 5s" or a stuck job's silence must read whole.
Widths are measured after a load and on a resize, never per tick.
"""

from __future__ import annotations

from llmgw_desktop.ui.kit.columns import ColumnFitter
from llmgw_desktop.ui.pages.jobs_model import COLUMNS, PROMPT_COLUMN
from llmgw_desktop.ui.qt import QKeyEvent, QModelIndex, Qt, QTableView, Signal

__all__ = ["OPTIONAL", "PROMPT_MIN_WIDTH", "JobsTable"]

PROMPT_MIN_WIDTH = 110
OPTIONAL = tuple(
    COLUMNS.index(c) for c in ("Who", "Tool", "Tokens", "Model", "Elapsed", "Provider")
)
# The prompt keeps at least this share of the list before the optional columns are shown.
PROMPT_SHARE = 0.25


class JobsTable(QTableView):
    """The jobs list; Enter or Return on a job opens it, as a double-click does."""

    openRequested = Signal(QModelIndex)

    def __init__(self) -> None:
        super().__init__()
        self.columns: ColumnFitter | None = None
        # Tab moves on to the details; the arrow keys move between rows.
        self.setTabKeyNavigation(False)

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
        self.columns.fit(contents=contents)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.openRequested.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)
