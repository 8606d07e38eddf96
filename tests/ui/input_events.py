"""Input a person gives the window, made as Qt delivers it, for the tests that need what
pytest-qt does not make (a mouse wheel)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["wheel"]


def wheel(widget: QWidget, notches: int, where: QPoint | None = None) -> bool:
    """Turn the mouse wheel over `widget` at `where` (its middle by default) by `notches` (down
    is negative); whether the widget took the turn. A test's event is not spontaneous, so Qt
    gives it to `widget` alone, never to a parent after the widget left it."""
    at = QPointF(widget.rect().center() if where is None else where)
    event = QWheelEvent(
        at,
        QPointF(widget.mapToGlobal(at.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)
    return event.isAccepted()
