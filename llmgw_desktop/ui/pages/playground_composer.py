"""The Playground's message box, pinned under the conversation: as tall as what is typed (two
lines to eight, then it scrolls), Enter sends (Ctrl+Enter too), Shift+Enter starts a new line,
as in the chat apps people know."""

from __future__ import annotations

from llmgw_desktop.ui.qt import QKeyEvent, QPlainTextEdit, QResizeEvent, Qt, QWidget, Signal

__all__ = ["Composer"]

PLACEHOLDER = "Message the model… (Enter sends, Shift+Enter starts a new line)"
LEAST_LINES = 2
MOST_LINES = 8


class Composer(QPlainTextEdit):
    """Where the next message is written; `submitted` when Enter is pressed."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playgroundPrompt")
        self.setAccessibleName("Your message")
        self.setPlaceholderText(PLACEHOLDER)
        self.setTabChangesFocus(True)
        self.textChanged.connect(self.fit)
        self.fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def fit(self) -> None:
        """As tall as the text's lines at this width, between two and eight."""
        # A plain-text document's layout measures its height in lines, wrapped ones included.
        lines = round(self.document().documentLayout().documentSize().height())
        shown = max(LEAST_LINES, min(MOST_LINES, lines))
        margins = self.contentsMargins()
        frame = margins.top() + margins.bottom() + 2 * int(self.document().documentMargin()) + 2
        height = shown * self.fontMetrics().lineSpacing() + frame
        if self.height() != height or self.minimumHeight() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()  # the width wraps the lines anew
