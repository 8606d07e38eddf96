"""One table style for every list in the window, applied by the window as each place is built.

Before, Jobs, the Flight recorder, Providers and Keys had bold, centred headings and rows of 24
to 30 px, while Agents and Credentials had regular, left-aligned headings over rows of ~14 px.
Now every list has regular headings aligned with their column's cells (left, unless a page
right-aligns a figures column, `align_heading`), no heading turning bold when its column holds
the selection, and rows of one height (`ROW_HEIGHT`; a table that fits its rows to wrapped text
keeps doing so, taller rows only). Where a right-aligned figure's heading meets a left-aligned
one, both keep `HEADING_INSET` more room on that side than the style gives (`HeadingRoom`):
they touched ("Spent Limits", "Cache write From": 4-5 px apart, review 41-3, finding 11), now
8 px or more (tests/ui/test_page_chrome.py measures the drawn headers).
"""

from __future__ import annotations

from collections.abc import Iterable

from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QModelIndex,
    QPainter,
    QPersistentModelIndex,
    QProxyStyle,
    QSize,
    QStyle,
    QStyledItemDelegate,
    QStyleOption,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    Qt,
    QTableView,
    QTableWidget,
    QTreeView,
    QTreeWidget,
    QWidget,
)
from llmgw_desktop.ui.terms import meaning

__all__ = ["HEADING_INSET", "ROW_HEIGHT", "HeadingRoom", "align_heading", "fit_rows", "tidy_tables"]

ROW_HEIGHT = 28
HEADING_INSET = 4  # px more on each side of a heading's words than the style's own margin
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class _RowHeight(QStyledItemDelegate):
    """A tree's rows at least `ROW_HEIGHT` tall (a tree has no default section size)."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), max(hint.height(), ROW_HEIGHT))


def tidy_tables(root: QWidget) -> int:
    """Give every table and tree under `root` the window's one style; how many were new."""
    tidied = 0
    for view in root.findChildren(QAbstractItemView):
        if view.property("tidied"):
            continue
        view.setProperty("tidied", True)
        tidied += 1
        if isinstance(view, QTableView | QTreeView):
            header = view.horizontalHeader() if isinstance(view, QTableView) else view.header()
            _tidy_header(header)
            _explain_headings(view)
        if isinstance(view, QTableView):
            rows = view.verticalHeader()
            rows.setDefaultSectionSize(ROW_HEIGHT)
            # Rows fitted to their contents too: a one-line row as tall as any other.
            rows.setMinimumSectionSize(ROW_HEIGHT)
        elif isinstance(view, QTreeView) and type(view.itemDelegate()) is QStyledItemDelegate:
            view.setItemDelegate(_RowHeight(view))
    return tidied


def _explain_headings(view: QAbstractItemView) -> None:
    """A heading that is a word of the trade says what it means on hover (`ui/terms.py`);
    one with a tooltip of its own keeps it."""
    if isinstance(view, QTableWidget):
        for column in range(view.columnCount()):
            item = view.horizontalHeaderItem(column)
            if item is not None and not item.toolTip() and (words := meaning(item.text())):
                item.setToolTip(words)
    elif isinstance(view, QTreeWidget):
        head = view.headerItem()
        for column in range(view.columnCount()):
            if not head.toolTip(column) and (words := meaning(head.text(column))):
                head.setToolTip(column, words)


class HeadingRoom(QProxyStyle):
    """The app's base style for one header, where a right-aligned heading (figures) meets a
    left-aligned one: each of the two keeps `HEADING_INSET` more room on that side (and its
    section is that much wider when fitted to its heading). Other headings are as the style
    draws them, in line with their cells."""

    def drawControl(
        self,
        element: QStyle.ControlElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if (
            element == QStyle.ControlElement.CE_HeaderLabel
            and isinstance(option, QStyleOptionHeader)
            and isinstance(widget, QHeaderView)
        ):
            left, right = _insets(widget, option.section)
            if left or right:
                option = QStyleOptionHeader(option)
                option.rect = option.rect.adjusted(left, 0, -right, 0)
        super().drawControl(element, option, painter, widget)

    def sizeFromContents(
        self,
        kind: QStyle.ContentsType,
        option: QStyleOption,
        size: QSize,
        widget: QWidget | None = None,
    ) -> QSize:
        # Qt takes a null widget here; PySide's stub says otherwise.
        hint = super().sizeFromContents(kind, option, size, widget)  # type: ignore[arg-type]
        if (
            kind == QStyle.ContentsType.CT_HeaderSection
            and isinstance(option, QStyleOptionHeader)
            and isinstance(widget, QHeaderView)
        ):
            hint.setWidth(hint.width() + sum(_insets(widget, option.section)))
        return hint


def _right_aligned(header: QHeaderView, section: int) -> bool:
    model = header.model()
    if model is None or section < 0:
        return False
    align = model.headerData(section, header.orientation(), Qt.ItemDataRole.TextAlignmentRole)
    return align is not None and bool(Qt.AlignmentFlag(int(align)) & Qt.AlignmentFlag.AlignRight)


def _neighbour(header: QHeaderView, section: int, step: int) -> int:
    """The logical index of the shown section `step` (±1) places from `section`, or -1."""
    visual = header.visualIndex(section) + step
    while 0 <= visual < header.count():
        logical = header.logicalIndex(visual)
        if not header.isSectionHidden(logical):
            return logical
        visual += step
    return -1


def _insets(header: QHeaderView, section: int) -> tuple[int, int]:
    """The extra room (left, right) for `section`'s heading: on the side where a figure's
    right-aligned heading meets a left-aligned one."""
    if _right_aligned(header, section):
        after = _neighbour(header, section, 1)
        return 0, HEADING_INSET if after >= 0 and not _right_aligned(header, after) else 0
    before = _neighbour(header, section, -1)
    return (HEADING_INSET if before >= 0 and _right_aligned(header, before) else 0), 0


def _tidy_header(header: QHeaderView) -> None:
    # Its own style (not a style sheet: that would polish it through the sheet engine), on
    # the base style the app draws with; the header owns it.
    app = QApplication.instance()
    base = app.property("baseStyle") if app is not None else None
    room = HeadingRoom(str(base or "Fusion"))
    room.setParent(header)
    header.setStyle(room)
    header.setHighlightSections(False)  # no heading turns bold when its column is selected
    header.setDefaultAlignment(LEFT)
    font = header.font()
    if font.bold():
        font.setBold(False)
        header.setFont(font)


def align_heading(view: QTableView | QTreeView, columns: Iterable[int]) -> None:
    """Right-align the headings of `columns` (figures, right-aligned in their cells)."""
    model = view.model()
    if model is None:
        return
    for column in columns:
        model.setHeaderData(
            column, Qt.Orientation.Horizontal, RIGHT, Qt.ItemDataRole.TextAlignmentRole
        )


def fit_rows(view: QTableView, *, least: int = 2, most: int = 8) -> None:
    """Keep `view` as tall as its rows (at least `least`, at most `most` before it scrolls),
    so a short list does not sit in a tall empty box with what follows pushed far below."""

    def fit() -> None:
        try:
            rows = view.model().rowCount() if view.model() is not None else 0
        except RuntimeError:
            return  # the view is being destroyed: its model empties itself on the way out
        shown = max(least, min(most, rows))
        header = view.horizontalHeader()
        # Hidden itself, not merely on a page not shown now: a window resized while another
        # page was shown fitted the grants without their heading (one row and a half at 1440).
        heading = 0 if header.isHidden() else max(header.height(), header.sizeHint().height())
        height = heading + 2 * view.frameWidth()
        height += shown * max(view.verticalHeader().defaultSectionSize(), ROW_HEIGHT)
        # The sideways bar takes a row's room when the columns are wider than the view: counted
        # by its range (it is shown after this runs), and fitted again when the range changes
        # (at 1024 px the OAuth grants showed one row and a half under two scroll bars).
        bar = view.horizontalScrollBar()
        sideways = view.horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        if sideways and bar.maximum() > bar.minimum():
            height += bar.sizeHint().height()
        if view.height() != height or view.minimumHeight() != height:
            view.setFixedHeight(height)

    model = view.model()
    if model is None:
        return
    for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
        signal.connect(lambda *_args: fit())
    view.horizontalScrollBar().rangeChanged.connect(lambda *_args: fit())
    fit()
