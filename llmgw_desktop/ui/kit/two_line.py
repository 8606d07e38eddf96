"""A list cell of two lines: its own text, and under it, smaller and muted, a second one.

When a narrow list gives way a column, what that column said can move under a neighbour
instead of vanishing (the Flight recorder's model under its provider, as Docker Desktop puts a
container's image under its name). `TwoLineDelegate` draws a cell's text on the first line and
`second(index)` on the second; where `second` says "" the cell is drawn as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from llmgw_desktop.ui.qt import (
    QColor,
    QModelIndex,
    QObject,
    QPainter,
    QPalette,
    QPersistentModelIndex,
    QSize,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
)
from llmgw_desktop.ui.theme import current_look

__all__ = ["TwoLineDelegate", "two_line_height"]

Index = QModelIndex | QPersistentModelIndex
LINE_GAP = 1  # px between the two lines
TEXT_MARGINS = 12  # px the style keeps around a cell's text, both sides
ROW_PADDING = 8  # px above and below the two lines together


def two_line_height(line_spacing: int) -> int:
    """The height of a row whose cells may hold two lines."""
    return 2 * line_spacing + LINE_GAP + ROW_PADDING


class TwoLineDelegate(QStyledItemDelegate):
    """Draws a cell's text, and `second(index)` under it when that is not ""."""

    def __init__(
        self,
        second: Callable[[Index], str],
        parent: QObject | None = None,
        *,
        measure: Callable[[Index], str] | None = None,
    ) -> None:
        """`second(index)`: the second line drawn now; `measure(index)`: the second line a
        cell may come to hold, which its width makes room for (so it is not cut the moment
        its column gives way and it moves here)."""
        super().__init__(parent)
        self._second = second
        self._measure = measure

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        second = self._measure(index) if self._measure is not None else ""
        if second:
            wanted = option.fontMetrics.horizontalAdvance(second) + TEXT_MARGINS
            size.setWidth(max(size.width(), wanted))
        return size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        second = self._second(index)
        if not second:
            super().paint(painter, option, index)
            return
        view = QStyleOptionViewItem(option)
        self.initStyleOption(view, index)
        first = view.text
        view.text = ""  # the style draws the background, selection and focus; the text is ours
        widget = view.widget
        style = widget.style() if widget is not None else None
        if style is None:
            super().paint(painter, option, index)
            return
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, view, painter, widget)
        area = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, view, widget)
        area = area.adjusted(3, 0, -3, 0)  # the margins the style gives a cell's text
        metrics = view.fontMetrics
        spacing = metrics.lineSpacing()
        top = area.top() + (area.height() - 2 * spacing - LINE_GAP) // 2
        selected = bool(view.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        try:
            painter.setFont(view.font)
            painter.setPen(view.palette.color(role))
            line = area.adjusted(0, top - area.top(), 0, 0)
            line.setHeight(spacing)
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(
                line, flags, metrics.elidedText(first, view.textElideMode, line.width())
            )
            if not selected:
                painter.setPen(QColor(current_look().muted))
            line.translate(0, spacing + LINE_GAP)
            painter.drawText(
                line, flags, metrics.elidedText(second, view.textElideMode, line.width())
            )
        finally:
            painter.restore()
