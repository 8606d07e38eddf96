"""A page's head: its title, one line on what it is for, its main actions on the right, and
under them the place's sub-tabs when the page is one of several (Keys | Clients).

Every page starts the same way, so a person finds the title, the explanation, the buttons and
the sub-tabs in the same places on each, and the title never moves between pages (a tab strip
above it pushed it down 28 px on the pages that had tabs). The explanation wraps; the actions
keep their size.
"""

from __future__ import annotations

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.glyphs import NAMES, ON_ACCENT, glyph
from llmgw_desktop.ui.kit.text import caption, title
from llmgw_desktop.ui.qt import QHBoxLayout, QPushButton, QVBoxLayout, QWidget
from llmgw_desktop.ui.theme import themed

__all__ = ["PageHead", "action_button"]


def action_button(
    text: str, name: str, *, icon: str = "", primary: bool = False, tip: str = ""
) -> QPushButton:
    """A page's button: named (for tests and screen readers), with its glyph; `primary` is
    the one thing the page is most often opened to do (drawn in the accent colour)."""
    button = QPushButton(text)
    button.setObjectName(name)
    if icon and icon in NAMES:
        button.setIcon(glyph(icon, ON_ACCENT if primary else ""))
    if primary:
        button.setProperty("primary", True)
        themed(button, "primary")
    if tip:
        button.setToolTip(tip)
    return button


class PageHead(QWidget):
    """Title and explanation on the left, the page's actions on the right."""

    def __init__(self, heading: str, blurb: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title(heading)
        self.title.setObjectName("pageTitle")
        self.blurb = caption(blurb)
        self.blurb.setObjectName("pageBlurb")
        words = QVBoxLayout()
        words.setContentsMargins(0, 0, 0, 0)
        words.setSpacing(2)
        words.addWidget(self.title)
        words.addWidget(self.blurb)
        self.action_row = QHBoxLayout()
        self.action_row.setSpacing(SPACE["s"])
        # The words and actions in a widget of their own: the pages of one place make theirs
        # one height, so the sub-tabs under them stay put from tab to tab (`PageTabs`).
        self.top = QWidget(self)
        row = QHBoxLayout(self.top)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(SPACE["l"])
        row.addLayout(words, 1)
        row.addLayout(self.action_row)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, SPACE["xs"])
        self.column.setSpacing(SPACE["s"])
        self.column.addWidget(self.top)
        # Hidden when there is nothing to say (after it has its parent: a parentless widget
        # made visible would open as a window of its own).
        self.blurb.setVisible(bool(blurb))

    def top_height_at(self, width: int) -> int:
        """How tall the title, explanation and actions are at `width` (the explanation wraps)."""
        if self.top.hasHeightForWidth():
            return self.top.heightForWidth(width)
        return self.top.sizeHint().height()

    def set_sub_tabs(self, tabs: QWidget) -> None:
        """Show the place's sub-tabs under the title and actions."""
        self.column.addWidget(tabs)

    def add_action(self, button: QPushButton) -> QPushButton:
        """Put `button` at the right end of the head."""
        self.action_row.addWidget(button)
        return button
