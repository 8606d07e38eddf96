"""The Playground's transcript and its labels: what was asked and answered so far, a model
named the same way everywhere, text boxes as tall as their text.

The transcript is the conversation as sent: each turn a speaker ("You", or the provider and
model that answered) in bold over its words. It is hidden until there is something in it, and
grows with it up to `TRANSCRIPT_MAX_LINES` before it scrolls.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import PlaygroundReply
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QFont,
    QPlainTextEdit,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
    QWidget,
)

__all__ = ["FittedText", "Transcript", "fit_to_text", "served_as"]

TRANSCRIPT_MAX_LINES = 12
ANSWER_MIN_LINES = 3
ANSWER_MAX_LINES = 24


def served_as(reply: PlaygroundReply, names: ProviderNames) -> str:
    """`Anthropic · claude-sonnet-4-6`: who answered, as the recorder row has it (the model as
    asked when there is no row)."""
    row = reply.record or {}
    provider = str(row.get("provider") or "")
    model = str(row.get("model") or reply.model)
    if "/" in model and provider and model.split("/", 1)[0] == provider:
        model = model.split("/", 1)[1]
    if not provider:
        return model
    return f"{names.name(names.by_gateway_id.get(provider, provider))} · {model}"


def fit_to_text(
    view: QPlainTextEdit, least: int = ANSWER_MIN_LINES, most: int = ANSWER_MAX_LINES
) -> None:
    """`view` as tall as its text's lines at its width (between `least` and `most`)."""
    # A plain-text document's layout measures its height in lines, wrapped ones included.
    lines = round(view.document().documentLayout().documentSize().height())
    shown = max(least, min(most, lines))
    margins = view.contentsMargins()
    frame = margins.top() + margins.bottom() + 2 * int(view.document().documentMargin()) + 2
    height = shown * view.fontMetrics().lineSpacing() + frame
    if view.height() != height:
        view.setFixedHeight(height)


class FittedText(QPlainTextEdit):
    """Read-only text as tall as its lines (between `least` and `most`), refitted when its
    text or its width changes."""

    def __init__(
        self,
        least: int = ANSWER_MIN_LINES,
        most: int = ANSWER_MAX_LINES,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.least, self.most = least, most
        self.setReadOnly(True)
        self.textChanged.connect(self.fit)
        self.fit()

    def fit(self) -> None:
        fit_to_text(self, self.least, self.most)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()  # the width wraps the lines anew (the height it sets does not come back)


class Transcript(FittedText):
    """The conversation so far, read-only; hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(2, TRANSCRIPT_MAX_LINES, parent)
        self.setObjectName("playgroundTranscript")
        self.setAccessibleName("The conversation so far")
        self.turns: list[tuple[str, str]] = []
        self.hide()

    def add_turn(self, speaker: str, words: str) -> None:
        """Add what `speaker` said (or asked)."""
        self.turns.append((speaker, words))
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if len(self.turns) > 1:
            cursor.insertBlock()
        bold = QTextCharFormat()
        bold.setFontWeight(QFont.Weight.Bold)
        cursor.insertText(speaker, bold)
        cursor.insertBlock()
        cursor.insertText(words, QTextCharFormat())
        self.show()
        self.fit()
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def clear_turns(self) -> None:
        self.turns.clear()
        self.clear()
        self.hide()
