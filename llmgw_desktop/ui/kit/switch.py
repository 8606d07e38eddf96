"""An on/off setting drawn as a switch: a track with its knob at the end it is at.

A checkbox says "include this"; a switch says "this is on now", which is what the settings
that take effect at once are (start at login, quiet hours). It stays a `QCheckBox`
underneath, so the keyboard (Space), screen readers (a checkbox, checked or not) and every
`toggled` connection work as before; only its drawing differs. Off, the track is the field
colour inside the look's control edge (3:1 or more on every background, `ControlStyle`); on,
it is filled in the accent colour with a white knob.
"""

from __future__ import annotations

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.qt import (
    QCheckBox,
    QColor,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPoint,
    QRectF,
    QSize,
    Qt,
    QWidget,
)
from llmgw_desktop.ui.theme import current_look

__all__ = ["Switch"]

TRACK_W = 34
TRACK_H = 18
KNOB_GAP = 3


class Switch(QCheckBox):
    """A checkbox drawn as a switch, its words to the right of it."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setProperty("switch", True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        words = metrics.horizontalAdvance(self.text()) if self.text() else 0
        gap = SPACE["s"] if self.text() else 0
        height = max(TRACK_H, metrics.height()) + 4
        return QSize(TRACK_W + gap + words + 4, height)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def hitButton(self, pos: QPoint) -> bool:
        return self.rect().contains(pos)  # the words toggle it too, as a checkbox's do

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            palette = self.palette()
            enabled = self.isEnabled()
            on = self.isChecked()
            top = (self.height() - TRACK_H) / 2
            track = QRectF(1.5, top + 0.5, TRACK_W - 2, TRACK_H - 1)
            edge = QColor(current_look().control_border)
            accent = palette.color(QPalette.ColorRole.Highlight)
            if not enabled:
                edge.setAlphaF(0.55)
                accent = edge
            if self.hasFocus():
                painter.setPen(
                    QPen(accent if on else palette.color(QPalette.ColorRole.Highlight), 2)
                )
            else:
                painter.setPen(QPen(accent if on else edge, 1))
            painter.setBrush(accent if on else palette.color(QPalette.ColorRole.Base))
            radius = track.height() / 2
            painter.drawRoundedRect(track, radius, radius)
            side = track.height() - 2 * KNOB_GAP
            x = track.right() - KNOB_GAP - side if on else track.left() + KNOB_GAP
            painter.setPen(Qt.PenStyle.NoPen)
            knob = palette.color(QPalette.ColorRole.HighlightedText) if on else edge
            painter.setBrush(knob)
            painter.drawEllipse(QRectF(x, track.top() + KNOB_GAP, side, side))
            if self.text():
                role = QPalette.ColorRole.WindowText
                group = QPalette.ColorGroup.Active if enabled else QPalette.ColorGroup.Disabled
                painter.setPen(palette.color(group, role))
                words = self.rect().adjusted(TRACK_W + SPACE["s"], 0, 0, 0)
                painter.drawText(
                    words,
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    self.text(),
                )
        finally:
            painter.end()
