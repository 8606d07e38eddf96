"""Fusion, with the edges of the controls a person types into or ticks drawn so they can be seen.

Fusion draws a field's frame and a checkbox's box in its window colour made darker: on the
dark look that is #161719 on #1f2124, about 1.1:1, so an empty field or an unchecked box is
invisible (WCAG 2 wants 3:1 for the edge of a control, 1.4.11). `ControlStyle` is Fusion with
those edges drawn in the look's `control_border`: line edits, text editors, spin and time
boxes, combo boxes, and checkboxes (in forms and in table cells). A checked box is filled in
the accent colour with a white tick, so on and off differ in more than a small mark. A
checkbox with the `switch` property is drawn as a toggle switch instead (`kit/switch.py`).

The style is also where a number box, a time box or a drop-down takes the mouse wheel only
with the focus (`polish`): Qt's own turn their value under a pointer the wheel passes over, so
scrolling a long form (Settings) changed the values it scrolled past and saved them, a secret
guard's action to `off` among them. Unfocused, the wheel event is left to the page, which
scrolls; a click or Tab gives the control the focus (and the wheel) as before. One place for
every such control the window and its dialogs make, wherever they are made.

A proxy style rather than a style sheet: a sheet makes Qt polish every widget through its
style sheet engine (about 1 s and 11 MB more to build the window, docs/PERFORMANCE.md); here
only the few primitives below pass through Python.
"""

from __future__ import annotations

from llmgw_desktop.ui.qt import (
    QAbstractSpinBox,
    QColor,
    QComboBox,
    QEvent,
    QObject,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPlainTextEdit,
    QPointF,
    QProxyStyle,
    QRectF,
    QStyle,
    QStyleOption,
    QStyleOptionComplex,
    Qt,
    QTextEdit,
    QWidget,
)

__all__ = ["WHEEL_CONTROLS", "ControlStyle", "WheelNeedsFocus"]

PE = QStyle.PrimitiveElement
CC = QStyle.ComplexControl
FRAME_RADIUS = 3.0
BOX_RADIUS = 3.0
# What a control's frame is drawn in before the look sets its own (apply_theme does at once).
DEFAULT_BORDER = "#7d838d"


class WheelNeedsFocus(QObject):
    """An event filter: a wheel over a control without the focus is not the control's (it is
    ignored, and Qt hands a real wheel's event on to the control's parent: the page)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        wheel = event.type() == QEvent.Type.Wheel
        if wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()
            return True
        return False


# The controls whose value a wheel turns.
WHEEL_CONTROLS = (QAbstractSpinBox, QComboBox)


class ControlStyle(QProxyStyle):
    """Fusion with visible field frames and checkboxes; `border` is the look's edge colour."""

    def __init__(self, base: QStyle) -> None:
        super().__init__(base)
        self.border = QColor(DEFAULT_BORDER)
        self.wheel_needs_focus = WheelNeedsFocus(self)

    def polish(self, target: object) -> object:  # type: ignore[override]
        """Qt's polish of a widget (or a palette, or the application): a control a wheel would
        turn takes the wheel only with the focus, and no focus from the wheel."""
        if isinstance(target, WHEEL_CONTROLS):
            target.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            target.installEventFilter(self.wheel_needs_focus)
        return super().polish(target)  # type: ignore[call-overload]

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if element in (PE.PE_IndicatorCheckBox, PE.PE_IndicatorItemViewItemCheck):
            self._check_box(option, painter)
            return
        if element == PE.PE_FrameLineEdit:
            self._frame(option, painter)
            return
        if element == PE.PE_Frame and _is_editor(widget):
            self._frame(option, painter)
            return
        super().drawPrimitive(element, option, painter, widget)

    def drawComplexControl(
        self,
        control: QStyle.ComplexControl,
        option: QStyleOptionComplex,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawComplexControl(control, option, painter, widget)
        if control in (CC.CC_SpinBox, CC.CC_ComboBox):
            frame = getattr(option, "frame", True)
            if frame:
                self._frame(option, painter)

    # -- drawing --------------------------------------------------------------------------

    def _edge(self, option: QStyleOption) -> QColor:
        """The frame's colour: the accent with the focus, else the look's edge, fainter when
        the control is off."""
        palette = option.palette
        if option.state & QStyle.StateFlag.State_HasFocus:
            return palette.color(QPalette.ColorRole.Highlight)
        edge = QColor(self.border)
        if not option.state & QStyle.StateFlag.State_Enabled:
            edge.setAlphaF(0.55)
        return edge

    def _frame(self, option: QStyleOption, painter: QPainter) -> None:
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = 1.5 if focused else 1.0
        painter.setPen(QPen(self._edge(option), width))
        painter.setBrush(QColor(0, 0, 0, 0))
        inset = width / 2
        rect = QRectF(option.rect).adjusted(inset, inset, -inset, -inset)
        painter.drawRoundedRect(rect, FRAME_RADIUS, FRAME_RADIUS)
        painter.restore()

    def _check_box(self, option: QStyleOption, painter: QPainter) -> None:
        state = option.state
        palette = option.palette
        enabled = bool(state & QStyle.StateFlag.State_Enabled)
        # Whole pixels, the pen on their centres: a crisp 1 px edge, not two half-tones.
        side = min(option.rect.width(), option.rect.height()) - 1
        left = option.rect.x() + (option.rect.width() - side) // 2
        top = option.rect.y() + (option.rect.height() - side) // 2
        rect = QRectF(left + 0.5, top + 0.5, side - 1, side - 1)
        on = bool(state & QStyle.StateFlag.State_On)
        partly = bool(state & QStyle.StateFlag.State_NoChange)
        accent = palette.color(QPalette.ColorRole.Highlight)
        if not enabled:
            accent = QColor(self.border)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if on or partly:
            # On a selected row (drawn in the accent) the box keeps a light rim to stand out.
            selected = bool(state & QStyle.StateFlag.State_Selected)
            rim = palette.color(QPalette.ColorRole.HighlightedText) if selected else accent
            painter.setPen(QPen(rim, 1.0))
            painter.setBrush(accent)
            painter.drawRoundedRect(rect, BOX_RADIUS, BOX_RADIUS)
            mark = QPen(palette.color(QPalette.ColorRole.HighlightedText), max(1.6, side / 8))
            mark.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(mark)
            if on:
                tick = QPainterPath(QPointF(rect.left() + side * 0.24, rect.center().y()))
                tick.lineTo(rect.left() + side * 0.43, rect.bottom() - side * 0.27)
                tick.lineTo(rect.right() - side * 0.22, rect.top() + side * 0.28)
                painter.setBrush(QColor(0, 0, 0, 0))
                painter.drawPath(tick)
            else:
                y = rect.center().y()
                start, end = rect.left() + side * 0.25, rect.right() - side * 0.25
                painter.drawLine(QPointF(start, y), QPointF(end, y))
        else:
            base = palette.color(QPalette.ColorRole.Base)
            painter.setPen(QPen(self._edge(option) if enabled else _faint(self.border), 1.0))
            painter.setBrush(base)
            painter.drawRoundedRect(rect, BOX_RADIUS, BOX_RADIUS)
        painter.restore()


def _faint(colour: QColor) -> QColor:
    faint = QColor(colour)
    faint.setAlphaF(0.55)
    return faint


def _is_editor(widget: QWidget | None) -> bool:
    """A text editor a person types into (a read-only one is a text, framed as the lists are)."""
    return isinstance(widget, QPlainTextEdit | QTextEdit) and not widget.isReadOnly()
