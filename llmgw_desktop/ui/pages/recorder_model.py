"""The Flight recorder page's table model: recorder rows fetched lazily, a page at a time.

The view calls `canFetchMore`/`fetchMore` as the person scrolls near the end; each fetch is
one keyset page from `RecorderQuery`, loaded in a task on the running loop, so a slot never
waits on the store. Every request carries the generation it was asked for, and an answer for
filters the person has since changed is dropped. A reload keeps the old rows on screen until
the new first page arrives, so a live refresh never blanks the table. The total is counted
apart, because a count can take longer than a page.

Painting asks `data()` for every visible cell several times a second under load, on the loop
thread that also serves the gateway, so the cells' text is formatted once, on the DB thread,
with the page. A live refresh merges the new first page into the rows shown: the new requests
are inserted on top, changed rows (a request that finished) are updated in place and rows that
fell off the page are removed, instead of resetting the model, which makes the view drop and
rebuild its layout, selection and headers every second.

A request's state is the window's one status cell (`badge.py`: the kind's glyph and the word
in its tone), so colour is never the only sign; a request the response cache answered reads
"from cache" there, at every width (its cost and tokens are in columns a narrow list hides).
A request that ended without an answer has its error code and HTTP status in the theme's error
colour too. The order is newest or oldest
first by time, the only orders the query can keep true at a million rows (see
`engine/recorder/query.py`); the Time column's header says which is in force, and a click on it
switches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from llmgw_desktop.engine.api import (
    PAGE_SIZE,
    PageCursor,
    RecorderFilters,
    RecorderPage,
    RecorderQuery,
    RecordSummary,
)
from llmgw_desktop.ui.badge import state_kind, status_data
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.pages.recorder_words import (
    FAILED_OVER_TIP,
    FROM_CACHE_TIP,
    NO_TOKENS_COST,
    cost_unused,
    exact_usd,
    format_clock,
    format_cost,
    format_cost_cell,
    format_duration,
    format_state,
    format_time,
)
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QAbstractTableModel,
    QColor,
    QIcon,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPixmap,
    Qt,
    Signal,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.terms import meaning, who_words
from llmgw_desktop.ui.theme import error_colour

__all__ = [
    "BODY_KEPT",
    "COLUMNS",
    "ORDER_HEADERS",
    "PROVIDER_COLUMN",
    "TIME_COLUMN",
    "RecorderTableModel",
    "format_cells",
]

COLUMNS = (
    "Time",
    "Provider",
    "Model",
    "State",
    "Error code",
    "HTTP",
    "Project",
    "Caller",
    "Runs as",
    "Duration",
    "Tokens in",
    "Tokens out",
    "Cache read",
    "Cache write",
    "Cost",
)
TIME_COLUMN = COLUMNS.index("Time")
PROVIDER_COLUMN = COLUMNS.index("Provider")
COST_COLUMN = COLUMNS.index("Cost")
_NUMERIC = frozenset(range(COLUMNS.index("Duration"), len(COLUMNS)))
STATE_COLUMN = COLUMNS.index("State")
# The cells drawn in the error colour on a request that ended without an answer.
_MARKED = frozenset(COLUMNS.index(name) for name in ("Error code", "HTTP"))
# Short (the column is as wide as "08:17:05"); the tooltip says the order in words.
ORDER_HEADERS = {False: "Time ↓", True: "Time ↑"}
_TIME_TIPS = {
    False: "Newest first (the date of each is in its tooltip); click for the oldest first",
    True: "Oldest first (the date of each is in its tooltip); click for the newest first",
}
_OTHER_TIP = (
    "Requests are listed by time (click Time to switch newest and oldest first). Other "
    "columns do not sort: over a million requests only the time order stays true and quick; "
    "filter by this column instead."
)
_ROOT = QModelIndex()
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ID = int(Qt.ItemDataRole.UserRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
Index = QModelIndex | QPersistentModelIndex


BODY_KEPT = "Body kept: Replay on… can send it again"
BLANK_ICON_PX = 16  # the size of a blank decoration (the view scales it to its icon size)


@functools.cache
def _kept_icon() -> QIcon:
    """The mark of a request whose body was kept: Replay on…'s own icon (made once)."""
    return glyph("play")


@functools.cache
def _blank_icon() -> QIcon:
    """Nothing, as wide as the mark: a row without it keeps its time in line with those with."""
    blank = QPixmap(BLANK_ICON_PX, BLANK_ICON_PX)
    blank.fill(Qt.GlobalColor.transparent)
    return QIcon(blank)


def _unused(r: RecordSummary) -> bool:
    """Whether the row ended unanswered before any tokens: it cost nothing (its Cost cell
    was blank, and its tooltip said "not priced", beside a detail saying it used nothing)."""
    return cost_unused(r.state, r.input_tokens + r.output_tokens + r.cache_read_tokens)


# One function per column; `format_cells` runs them all on the DB thread as a page loads.
_CELLS: tuple[Callable[[RecordSummary, ProviderNames], str], ...] = (
    lambda r, _names: format_clock(r.started_at),
    lambda r, names: names.row_text(r.provider, r.state, r.model),
    lambda r, _names: r.model or "",
    lambda r, _names: format_state(r.state, from_cache=r.from_cache, failed_over=r.failed_over),
    lambda r, _names: r.error_code or "",
    lambda r, _names: "" if r.http_status is None else str(r.http_status),
    lambda r, _names: r.project or "",
    lambda r, _names: r.caller,
    lambda r, _names: who_words(r.principal),
    lambda r, _names: format_duration(r.duration_ms),
    lambda r, _names: f"{r.input_tokens:,}",
    lambda r, _names: f"{r.output_tokens:,}",
    lambda r, _names: f"{r.cache_read_tokens:,}",
    lambda r, _names: f"{r.cache_write_tokens:,}",
    lambda r, _names: format_cost_cell(r.cost_usd) or ("none" if _unused(r) else ""),
)


def format_cells(row: RecordSummary, names: ProviderNames | None = None) -> tuple[str, ...]:
    """The row's text, one string per column (runs on the DB thread, see `RecorderQuery`);
    providers by the names the desk shows (`names`), else by id."""
    names = names or ProviderNames()
    return tuple(cell(row, names) for cell in _CELLS)


class RecorderTableModel(QAbstractTableModel):
    """Rows of the flight recorder under one set of filters, newest (or oldest) first, loaded
    on demand."""

    countChanged = Signal(object)  # the total as an int, or None while it is being counted
    pageLoaded = Signal(int)  # how many rows are loaded now

    def __init__(
        self,
        query: RecorderQuery,
        tasks: UiTasks,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        self._query = query
        self._tasks = tasks
        self._page_size = page_size
        self._filters = RecorderFilters()
        self._oldest_first = False
        self._error = QColor(error_colour())
        # Provider names as the desk shows them; the page refreshes them when shown.
        self.names = ProviderNames()
        self._rows: list[RecordSummary] = []
        self._cells: list[tuple[str, ...]] = []  # the rows' text, formatted as they loaded
        self._next: PageCursor | None = None
        self._generation = 0
        self._fetching = False
        self._count_asked = 0
        self._total: int | None = None
        self._failed_over = 0
        self._counting = False

    # -- what the page reads ------------------------------------------------------------------

    @property
    def filters(self) -> RecorderFilters:
        return self._filters

    @property
    def oldest_first(self) -> bool:
        return self._oldest_first

    @property
    def loading(self) -> bool:
        return self._fetching

    @property
    def counting(self) -> bool:
        return self._counting

    @property
    def total(self) -> int | None:
        return self._total

    @property
    def failed_over(self) -> int:
        """How many of the `total` rows are attempts that failed over (as of the last count)."""
        return self._failed_over

    @property
    def loaded(self) -> int:
        return len(self._rows)

    def summary(self, row: int) -> RecordSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def cell_texts(self, column: int) -> set[str]:
        """The different texts the loaded rows show in `column` (to size it by)."""
        return {cells[column] for cells in self._cells}

    def row_of(self, record_id: str) -> int | None:
        for number, row in enumerate(self._rows):
            if row.id == record_id:
                return number
        return None

    # -- loading ------------------------------------------------------------------------------

    def reload(
        self,
        filters: RecorderFilters | None = None,
        *,
        oldest_first: bool | None = None,
        recount: bool = True,
        live: bool = False,
    ) -> None:
        """Load the first page for `filters` (or the current ones again) in the given order
        (or the current one), and maybe recount.

        `live`: the same list, moved on by new requests (a relative time range measured from
        a later now), so the page is merged into the rows shown rather than replacing them.
        """
        if filters is not None:
            self._filters = filters
        if oldest_first is not None and oldest_first != self._oldest_first:
            self._oldest_first = oldest_first
            live = False  # another order: the rows shown are not a shifted version of it
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, TIME_COLUMN, TIME_COLUMN)
        self._generation += 1
        self._fetching = self._tasks.spawn(
            self._load(self._generation, self._filters, self._oldest_first, None, merge=live),
            what="load the flight recorder",
        )
        if recount:
            self.recount()

    def recount(self) -> None:
        self._count_asked += 1
        self._counting = self._tasks.spawn(
            self._count(self._count_asked, self._filters), what="count the flight recorder"
        )
        if self._counting:
            self._total = None
            self.countChanged.emit(None)

    def canFetchMore(self, parent: Index = _ROOT) -> bool:
        return not parent.isValid() and self._next is not None and not self._fetching

    def fetchMore(self, parent: Index = _ROOT) -> None:
        if not self.canFetchMore(parent):
            return
        self._fetching = self._tasks.spawn(
            self._load(self._generation, self._filters, self._oldest_first, self._next),
            what="load more of the flight recorder",
        )

    async def _load(
        self,
        generation: int,
        filters: RecorderFilters,
        oldest_first: bool,
        after: PageCursor | None,
        *,
        merge: bool = False,
    ) -> None:
        try:
            page = await self._query.page(
                filters,
                after,
                limit=self._page_size,
                oldest_first=oldest_first,
                cells=functools.partial(format_cells, names=self.names),
            )
        except BaseException:
            if generation == self._generation:
                self._fetching = False
            raise
        if generation != self._generation:
            return  # the filters changed meanwhile: a newer load owns the table
        self._fetching = False
        if after is not None:
            self._append(page)
        elif not (merge and self._merge(page)):
            self._replace(page)
        self.pageLoaded.emit(len(self._rows))

    def _replace(self, page: RecorderPage) -> None:
        self.beginResetModel()
        self._rows = list(page.rows)
        self._cells = list(page.cells)
        self._next = page.next
        self.endResetModel()

    def _append(self, page: RecorderPage) -> None:
        if page.rows:
            first = len(self._rows)
            self.beginInsertRows(_ROOT, first, first + len(page.rows) - 1)
            self._rows.extend(page.rows)
            self._cells.extend(page.cells)
            self.endInsertRows()
        self._next = page.next

    def _merge(self, page: RecorderPage) -> bool:
        """Turn the rows shown into `page` by row changes; False when only a reset can.

        Rows are ordered by a key that never changes, so the new first page is some new rows
        (newest first: requests that arrived; either order: one that started earlier and was
        written late), then the rows shown from the top, in the same order, up to where the
        page ends. Anything else (a whole page of new rows, a pruned row, oldest first: new
        rows after a short list's end) is a reset.
        """
        new, old = page.rows, self._rows
        if not new or not old:
            return False
        top = old[0].id
        added = next((number for number, row in enumerate(new) if row.id == top), None)
        if added is None:
            return False
        kept = len(new) - added
        if kept > len(old) or (page.next is None and kept < len(old)):
            return False  # rows vanished from within the page: not a plain shift
        if any(n.id != o.id for n, o in zip(new[added:], old, strict=False)):
            return False
        if kept < len(old):  # what fell off the first page goes, as after a reload
            self.beginRemoveRows(_ROOT, kept, len(old) - 1)
            del self._rows[kept:], self._cells[kept:]
            self.endRemoveRows()
        if added:
            self.beginInsertRows(_ROOT, 0, added - 1)
            self._rows[:0] = new[:added]
            self._cells[:0] = page.cells[:added]
            self.endInsertRows()
        changed = [number for number in range(added, len(new)) if new[number] != self._rows[number]]
        if changed:  # a request that finished: its state, duration and tokens
            first, last = changed[0], changed[-1]
            self._rows[first : last + 1] = new[first : last + 1]
            self._cells[first : last + 1] = page.cells[first : last + 1]
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        self._next = page.next
        return True

    async def _count(self, asked: int, filters: RecorderFilters) -> None:
        try:
            total = await self._query.count(filters)
            failed_over = await self._query.count_failed_over(filters) if total else 0
        finally:
            if asked == self._count_asked:
                self._counting = False
        if asked == self._count_asked:
            self._total, self._failed_over = total, failed_over
            self.countChanged.emit(total)

    # -- QAbstractTableModel ------------------------------------------------------------------

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and role on each paint, on the loop thread: a lookup
        # of text formatted on the DB thread, and the roles we do not use answered first.
        if role == _DISPLAY:
            number = index.row()
            if 0 <= number < len(self._cells) and index.isValid():
                return self._cells[number][index.column()]
            return None
        if role in (_FOREGROUND, _DECORATION) and index.column() == STATE_COLUMN:
            row = self.summary(index.row())
            if row is None:
                return None
            return status_data(
                state_kind(format_state(row.state, failed_over=row.failed_over)), role
            )
        if role == _DECORATION and index.column() == TIME_COLUMN:
            # Its body was kept: Replay on… can send it again (the icon of that button). The
            # others keep the icon's room blank, so the times stay in line.
            row = self.summary(index.row())
            if row is None:
                return None
            return _kept_icon() if row.body_kept else _blank_icon()
        if role == _FOREGROUND:
            if index.column() not in _MARKED:
                return None
            row = self.summary(index.row())
            return self._error if row is not None and row.unsuccessful else None
        if role == _ALIGNMENT:
            return _RIGHT if index.column() in _NUMERIC else None
        if role == _TOOLTIP:
            number = index.row()
            if 0 <= number < len(self._rows) and index.isValid():
                return self._tooltip(number, index.column())
            return None
        if role == _ID:
            row = self.summary(index.row()) if index.isValid() else None
            return None if row is None else row.id
        return None

    def _tooltip(self, number: int, column: int) -> str:
        """A cell's whole story: the time with its date, the cost exact, the model in full."""
        row = self._rows[number]
        if column == TIME_COLUMN:
            text = format_time(row.started_at)
            if row.body_kept:
                text += f"\n{BODY_KEPT}"
        elif column == STATE_COLUMN and row.failed_over:
            text = FAILED_OVER_TIP
        elif column == STATE_COLUMN and row.from_cache:
            text = FROM_CACHE_TIP if row.state == "completed" else f"{row.state}: {FROM_CACHE_TIP}"
        elif column == COST_COLUMN:
            cost = format_cost(row.cost_usd)
            exact = "" if row.cost_usd is None else exact_usd(row.cost_usd)
            text = cost + (f" (exactly {exact})" if exact != cost else "") or (
                NO_TOKENS_COST if _unused(row) else "not priced"
            )
        else:
            text = self._cells[number][column]
        if column == STATE_COLUMN and row.error_code:
            text += f"\n{row.error_code}"  # why it failed, where the error code gave way
        if column == PROVIDER_COLUMN and row.model:
            text += f"\nmodel {row.model}"
        return f"{text}\nrequest {row.id}"

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return ORDER_HEADERS[self._oldest_first] if section == TIME_COLUMN else COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == TIME_COLUMN:
                return _TIME_TIPS[self._oldest_first]
            term = meaning(COLUMNS[section])
            return f"{term}\n\n{_OTHER_TIP}" if term else _OTHER_TIP
        if role == _ALIGNMENT and section in _NUMERIC:
            return _RIGHT  # the heading over its right-aligned figures
        return None

    def restyle(self) -> None:
        """Take the error colour of the look now in use (after the system switched looks)."""
        self._error = QColor(error_colour())
        if self._rows:
            last = self.index(len(self._rows) - 1, len(COLUMNS) - 1)
            self.dataChanged.emit(self.index(0, 0), last)
