"""The app's icons, loaded from the packaged resources, and the tray's state variants."""

from __future__ import annotations

from importlib import resources

from llmgw_desktop.ui.qt import QColor, QIcon, QPainter, QPixmap, Qt

__all__ = ["TRAY_STATES", "app_icon", "paused_icon", "tray_state_icon"]

# The tray's states, in the order they win when several hold at once.
TRAY_STATES = ("error", "warning", "paused", "busy", "idle")
# Tray areas ask for 16 to 64 px (HiDPI doubles); a pixmap per size keeps the badge crisp.
TRAY_SIZES = (16, 22, 24, 32, 48, 64)
BADGE_COLOURS = {"busy": "#22c55e", "warning": "#f59e0b", "error": "#ef4444"}


def _icon(name: str) -> QIcon:
    path = resources.files("llmgw_desktop.resources").joinpath("icons", name)
    return QIcon(str(path))


def app_icon() -> QIcon:
    return _icon("llmgw.svg")


def paused_icon() -> QIcon:
    return _icon("llmgw-paused.svg")


def tray_state_icon(state: str) -> QIcon:
    """The tray icon for `state` (one of `TRAY_STATES`): idle is the app icon, paused the grey
    one, busy, warning and error add a green, amber or red badge in the corner.

    Raises:
        ValueError: `state` is not a tray state.
    """
    if state not in TRAY_STATES:
        raise ValueError(f"unknown tray state {state!r}; states: {TRAY_STATES}")
    if state == "idle":
        return app_icon()
    if state == "paused":
        return paused_icon()
    base = app_icon()
    icon = QIcon()
    for size in TRAY_SIZES:
        icon.addPixmap(_with_badge(base.pixmap(size, size), state))
    return icon


def _with_badge(pixmap: QPixmap, state: str) -> QPixmap:
    """A dot in the bottom-right corner, ringed in white so it reads on any panel colour."""
    size = min(pixmap.width(), pixmap.height())
    diameter = max(7, round(size * 0.5))
    ring = max(1, round(size / 16))
    x = pixmap.width() - diameter
    y = pixmap.height() - diameter
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#ffffff"))
        painter.drawEllipse(x, y, diameter, diameter)
        painter.setBrush(QColor(BADGE_COLOURS[state]))
        painter.drawEllipse(x + ring, y + ring, diameter - 2 * ring, diameter - 2 * ring)
        if state in ("error", "warning") and size >= 22:
            # An exclamation mark, for people who cannot tell red or amber from green.
            painter.setBrush(QColor("#ffffff"))
            bar = max(2, diameter // 7)
            cx = x + diameter // 2 - bar // 2
            painter.drawRect(cx, y + diameter // 4, bar, diameter // 3)
            painter.drawRect(cx, y + diameter * 2 // 3, bar, bar)
    finally:
        painter.end()
    return pixmap
