"""What was spent against a limit, as a bar: filled in the tone of how close it is.

Under the soft limit (or 80 % of the hard one) the bar is the accent colour; past it, amber;
at the hard limit, red. The words beside it say the figures ("$1.20 of $5.00 this month"), so
the bar is never the only way to read them.
"""

from __future__ import annotations

from llmgw_desktop.ui.design import RADIUS, SPACE
from llmgw_desktop.ui.qt import (
    QApplication,
    QColor,
    QPainter,
    QPaintEvent,
    QPalette,
    QRectF,
    QSize,
    Qt,
    QWidget,
)
from llmgw_desktop.ui.theme import tone_colour

__all__ = ["SpendBar", "spend_tone"]

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
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            top = (self.height() - BAR_HEIGHT) / 2
            track = QRectF(0, top, self.width(), BAR_HEIGHT)
            palette = QApplication.palette()
            painter.setBrush(palette.color(QPalette.ColorRole.Mid))
            painter.drawRoundedRect(track, RADIUS / 2, RADIUS / 2)
            if self.fraction > 0:
                fill = QRectF(track)
                fill.setWidth(max(BAR_HEIGHT, track.width() * self.fraction))
                colour = (
                    QColor(tone_colour(self.tone))
                    if self.tone
                    else palette.color(QPalette.ColorRole.Highlight)
                )
                painter.setBrush(colour)
                painter.drawRoundedRect(fill, RADIUS / 2, RADIUS / 2)
        finally:
            painter.end()
