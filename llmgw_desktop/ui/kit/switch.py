"""An on/off switch: a track with a knob, the words beside it, for what turns a thing on or off.

A check box reads as "choose this"; a switch reads as "this is on". `ToggleSwitch` is a
checkable `QAbstractButton`, so it behaves as any button does (Space toggles it, `toggled`
tells, a screen reader hears its name and its checked state), painted from the look in use:
the accent colour when on; when off, a track and a knob in the look's muted text colour, which
stands at 3:1 or more against every background it is drawn on in both looks (WCAG 2's rule for
a control's parts).
"""

from __future__ import annotations

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.qt import (
    QAbstractButton,
    QColor,
    QPainter,
    QPaintEvent,
    QPalette,
    QPoint,
    QRectF,
    QSize,
    Qt,
    QWidget,
)
from llmgw_desktop.ui.theme import current_look

__all__ = ["TRACK_HEIGHT", "TRACK_WIDTH", "ToggleSwitch"]

TRACK_WIDTH, TRACK_HEIGHT = 34, 18
KNOB_MARGIN = 3


class ToggleSwitch(QAbstractButton):
    """A switch, with `text` beside it (none in a table's cell)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setText(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:
        words = self.fontMetrics().horizontalAdvance(self.text()) if self.text() else 0
        gap = SPACE["s"] if words else 0
        height = max(TRACK_HEIGHT + 4, self.fontMetrics().height() + 4)
        return QSize(TRACK_WIDTH + 4 + gap + words, height)

    def minimumSizeHint(self) -> QSize:
        # The track alone: in a narrow form the words are cut ("…", whole in the tooltip)
        # rather than the switch dropping to a line under its label.
        return QSize(TRACK_WIDTH + 4, self.sizeHint().height())

    def hitButton(self, pos: QPoint) -> bool:
        return self.rect().contains(pos)  # the words toggle it too, as a check box's do

    def paintEvent(self, _event: QPaintEvent) -> None:
        look = current_look()
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            top = (self.height() - TRACK_HEIGHT) / 2
            track = QRectF(2, top, TRACK_WIDTH, TRACK_HEIGHT)
            on = self.isChecked()
            enabled = self.isEnabled()
            accent = QColor(look.highlight)
            off = QColor(look.muted)
            if not enabled:
                accent = off = QColor(look.disabled_text)
            radius = TRACK_HEIGHT / 2
            if on:
                # A ring of the list's own background: on a selected row (the accent too)
                # the track still shows.
                painter.setPen(QColor(look.base))
                painter.setBrush(accent)
            else:
                painter.setPen(off)
                painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(track.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
            knob = TRACK_HEIGHT - 2 * KNOB_MARGIN
            left = track.right() - KNOB_MARGIN - knob if on else track.left() + KNOB_MARGIN
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(look.highlighted_text) if on else off)
            painter.drawEllipse(QRectF(left, top + KNOB_MARGIN, knob, knob))
            if self.hasFocus():
                painter.setPen(QColor(look.highlight))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                ring = track.adjusted(-1.5, -1.5, 1.5, 1.5)
                painter.drawRoundedRect(ring, radius + 2, radius + 2)
            if self.text():
                role = QPalette.ColorRole.WindowText
                group = QPalette.ColorGroup.Active if enabled else QPalette.ColorGroup.Disabled
                painter.setPen(self.palette().color(group, role))
                words = self.rect().adjusted(int(track.right()) + SPACE["s"], 0, 0, 0)
                text = self.fontMetrics().elidedText(
                    self.text(), Qt.TextElideMode.ElideRight, words.width()
                )
                painter.drawText(
                    words, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text
                )
        finally:
            painter.end()
