"""The one dialog the desk asks yes-or-no questions with: an approval of a risky call, an
OAuth client's consent.

Both look and behave the same, so a person's hands learn one thing:
- the buttons are always [Deny] [Approve], Deny on the left, in the same place in both;
- Deny is the default and the escape: Return, Enter and Escape deny wherever the focus is,
  Deny holds the focus when the dialog opens, and closing the dialog any other way denies
  too; only a click on Approve, or Space with the focus on it, approves;
- a countdown line says when no answer becomes a denial;
- text is wrapped only at spaces, never inside a word: `git push --force`, a path or a URL
  reads whole (Qt's own wrapping breaks after hyphens, "--" / "force"). A literal (the prompt)
  is in a monospaced pane exactly as sent, scrollable, its long lines wrapped at spaces.

Non-modal (`open()`, never `exec()`): the event loop and every other call keep running.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable

from llmgw_desktop.ui.qt import (
    QDialog,
    QFontDatabase,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QObject,
    QPlainTextEdit,
    QPushButton,
    QShowEvent,
    QStyle,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)

__all__ = ["BUTTON_ORDER", "DecisionDialog", "QuestionDesk", "countdown_text", "wrap_at_spaces"]

# Left to right, in every question the desk asks.
BUTTON_ORDER = ("Deny", "Approve")
# The countdown is redrawn this often; the text changes once a second, the first tick is soon.
COUNTDOWN_TICK_MS = 250
MESSAGE_COLUMNS = 78
LITERAL_COLUMNS = 90
LITERAL_LINES = 12


def wrap_at_spaces(text: str, width: int) -> str:
    """`text` with its long lines wrapped at spaces only: a word, a flag like `--force`, a
    path or a URL is never split (a word longer than `width` keeps its own line)."""
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines += textwrap.wrap(
            line,
            width,
            break_on_hyphens=False,
            break_long_words=False,
            subsequent_indent=indent,
            drop_whitespace=True,
        ) or [line]
    return "\n".join(lines)


def countdown_text(seconds_left: float) -> str:
    """The line that counts down to the automatic denial."""
    left = max(0, math.ceil(seconds_left))
    return f"No answer within {left} s denies it."


class DecisionDialog(QDialog):
    """A question with Deny and Approve; `approved()` says what the answer was."""

    def __init__(
        self,
        title: str,
        message: str,
        *,
        literal: str = "",
        whole_literal: str = "",
        deadline: float | None = None,
        clock: Callable[[], float],
        icon: QStyle.StandardPixmap = QStyle.StandardPixmap.SP_MessageBoxWarning,
        parent: QWidget | None = None,
    ) -> None:
        """`literal`: shown verbatim in a monospaced pane (a prompt); `whole_literal`: the
        whole of it when `literal` is an excerpt (a toggle shows it); `deadline`: when, by
        `clock`, no answer denies (the countdown)."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self._message = message
        self._literal = literal
        self._whole = whole_literal
        self._deadline = deadline
        self._clock = clock
        self._clicked: QPushButton | None = None

        picture = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        picture.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        picture.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.message_label = QLabel(wrap_at_spaces(message, MESSAGE_COLUMNS))
        self.message_label.setObjectName("decisionMessage")
        self.message_label.setWordWrap(False)  # wrapped above, at spaces only
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        top = QHBoxLayout()
        top.addWidget(picture)
        top.addWidget(self.message_label, 1)
        column = QVBoxLayout(self)
        column.addLayout(top)

        self.literal_view: QPlainTextEdit | None = None
        self.whole_toggle: QPushButton | None = None
        if literal:
            view = QPlainTextEdit()
            view.setObjectName("decisionLiteral")
            view.setReadOnly(True)
            view.setTabChangesFocus(True)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            view.setPlainText(wrap_at_spaces(literal, LITERAL_COLUMNS))
            metrics = view.fontMetrics()
            lines = min(LITERAL_LINES, view.toPlainText().count("\n") + 1)
            view.setMinimumHeight(metrics.lineSpacing() * (lines + 1) + 8)
            view.setMinimumWidth(min(metrics.horizontalAdvance("m") * (LITERAL_COLUMNS + 2), 760))
            column.addWidget(view, 1)
            self.literal_view = view
            if whole_literal:
                toggle = QPushButton("Show the whole prompt")
                toggle.setObjectName("decisionWhole")
                toggle.setCheckable(True)
                toggle.setAutoDefault(False)
                toggle.toggled.connect(self._show_whole)
                column.addWidget(toggle, 0, Qt.AlignmentFlag.AlignLeft)
                self.whole_toggle = toggle

        self.countdown_label = QLabel()
        self.countdown_label.setObjectName("decisionCountdown")
        column.addWidget(self.countdown_label)

        self.deny_button = QPushButton("Deny")
        self.deny_button.setObjectName("deny")
        self.approve_button = QPushButton("Approve")
        self.approve_button.setObjectName("approve")
        # A reflexive Return or Escape must never grant anything.
        self.approve_button.setAutoDefault(False)
        self.deny_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        by_name = {"Deny": self.deny_button, "Approve": self.approve_button}
        for name in BUTTON_ORDER:
            buttons.addWidget(by_name[name])
        column.addLayout(buttons)
        self.deny_button.clicked.connect(lambda: self._answer(self.deny_button))
        self.approve_button.clicked.connect(lambda: self._answer(self.approve_button))
        self.setFocusProxy(self.deny_button)

        self._ticker = QTimer(self)
        self._ticker.setObjectName("countdown")
        self._ticker.setInterval(COUNTDOWN_TICK_MS)
        self._ticker.timeout.connect(self._tick)
        if deadline is not None:
            self._tick()
            self._ticker.start()
        else:
            self.countdown_label.hide()
        self.finished.connect(lambda _result: self._ticker.stop())

    # -- what callers and tests read, in QMessageBox's words -----------------------------------

    def text(self) -> str:
        """Everything the dialog says, the prompt (as shown) included."""
        shown = self._literal if self.literal_view is None else self.literal_view.toPlainText()
        return self._message + (f"\n\n{shown}" if shown else "")

    def informativeText(self) -> str:
        return self.countdown_label.text()

    def detailedText(self) -> str:
        return self._whole

    def buttons(self) -> list[QPushButton]:
        """The answer buttons, left to right."""
        by_name = {"Deny": self.deny_button, "Approve": self.approve_button}
        return [by_name[name] for name in BUTTON_ORDER]

    def defaultButton(self) -> QPushButton:
        return self.deny_button

    def escapeButton(self) -> QPushButton:
        return self.deny_button

    def clickedButton(self) -> QPushButton | None:
        return self._clicked

    def approved(self) -> bool:
        return self._clicked is self.approve_button

    # -- behaviour ----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.deny_button.setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Return and Enter deny wherever the focus is, Approve included: approving takes a
        # click, or Space on Approve.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._answer(self.deny_button)
            event.accept()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        """Escape, the window's close button, or a close from outside: a denial."""
        if self._clicked is None:
            self._clicked = self.deny_button
        super().reject()

    def _answer(self, button: QPushButton) -> None:
        if self._clicked is not None:  # answered once; a second answer changes nothing
            return
        self._clicked = button
        if button is self.approve_button:
            self.accept()
        else:
            super().reject()

    def _tick(self) -> None:
        if self._deadline is not None:
            self.countdown_label.setText(countdown_text(self._deadline - self._clock()))

    def _show_whole(self, whole: bool) -> None:
        if self.literal_view is None or self.whole_toggle is None:
            return
        text = self._whole if whole else self._literal
        self.literal_view.setPlainText(wrap_at_spaces(text, LITERAL_COLUMNS))
        self.whole_toggle.setText("Show the excerpt" if whole else "Show the whole prompt")


class QuestionDesk(QObject):
    """The questions of one kind open at the desk now (approvals, consents), one dialog each;
    `changed` fires when one opens or closes, so the window's header can count them;
    `answered(level, words)` says how one was answered (the notification history keeps it)."""

    changed = Signal()
    answered = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.open_dialogs: dict[str, DecisionDialog] = {}

    def waiting(self) -> int:
        """How many questions wait for an answer."""
        return len(self.open_dialogs)

    def bring_forward(self) -> bool:
        """Raise the oldest open question's dialog; False when none is open."""
        for box in self.open_dialogs.values():
            box.show()
            box.raise_()
            box.activateWindow()
            return True
        return False

    def _track(self, question_id: str, box: DecisionDialog) -> None:
        self.open_dialogs[question_id] = box
        self.changed.emit()

    def _forget(self, question_id: str) -> DecisionDialog | None:
        box = self.open_dialogs.pop(question_id, None)
        if box is not None:
            self.changed.emit()
        return box
