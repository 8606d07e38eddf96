"""The Playground's conversation as a chat reads: every question and answer top to bottom in
one view that fills the page, the newest at the bottom and followed as it streams (unless the
person scrolled up to read).

A question is a tinted bubble ("You" over its words); an answer is headed by who answered and
rendered as Markdown (`AnswerPane`). A turn's answers sit side by side when one was compared
with a second model. `turns` is the conversation as shown, (speaker, words), an answer added
once it has finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.text import caption
from llmgw_desktop.ui.qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPaintEvent,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import paint_card

if TYPE_CHECKING:
    from llmgw_desktop.ui.pages.playground_answer import AnswerPane

__all__ = ["AnswerRow", "ChatView", "Question"]

EMPTY_WORDS = (
    "Ask any model the gateway serves. The answer streams in here, with its tokens, cost and "
    "time to first token; every request is kept in the Flight recorder."
)
W = TypeVar("W", bound=QWidget)
FOLLOW_SLACK = 8  # px from the bottom that still counts as "reading the newest"


class Question(QFrame):
    """What was asked: the speaker in bold over the words, on a tinted ground."""

    def __init__(self, speaker: str, words: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playgroundQuestion")
        who = QLabel(speaker)
        font = who.font()
        font.setBold(True)
        who.setFont(font)
        self.words = QLabel(words)
        self.words.setTextFormat(Qt.TextFormat.PlainText)
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QVBoxLayout(self)
        column.setContentsMargins(SPACE["m"], SPACE["s"], SPACE["m"], SPACE["s"])
        column.setSpacing(SPACE["xs"])
        column.addWidget(who)
        column.addWidget(self.words)

    def paintEvent(self, event: QPaintEvent) -> None:
        # The look's surface with its border (painted, as the code blocks are: see theme.py).
        paint_card(self)


class AnswerRow(QWidget):
    """A turn's answers: the first, and a compared one beside it when there is one."""

    def __init__(
        self, first: AnswerPane, second: AnswerPane, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.first, self.second = first, second
        row = QHBoxLayout(self)
        row.setContentsMargins(SPACE["m"], 0, SPACE["m"], 0)
        row.setSpacing(SPACE["xl"])
        row.addWidget(first, 1, Qt.AlignmentFlag.AlignTop)
        row.addWidget(second, 1, Qt.AlignmentFlag.AlignTop)
        second.setVisible(False)


class ChatView(QScrollArea):
    """The conversation, filling its room; it keeps the newest text in view while the person
    reads at the bottom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playgroundTranscript")
        self.setAccessibleName("The conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.turns: list[tuple[str, str]] = []
        content = QWidget()
        content.setObjectName("playgroundTurns")
        self.column = QVBoxLayout(content)
        self.column.setContentsMargins(SPACE["s"], SPACE["m"], SPACE["s"], SPACE["m"])
        self.column.setSpacing(SPACE["l"])
        self.empty = caption(EMPTY_WORDS)
        self.empty.setObjectName("playgroundEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.column.addWidget(self.empty, 1)
        self.column.addStretch(1)
        self.setWidget(content)
        self._following = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(self._grew)

    def add_question(self, speaker: str, words: str) -> Question:
        """Show what `speaker` asked, at the bottom, and follow it."""
        self.turns.append((speaker, words))
        return self._add(Question(speaker, words))

    def add_answers(self, row: AnswerRow) -> AnswerRow:
        """Show a turn's answers (still to stream in) at the bottom, and follow them."""
        return self._add(row)

    def note_answer(self, speaker: str, words: str) -> None:
        """An answer finished: it joins the conversation as shown."""
        self.turns.append((speaker, words))

    def clear_turns(self) -> None:
        """Forget the conversation shown (a new chat, or a replay)."""
        self.turns.clear()
        while self.column.count() > 2:
            item = self.column.takeAt(1)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.empty.show()
        self._following = True

    def _add(self, widget: W) -> W:
        self.empty.hide()
        self.column.insertWidget(self.column.count() - 1, widget)
        self._following = True
        return widget

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._following = value >= bar.maximum() - FOLLOW_SLACK

    def _grew(self, _least: int, most: int) -> None:
        if self._following:
            self.verticalScrollBar().setValue(most)
