"""A table's columns fitted to the room it has: never scrolled sideways, never cut mid-word.

Each column is as wide as its widest cell on screen and its heading (at most its cap); one
column (the most telling text: a name, a prompt) takes what is left. When even that does not
fit, optional columns are hidden, the least needed first, and shown again when the table
grows: at 1024 px a list beside its details shows what a person scans by, at 1920 px it shows
more, and what is hidden is always in the details pane (`plan_columns` decides, a pure
function); while any is, the header says how many (`HiddenColumnsHint`), past the headings'
words (room is made at its end when they leave none). Measured on a resize and when the page
says its rows changed, never per cell; a page that reloads often passes what its rows say
(`contents`), and an unchanged table at an unchanged width is not measured again (measuring
200 rows costs the loop ~5 ms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from llmgw_desktop.ui.kit.column_hint import HiddenColumnsHint
from llmgw_desktop.ui.qt import QEvent, QHeaderView, QObject, QTableView, QTreeView

__all__ = ["ColumnFitter", "plan_columns"]

# A table, or a tree (its first column indented by its depth): both have a header of columns.
View = QTableView | QTreeView


def _header(view: View) -> QHeaderView:
    return view.horizontalHeader() if isinstance(view, QTableView) else view.header()


# Room around a heading's text (the header's own margins and the sort arrow's place).
HEADING_PADDING = 16
CELL_PADDING = 12  # the view's sizeHintForColumn leaves no room for the grid and margins
# The stretch column's default minimum: all it wants (a name is never cut; the optional
# columns give way first). A summary column (a prompt) passes a smaller one.
WHOLE = 1_000_000


def plan_columns(
    wanted: Mapping[int, int],
    room: int,
    *,
    stretch: int,
    optional: Sequence[int],
    stretch_min: int,
    stretch_floor: int | None = None,
) -> tuple[set[int], int]:
    """Which optional columns to hide (least needed first, as few as can be) so the others
    keep their `wanted` widths and `stretch` at least `stretch_min` (or what it wants, when
    less); and the width left for `stretch`. With every optional column hidden and still no
    room, a `stretch_floor` lets the stretch give way down to it (its text elided, whole on
    hover) rather than push the figures past the list's edge."""
    need_stretch = min(wanted[stretch], stretch_min)
    fixed = sum(w for c, w in wanted.items() if c != stretch)
    hidden: set[int] = set()
    for column in optional:
        if fixed + need_stretch <= room:
            break
        hidden.add(column)
        fixed -= wanted[column]
    if stretch_floor is not None and fixed + need_stretch > room:
        return hidden, max(stretch_floor, room - fixed)
    return hidden, max(need_stretch, room - fixed)


class ColumnFitter(QObject):
    """Keeps `table`'s columns fitted (a table's or a tree's); `stretch` takes the rest (never
    less than it wants, unless `stretch_min` or `stretch_share` of the width allow it, or
    `stretch_floor` once every optional column has given way),
    `optional` (least needed first) are hidden when the table is too narrow for them; `caps`
    bound some columns' widths (a long model id must not take the prompt's room)."""

    def __init__(
        self,
        table: View,
        *,
        stretch: int,
        optional: Sequence[int] = (),
        stretch_min: int = WHOLE,
        stretch_share: float = 0.0,
        caps: Mapping[int, int] | None = None,
        stretch_floor: int | None = None,
    ) -> None:
        super().__init__(table)
        self._table = table
        self.stretch = stretch
        self.optional = list(optional)
        self.stretch_min = stretch_min
        self.stretch_share = stretch_share  # of the width, kept for the stretch at least
        # How narrow the stretch may get when nothing else can give way (`plan_columns`).
        self.stretch_floor = stretch_floor
        self.caps = dict(caps or {})
        # Columns hidden whatever the room (a page's column with nothing to say yet).
        self.unwanted: set[int] = set()
        # Columns as wide as given whatever their cells say (text that changes every second:
        # which columns fit must not change with it); the page keeps it current.
        self.fixed: dict[int, int] = {}
        # Room kept free after the last column (a right-aligned figure never meets the frame).
        self.end_gap = 0
        # Columns that, given way, are shown under a neighbour (column -> the neighbour): not
        # hidden while that neighbour is shown, so the header does not count them.
        self.moved: dict[int, int] = {}
        self._widths: dict[int, int] = {}
        self._fitted: tuple[int, object] | None = None
        header = _header(table)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        # Measure the rows on screen only: all of a long list cost the loop ~100 ms.
        header.setResizeContentsPrecision(0)
        self.hint = HiddenColumnsHint(table)
        self.hint.chosen.connect(self.prefer)
        table.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit(measure=False)
        return False

    def prefer(self, name: str) -> None:
        """Show the optional column headed `name` from now on, whatever the room (a person
        asked for it from the hint): the other optional ones give way in its place, and short
        of room the list scrolls sideways."""
        header = _header(self._table)
        model = self._table.model()
        for column in list(self.optional):
            if str(model.headerData(column, header.orientation())).replace("\n", " ") == name:
                self.optional.remove(column)
        self.fit(measure=False)

    def hidden(self) -> list[int]:
        """The columns hidden now for want of room."""
        header = _header(self._table)
        return [c for c in self.optional if header.isSectionHidden(c)]

    def fit(self, *, measure: bool = True, contents: object = None) -> None:
        """Fit the columns to the table's width; `measure` reads the cells again (their text
        changed), else the last measurements are used (a resize). With `contents` (what the
        rows say), nothing is done when it and the width are as last time."""
        table = self._table
        model = table.model()
        if model is None:
            return
        room = table.viewport().width() - self.end_gap
        if contents is not None:
            if (room, contents) == self._fitted:
                return
            self._fitted = (room, contents)
        columns = model.columnCount()
        if measure or len(self._widths) != columns:
            self._widths = {c: self._wanted(c) for c in range(columns)}
        if room <= 0:
            return
        # The share asked for the stretch, as far as the columns that always stay leave it.
        required = sum(
            w for c, w in self._widths.items() if c != self.stretch and c not in self.optional
        )
        share = min(round(room * self.stretch_share), room - required)
        wanted = {c: (0 if c in self.unwanted else w) for c, w in self._widths.items()}

        def plan(width: int) -> tuple[set[int], int]:
            return plan_columns(
                wanted,
                width,
                stretch=self.stretch,
                optional=self.optional,
                stretch_min=max(self.stretch_min, share),
                stretch_floor=self.stretch_floor,
            )

        hidden, stretch_width = plan(room)
        self._apply(hidden, stretch_width, columns)
        if not self.hint.fits:  # its words cover a heading: room at the header's end for them
            hidden, stretch_width = plan(room - self.hint.room())
            self._apply(hidden, stretch_width, columns)

    def _apply(self, hidden: set[int], stretch_width: int, columns: int) -> None:
        """Hide `hidden` (and the unwanted), size the rest, and say what gave way."""
        header = _header(self._table)
        model = self._table.model()
        given_way = sorted(
            c for c in hidden - self.unwanted if c not in self.moved or self.moved[c] in hidden
        )
        names = [str(model.headerData(c, header.orientation())) for c in given_way]
        hidden = hidden | self.unwanted
        for column in range(columns):
            if header.isSectionHidden(column) != (column in hidden):
                header.setSectionHidden(column, column in hidden)
            width = stretch_width if column == self.stretch else self._widths[column]
            if column not in hidden and header.sectionSize(column) != width:
                header.resizeSection(column, width)
        self.hint.show_hidden(names, over=self.stretch)

    def _wanted(self, column: int) -> int:
        """The width column `column` wants: its widest cell on screen, or its heading (or
        the width it is `fixed` at)."""
        if column in self.fixed:
            return self.fixed[column]
        table = self._table
        header = _header(table)
        model = table.model()
        heading = str(model.headerData(column, header.orientation()) or "")
        lines = heading.splitlines() or [""]
        metrics = header.fontMetrics()
        heading_width = max(metrics.horizontalAdvance(line) for line in lines) + HEADING_PADDING
        cells = table.sizeHintForColumn(column) + CELL_PADDING
        wanted = max(heading_width, cells)
        cap = self.caps.get(column)
        return wanted if cap is None else max(heading_width, min(wanted, cap))
