"""An on/off setting drawn as a switch: a track with its knob at the end it is at.

A checkbox says "include this"; a switch says "this is on now", which is what the things that
take effect at once are (a provider's switch, pause, start at login, quiet hours). It stays a
`QCheckBox` underneath, so the keyboard (Space), screen readers (a checkbox, checked or not)
and every `toggled` connection work as before; only its drawing differs. Off, the track is the
field colour inside the look's control edge (3:1 or more on every background, `ControlStyle`);
on, it is filled in the accent colour with a white knob, ringed in the list's own background
so it still shows on a selected (accent) row. The words beside it are cut with "…" in a narrow
form rather than the switch dropping under its label.
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

__all__ = ["TRACK_HEIGHT", "TRACK_WIDTH", "Switch"]

TRACK_WIDTH, TRACK_HEIGHT = 34, 18
KNOB_MARGIN = 3


class Switch(QCheckBox):
    """A checkbox drawn as a switch, its words (none in a table's cell) to the right of it."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setProperty("switch", True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        words = metrics.horizontalAdvance(self.text()) if self.text() else 0
        gap = SPACE["s"] if self.text() else 0
        height = max(TRACK_HEIGHT, metrics.height()) + 4
        return QSize(TRACK_WIDTH + 4 + gap + words, height)

    def minimumSizeHint(self) -> QSize:
        # The track alone: in a narrow form the words are cut ("…", whole in the tooltip).
        return QSize(TRACK_WIDTH + 4, self.sizeHint().height())

    def hitButton(self, pos: QPoint) -> bool:
        return self.rect().contains(pos)  # the words toggle it too, as a checkbox's do

    def paintEvent(self, _event: QPaintEvent) -> None:
        look = current_look()
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            palette = self.palette()
            enabled, on = self.isEnabled(), self.isChecked()
            top = (self.height() - TRACK_HEIGHT) / 2
            track = QRectF(1.5, top + 0.5, TRACK_WIDTH - 1, TRACK_HEIGHT - 1)
            edge = QColor(look.control_border)
            accent = palette.color(QPalette.ColorRole.Highlight)
            if not enabled:
                edge.setAlphaF(0.55)
                accent = edge
            radius = track.height() / 2
            if on:
                painter.setPen(QPen(QColor(look.base), 1))
                painter.setBrush(accent)
            else:
                painter.setPen(QPen(edge, 1))
                painter.setBrush(palette.color(QPalette.ColorRole.Base))
            painter.drawRoundedRect(track, radius, radius)
            side = track.height() - 2 * KNOB_MARGIN
            x = track.right() - KNOB_MARGIN - side if on else track.left() + KNOB_MARGIN
            painter.setPen(Qt.PenStyle.NoPen)
            knob = palette.color(QPalette.ColorRole.HighlightedText) if on else edge
            painter.setBrush(knob)
            painter.drawEllipse(QRectF(x, track.top() + KNOB_MARGIN, side, side))
            if self.hasFocus():
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 1.5))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                ring = track.adjusted(-1.5, -1.5, 1.5, 1.5)
                painter.drawRoundedRect(ring, radius + 2, radius + 2)
            if self.text():
                role = QPalette.ColorRole.WindowText
                group = QPalette.ColorGroup.Active if enabled else QPalette.ColorGroup.Disabled
                painter.setPen(palette.color(group, role))
                words = self.rect().adjusted(TRACK_WIDTH + SPACE["s"], 0, 0, 0)
                text = self.fontMetrics().elidedText(
                    self.text(), Qt.TextElideMode.ElideRight, words.width()
                )
                painter.drawText(
                    words, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text
                )
        finally:
            painter.end()
