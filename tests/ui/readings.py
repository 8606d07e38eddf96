"""What the tests read off the desk that the app itself never asks: a colour pair's WCAG 2
contrast, the style the app draws with, and the name a screen reader announces."""

from __future__ import annotations

from llmgw_desktop.ui.qt import QAccessible, QApplication, QColor, QWidget


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21; text wants 4.5 or more)."""

    def luminance(colour: str) -> float:
        c = QColor(colour)
        channels = []
        for value in (c.redF(), c.greenF(), c.blueF()):
            linear = value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
            channels.append(linear)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def base_style(app: QApplication) -> str:
    """The name of the style the app draws with (under a style sheet, when one is set,
    `app.style()` is Qt's sheet style, whose name is empty)."""
    name = app.style().name()
    return name or str(app.property("baseStyle") or "")


def accessible_name(widget: QWidget) -> str:
    """The name a screen reader announces for `widget` (Qt's own reading of it)."""
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name) if interface is not None else ""
