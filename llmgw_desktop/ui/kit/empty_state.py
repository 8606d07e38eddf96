"""What a list shows when it has nothing yet: what would be here, and what to do to get it.

`EmptyState` is a glyph, a line saying what is missing, a line on what to do, and at most
one button that does it. `EmptyOr` swaps between a list and its empty state, so a page never
shows an empty table with nothing but its headers.
"""

from __future__ import annotations

from llmgw_desktop.ui.badge import glyph_html
from llmgw_desktop.ui.design import SPACE, scaled_font
from llmgw_desktop.ui.kit.text import caption, heading
from llmgw_desktop.ui.qt import (
    QLabel,
    QPushButton,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["EmptyOr", "EmptyState"]

GLYPH_SCALE = 3.0
NEXT_STEP_WIDTH = 440  # wraps to a few short lines, centred


class EmptyState(QWidget):
    """A glyph, what is missing, what to do, and an optional button that does it."""

    def __init__(
        self,
        icon: str,
        what: str,
        next_step: str,
        button: QPushButton | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.glyph = QLabel(glyph_html(icon).removesuffix("&nbsp;"))
        self.glyph.setTextFormat(Qt.TextFormat.RichText)
        self.glyph.setFont(scaled_font(self.glyph.font(), GLYPH_SCALE))
        set_tone(self.glyph, "muted")
        self.glyph.setAccessibleName("")
        self.what = heading(what)
        self.next_step = caption(next_step)
        self.next_step.setFixedWidth(NEXT_STEP_WIDTH)
        self._fit_next_step()
        self.button = button
        column = QVBoxLayout(self)
        column.setSpacing(SPACE["s"])
        column.addStretch(1)
        for widget in (self.glyph, self.what, self.next_step):
            widget.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        if button is not None:
            column.addSpacing(SPACE["s"])
            column.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(2)

    def say(self, what: str, next_step: str) -> None:
        """Change the words (a filter that matches nothing says so, not "none yet")."""
        self.what.setText(what)
        self.next_step.setText(next_step)
        self._fit_next_step()

    def _fit_next_step(self) -> None:
        # Centred in its column, the wrapped text gets its own height, not a one-line guess.
        self.next_step.setFixedHeight(self.next_step.heightForWidth(NEXT_STEP_WIDTH))


class EmptyOr(QStackedWidget):
    """`content` when it has something to show, else `empty`."""

    def __init__(self, content: QWidget, empty: EmptyState, parent: QWidget | None = None):
        super().__init__(parent)
        self.content, self.empty = content, empty
        self.addWidget(content)
        self.addWidget(empty)

    def show_empty(self, empty: bool) -> None:
        """Show the empty state (True) or the content (False)."""
        wanted = self.empty if empty else self.content
        if self.currentWidget() is not wanted:
            self.setCurrentWidget(wanted)
