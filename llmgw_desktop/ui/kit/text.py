"""Text in the window's three sizes: a page's title, a section's heading, a muted caption."""

from __future__ import annotations

from llmgw_desktop.ui.design import CAPTION, HEADING, TITLE, scaled_font
from llmgw_desktop.ui.qt import QFont, QLabel, QWidget
from llmgw_desktop.ui.theme import set_tone

__all__ = ["caption", "heading", "title"]


def _styled(label: QLabel, factor: float, weight: QFont.Weight | None, role: str) -> QLabel:
    label.setFont(scaled_font(label.font(), factor, weight=weight))
    label.setProperty("textRole", role)
    if role == "caption":
        set_tone(label, "muted")
    return label


def title(text: str, parent: QWidget | None = None) -> QLabel:
    """A page's title: the largest text on it."""
    return _styled(QLabel(text, parent), TITLE, QFont.Weight.DemiBold, "title")


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    """The title of a section or a detail pane."""
    return _styled(QLabel(text, parent), HEADING, QFont.Weight.DemiBold, "heading")


def caption(text: str = "", parent: QWidget | None = None, *, wrap: bool = True) -> QLabel:
    """Secondary text: an explanation, a hint, a unit; muted and a little smaller."""
    label = _styled(QLabel(text, parent), CAPTION, None, "caption")
    label.setWordWrap(wrap)
    return label
