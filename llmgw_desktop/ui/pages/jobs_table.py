"""The Jobs page's table: every column fits the width it is given, so the table never scrolls
sideways at a laptop's 1024 px.

Each column but the prompt is sized to its text (header included, at most
`COLUMN_MAX_WIDTH`); the prompt takes the width left, never less than `PROMPT_MIN_WIDTH` or a
quarter of the width.
When that does not fit, the columns whose text can be cut without losing its meaning (model,
tool, tokens, who) give way first, the widest first, down to `ELIDED_MIN_WIDTH`: their cells
end in "…" and the tooltip says the rest; the provider's name only when that is not enough.
Start, state, progress and elapsed keep their text whole. Widths are measured after a load and
on a resize, never per tick.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from llmgw_desktop.ui.pages.jobs_model import COLUMNS, PROGRESS_COLUMN, PROMPT_COLUMN
from llmgw_desktop.ui.qt import (
    QHeaderView,
    QKeyEvent,
    QModelIndex,
    QResizeEvent,
    Qt,
    QTableView,
    Signal,
)

__all__ = [
    "COLUMN_MAX_WIDTH",
    "ELIDABLE",
    "ELIDED_MIN_WIDTH",
    "PROMPT_MIN_WIDTH",
    "JobsTable",
    "fit_widths",
]

PROMPT_MIN_WIDTH = 120
# The prompt is what tells one job from another: it keeps at least this share of the width
# before the elidable columns are given their full text.
PROMPT_MIN_SHARE = 0.25
COLUMN_MAX_WIDTH = 220  # one long model id or caller must not take the prompt's room
ELIDED_MIN_WIDTH = 48  # about five characters and the "…"; a header still reads whole
# Progress is never cut: "attempt 2 · retry in 5s" or a stuck job's silence must read whole.
ELIDABLE = frozenset(COLUMNS.index(c) for c in ("Model", "Tool", "Tokens", "Who"))
# Cut only when the others at their narrowest still leave too little room (a provider's name,
# "GitHub Copilot", did not fit whole at 1024 px beside the rest).
LAST_RESORT = frozenset({COLUMNS.index("Provider")})
CELL_PADDING = 12  # the view's sizeHintForColumn leaves no room for the grid and margins


def fit_widths(
    natural: Mapping[int, int], room: int, elidable: Collection[int], floor: int
) -> dict[int, int]:
    """Column widths that fit in `room`: `natural` where they fit, else the `elidable` ones
    capped (one cap for all, as high as fits, never below `floor`). May still exceed `room`
    when even the floor does not fit; the caller's table then scrolls."""
    widths = dict(natural)
    if sum(widths.values()) <= room or not elidable:
        return widths
    fixed = sum(w for c, w in widths.items() if c not in elidable)

    def fits(cap: int) -> bool:
        return fixed + sum(min(widths[c], cap) for c in elidable) <= room

    # The highest cap that fits, by bisection: `low` fits (or is the floor), `high` does not.
    low, high = floor, max(widths[c] for c in elidable)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    cap = low
    return {c: (min(w, cap) if c in elidable else w) for c, w in widths.items()}


class JobsTable(QTableView):
    """The jobs table; Enter or Return opens the current job, as a double-click does."""

    openRequested = Signal(QModelIndex)

    def __init__(self) -> None:
        super().__init__()
        self._fitted: tuple[int, object] | None = None
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(ELIDED_MIN_WIDTH // 2)
        # Measure the rows on screen only: all 200 cost ~100 ms of the loop per load.
        header.setResizeContentsPrecision(0)
        # Tab moves on to the buttons below; the arrow keys move between rows.
        self.setTabKeyNavigation(False)

    def fit_columns(self, *, contents: object = None) -> None:
        """Size the columns to their text and the view's width (see the module's doc).
        `contents` stands for what the rows say (the jobs and their states): when it and the
        width are as last time, nothing is measured, since measuring costs the loop ~5 ms."""
        model = self.model()
        if model is None:
            return
        fitted = (self.viewport().width(), contents)
        if contents is not None and fitted == self._fitted:
            return
        self._fitted = fitted
        header = self.horizontalHeader()
        natural = {
            column: min(
                COLUMN_MAX_WIDTH if column != PROGRESS_COLUMN else self.viewport().width() // 3,
                max(header.sectionSizeHint(column), self.sizeHintForColumn(column) + CELL_PADDING),
            )
            for column in range(model.columnCount())
            if column != PROMPT_COLUMN
        }
        # The share only from what the other columns leave at their narrowest: a narrow window
        # still gets every column, the prompt at `PROMPT_MIN_WIDTH`.
        narrowest = sum(
            min(width, ELIDED_MIN_WIDTH) if column in ELIDABLE else width
            for column, width in natural.items()
        )
        share = int(self.viewport().width() * PROMPT_MIN_SHARE)
        prompt_min = max(PROMPT_MIN_WIDTH, min(share, self.viewport().width() - narrowest))
        room = self.viewport().width() - prompt_min
        widths = fit_widths(natural, room, ELIDABLE, ELIDED_MIN_WIDTH)
        if sum(widths.values()) > room:
            widths = fit_widths(natural, room, ELIDABLE | LAST_RESORT, ELIDED_MIN_WIDTH)
        for column, width in widths.items():
            if header.sectionSize(column) != width:
                header.resizeSection(column, width)
        left = self.viewport().width() - sum(widths.values())
        header.resizeSection(PROMPT_COLUMN, max(prompt_min, left))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.openRequested.emit(self.currentIndex())
            event.accept()
            return
        super().keyPressEvent(event)
