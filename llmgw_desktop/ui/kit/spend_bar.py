"""What was spent against a limit, as a bar: filled in the tone of how close it is.

Under the soft limit (or 80 % of the hard one) the bar is blue (the look's info tone); past it,
amber; at the hard limit, red. The words beside it say the figures ("$1.20 of $5.00 this
month", or the percentage beside a table's bar, in the text colour: never drawn on the fill,
where white on amber read at 1.35:1), so the bar is never the only way to read them. The empty
part is the look's `trough`, dark on the dark look, inside a one-pixel edge in the look's
`control_border` (3:1 or more on every background: the trough alone was 1.06:1 on the dark
details pane, so a 0% bar was not there at all). The fill is the share of the track, however
small: a spend of 0.0007 % is an empty trough, not a dot that reads as a slider's handle.
"""

from __future__ import annotations

from llmgw_desktop.ui.design import RADIUS, SPACE
from llmgw_desktop.ui.qt import (
    QAbstractItemView,
    QApplication,
    QColor,
    QIcon,
    QModelIndex,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QWidget,
)
from llmgw_desktop.ui.theme import current_look, tone_colour

__all__ = ["BAR_ROLE", "NEAR", "SpendBar", "SpendBarDelegate", "paint_bar", "spend_tone"]

BAR_HEIGHT = 8
NEAR = 0.8  # past this share of the limit, the bar turns amber


def spend_tone(spent: float, limit: float | None, soft: float | None = None) -> str:
    """The tone of a spend against its limits: "" (fine), "warning" or "error"."""
    if limit is not None and limit > 0 and spent >= limit:
        return "error"
    if soft is not None and spent >= soft:
        return "warning"
    if limit is not None and limit > 0 and spent >= NEAR * limit:
        return "warning"
    return ""


def paint_bar(painter: QPainter, track: QRectF, fraction: float, tone: str) -> None:
    """A bar in `track`: the look's trough inside its edge, filled `fraction` (0..1) of its
    width in `tone`'s colour ("" for the accent), the fill clipped to the track's round ends."""
    painter.save()
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        radius = min(RADIUS / 2, track.height() / 2)
        shape = QPainterPath()
        shape.addRoundedRect(track, radius, radius)
        painter.fillPath(shape, QColor(current_look().trough))
        width = track.width() * max(0.0, min(1.0, fraction))
        if width >= 1.0:
            # Under the limits the fill is the look's info blue (3:1 or more on the trough in
            # both looks; the accent was 2.3:1 on the dark one).
            colour = QColor(tone_colour(tone or "info"))
            painter.save()
            painter.setClipPath(shape)
            painter.fillRect(QRectF(track.left(), track.top(), width, track.height()), colour)
            painter.restore()
        # The edge last, half a pixel in, so it is one crisp pixel whatever the fill.
        painter.setPen(QPen(QColor(current_look().control_border), 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        edge = track.adjusted(0.5, 0.5, -0.5, -0.5)
        painter.drawRoundedRect(edge, max(0.0, radius - 0.5), max(0.0, radius - 0.5))
    finally:
        painter.restore()


class SpendBar(QWidget):
    """A thin bar of `spent / limit`; without a limit it draws an empty track."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spendBar")
        self.fraction = 0.0
        self.tone = ""
        self.setMinimumWidth(60)

    def set_spend(self, spent: float, limit: float | None, soft: float | None = None) -> None:
        """Draw `spent` of `limit` (None: no limit, nothing to fill)."""
        fraction = min(1.0, spent / limit) if limit else 0.0
        tone = spend_tone(spent, limit, soft)
        if (fraction, tone) != (self.fraction, self.tone):
            self.fraction, self.tone = fraction, tone
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(160, BAR_HEIGHT + SPACE["xs"])

    def minimumSizeHint(self) -> QSize:
        return QSize(60, BAR_HEIGHT)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            top = (self.height() - BAR_HEIGHT) / 2
            paint_bar(painter, QRectF(0, top, self.width(), BAR_HEIGHT), self.fraction, self.tone)
        finally:
            painter.end()


# A table cell drawn by `SpendBarDelegate` holds its words as text ("89%") and, in this role,
# (fraction, tone).
BAR_ROLE = Qt.ItemDataRole.UserRole + 11
LABEL_GAP = SPACE["s"]


class SpendBarDelegate(QStyledItemDelegate):
    """A table column of bars: the cell's icon (a state's glyph) first, the bar, then the
    cell's words (its percentage) in the row's text colour (the selection's, on a selected
    row)."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        self.initStyleOption(option, index)
        icon = QIcon(option.icon)  # a copy: the option's own is cleared below
        words = option.text
        option.text = ""
        option.icon = QIcon()
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        data = index.data(BAR_ROLE)
        fraction, tone = data if isinstance(data, tuple) else (0.0, "")
        rect = option.rect.adjusted(SPACE["xs"], 0, -SPACE["xs"], 0)
        if not icon.isNull():  # the state's glyph first: colour is never the only signal
            side = option.decorationSize.height()
            icon_top = rect.top() + (rect.height() - side) // 2
            icon.paint(painter, QRect(rect.left(), icon_top, side, side))
            rect.setLeft(rect.left() + side + SPACE["xs"])
        metrics = option.fontMetrics
        label_width = metrics.horizontalAdvance(LABEL_ROOM)
        bar_width = max(24, rect.width() - label_width - LABEL_GAP)
        top = rect.top() + (rect.height() - BAR_HEIGHT) / 2
        paint_bar(painter, QRectF(rect.left(), top, bar_width, BAR_HEIGHT), fraction, tone)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setPen(option.palette.color(role))
        label = QRect(rect.left() + bar_width + LABEL_GAP, rect.top(), label_width, rect.height())
        align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(label, int(align), words)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(BAR_CELL_WIDTH, hint.height())


BAR_CELL_WIDTH = 170
# The widest label the cell's text is given room for: a longer one is cut ("der 1%").
LABEL_ROOM = "8888%"
