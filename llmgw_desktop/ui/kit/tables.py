"""One table style for every list in the window, applied by the window as each place is built.

Before, Jobs, the Flight recorder, Providers and Keys had bold, centred headings and rows of 24
to 30 px, while Agents and Credentials had regular, left-aligned headings over rows of ~14 px.
Now every list has regular headings aligned with their column's cells (left, unless a page
right-aligns a figures column, `align_heading`), no heading turning bold when its column holds
the selection, and rows of one height (`ROW_HEIGHT`; a table that fits its rows to wrapped text
keeps doing so, taller rows only).
"""

from __future__ import annotations

from collections.abc import Iterable

from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QHeaderView,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QTableView,
    QTreeView,
    QWidget,
)

__all__ = ["ROW_HEIGHT", "align_heading", "fit_rows", "tidy_tables"]

ROW_HEIGHT = 28
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
        if isinstance(view, QTableView):
            rows = view.verticalHeader()
            rows.setDefaultSectionSize(ROW_HEIGHT)
            # Rows fitted to their contents too: a one-line row as tall as any other.
            rows.setMinimumSectionSize(ROW_HEIGHT)
        elif isinstance(view, QTreeView) and type(view.itemDelegate()) is QStyledItemDelegate:
            view.setItemDelegate(_RowHeight(view))
    return tidied


def _tidy_header(header: QHeaderView) -> None:
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
        height = (header.height() if header.isVisible() else 0) + 2 * view.frameWidth()
        height += shown * max(view.verticalHeader().defaultSectionSize(), ROW_HEIGHT)
        bar = view.horizontalScrollBar()
        if bar.isVisible():
            height += bar.height()
        view.setFixedHeight(height)

    model = view.model()
    if model is None:
        return
    for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
        signal.connect(lambda *_args: fit())
    fit()
