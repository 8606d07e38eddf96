"""The one dialog the desk asks yes-or-no questions with: an approval of a risky call, an
OAuth client's consent.

Both look and behave the same, so a person's hands learn one thing:
- the buttons are always [Deny] [Approve], Deny on the left, in the same place in both (the
  Clients page's consent rows too); an approval that lets a risky call run says so: its
  Approve reads "Approve once" in the error tone, the destructive choice;
- Deny is the default and the escape: Return, Enter and Escape deny wherever the focus is,
  Deny holds the focus when the dialog opens, and closing the dialog any other way denies
  too; only a click on Approve, or Space with the focus on it, approves;
- a plain heading says what is asked ("claude-code wants to run a risky command"), a line
  under it how risky (the policy's score against its threshold), and the risky parts of a
  literal are marked;
- a countdown line ("Denies in 97 s", redrawn each second) and a bar that empties say when
  no answer becomes a denial, aligned with the text;
- text is wrapped only at spaces, never inside a word: `git push --force`, a path or a URL
  reads whole (Qt's own wrapping breaks after hyphens, "--" / "force"). A literal (the prompt)
  is in a monospaced pane exactly as sent, scrollable, its long lines wrapped at spaces.

Non-modal (`open()`, never `exec()`): the event loop and every other call keep running.
"""

from __future__ import annotations

import math
import textwrap
from collections import OrderedDict
from collections.abc import Callable

from llmgw_desktop.ui.design import HEADING, SPACE, scaled_font
from llmgw_desktop.ui.qt import (
    QColor,
    QDialog,
    QFont,
    QFontDatabase,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QObject,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QShowEvent,
    QStyle,
    Qt,
    QTextCharFormat,
    QTextCursor,
    QTextEdit,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.theme import current_look, set_tone, themed, tone_colour

__all__ = ["BUTTON_ORDER", "DecisionDialog", "QuestionDesk", "countdown_text", "wrap_at_spaces"]

# Left to right, in every question the desk asks.
BUTTON_ORDER = ("Deny", "Approve")
# The countdown is redrawn this often; the text changes once a second, the first tick is soon.
COUNTDOWN_TICK_MS = 250
MESSAGE_COLUMNS = 78
LITERAL_COLUMNS = 90
LITERAL_LINES = 12
COUNTDOWN_STEPS = 1000
COUNTDOWN_BAR_PX = 4
# Approve is as wide as its widest words in every dialog, so Deny, left of it, sits at the
# same place in each ("Approve once" beside a plain "Approve" moved Deny along).
WIDEST_APPROVE = "Approve once"
ANSWERS_KEPT = 200  # answered questions whose place a notification may still open


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
    """The line that counts down to the automatic denial: `Denies in 97 s`."""
    left = max(0, math.ceil(seconds_left))
    return f"Denies in {left} s"


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
        heading: str = "",
        risk: str = "",
        marks: Callable[[str], list[tuple[int, int]]] | None = None,
        approve_label: str = "Approve",
        destructive: bool = False,
        deny_label: str = "Deny",
        middle_label: str = "",
        parent: QWidget | None = None,
    ) -> None:
        """`literal`: shown verbatim in a monospaced pane (a prompt); `whole_literal`: the
        whole of it when `literal` is an excerpt (a toggle shows it); `deadline`: when, by
        `clock`, no answer denies (the countdown); `heading`: what is asked, in plain words;
        `risk`: how risky, under it; `marks`: where in the literal's text the risky parts
        are (they are marked); `approve_label`: Approve's words; `destructive`: approving
        lets something harmful run, so Approve is drawn as the destructive choice;
        `deny_label`: Deny's words (it stays the default and the escape); `middle_label`: a
        third answer between the two (none when empty), chosen only by a click."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self._message = message
        self._literal = literal
        self._whole = whole_literal
        self._deadline = deadline
        self._clock = clock
        self._clicked: QPushButton | None = None
        self._marks = marks
        self.marked: list[str] = []  # the literal's parts marked as risky, as shown
        self._span = None if deadline is None else max(0.001, deadline - clock())

        picture = self._picture(icon)
        # Everything the person reads sits in one column beside the picture, aligned.
        text = self._text_column(heading, risk, message)
        top = QHBoxLayout()
        top.setSpacing(SPACE["l"])
        top.addWidget(picture, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(text, 1)
        column = QVBoxLayout(self)
        column.addLayout(top, 1)
        self.literal_view: QPlainTextEdit | None = None
        self.whole_toggle: QPushButton | None = None
        if literal:
            self._add_literal(text, literal, whole_literal)
        self._add_countdown(text)
        column.addLayout(
            self._buttons(
                deny_label, middle_label, approve_label=approve_label, destructive=destructive
            )
        )
        for button in self.buttons():
            button.clicked.connect(lambda _checked=False, b=button: self._answer(b))
        self.setFocusProxy(self.deny_button)
        self._start_countdown(deadline)

    def _picture(self, icon: QStyle.StandardPixmap) -> QLabel:
        """The style's picture for the question (a warning, by default), at the top left."""
        picture = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        picture.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        picture.setAlignment(Qt.AlignmentFlag.AlignTop)
        return picture

    def _text_column(self, heading: str, risk: str, message: str) -> QVBoxLayout:
        """The column the person reads: what is asked, how risky it is, and the message
        (wrapped at spaces only)."""
        text = QVBoxLayout()
        text.setSpacing(SPACE["s"])
        self.heading_label = QLabel(heading)
        self.heading_label.setObjectName("decisionHeading")
        self.heading_label.setFont(
            scaled_font(self.heading_label.font(), HEADING, weight=QFont.Weight.DemiBold)
        )
        self.heading_label.setVisible(bool(heading))
        self.risk_label = QLabel(risk)
        self.risk_label.setObjectName("decisionRisk")
        set_tone(self.risk_label, "error" if risk.startswith("High") else "warning")
        self.risk_label.setVisible(bool(risk))
        self.message_label = QLabel(wrap_at_spaces(message, MESSAGE_COLUMNS))
        self.message_label.setObjectName("decisionMessage")
        self.message_label.setWordWrap(False)  # wrapped above, at spaces only
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        text.addWidget(self.heading_label)
        text.addWidget(self.risk_label)
        text.addWidget(self.message_label)
        return text

    def _add_literal(self, text: QVBoxLayout, literal: str, whole_literal: str) -> None:
        """The literal (a prompt) in a monospaced pane, exactly as sent; with a toggle to the
        whole of it when `literal` is an excerpt of `whole_literal`."""
        view = QPlainTextEdit()
        view.setObjectName("decisionLiteral")
        view.setReadOnly(True)
        view.setTabChangesFocus(True)
        view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        metrics = view.fontMetrics()
        self.literal_view = view
        self._show_literal(literal)
        lines = min(LITERAL_LINES, view.toPlainText().count("\n") + 1)
        view.setMinimumHeight(metrics.lineSpacing() * (lines + 1) + 8)
        view.setMinimumWidth(min(metrics.horizontalAdvance("m") * (LITERAL_COLUMNS + 2), 760))
        text.addWidget(view, 1)
        if whole_literal:
            toggle = QPushButton("Show the whole prompt")
            toggle.setObjectName("decisionWhole")
            toggle.setCheckable(True)
            toggle.setAutoDefault(False)
            toggle.toggled.connect(self._show_whole)
            text.addWidget(toggle, 0, Qt.AlignmentFlag.AlignLeft)
            self.whole_toggle = toggle

    def _add_countdown(self, text: QVBoxLayout) -> None:
        """The line and the bar that say when no answer becomes a denial."""
        self.countdown_label = QLabel()
        self.countdown_label.setObjectName("decisionCountdown")
        self.countdown_bar = QProgressBar()
        self.countdown_bar.setObjectName("decisionCountdownBar")
        self.countdown_bar.setRange(0, COUNTDOWN_STEPS)
        self.countdown_bar.setTextVisible(False)
        self.countdown_bar.setFixedHeight(COUNTDOWN_BAR_PX)
        self.countdown_bar.setAccessibleName("Time left to answer")
        text.addWidget(self.countdown_label)
        text.addWidget(self.countdown_bar)

    def _buttons(
        self, deny_label: str, middle_label: str, *, approve_label: str, destructive: bool
    ) -> QHBoxLayout:
        """Deny (the default), the middle answer when there is one, and Approve, right
        aligned; Approve never answers a reflexive Return."""
        self.deny_button = QPushButton(deny_label)
        self.deny_button.setObjectName("deny")
        self.middle_button: QPushButton | None = None
        if middle_label:
            self.middle_button = QPushButton(middle_label)
            self.middle_button.setObjectName("middle")
            self.middle_button.setAutoDefault(False)
        self.approve_button = QPushButton(approve_label)
        self.approve_button.setObjectName("approve")
        if destructive:
            themed(self.approve_button, "destructive")
        widest = self.approve_button.fontMetrics().horizontalAdvance(WIDEST_APPROVE)
        self.approve_button.setMinimumWidth(widest + 4 * SPACE["m"])
        # A reflexive Return or Escape must never grant anything.
        self.approve_button.setAutoDefault(False)
        self.deny_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in self.buttons():
            buttons.addWidget(button)
        return buttons

    def _start_countdown(self, deadline: float | None) -> None:
        """Redraw the countdown every tick until the dialog is answered (hidden when no
        deadline denies)."""
        self._ticker = QTimer(self)
        self._ticker.setObjectName("countdown")
        self._ticker.setInterval(COUNTDOWN_TICK_MS)
        self._ticker.timeout.connect(self._tick)
        if deadline is not None:
            self._tick()
            self._ticker.start()
        else:
            self.countdown_label.hide()
            self.countdown_bar.hide()
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
        """The answer buttons, left to right (a middle answer between Deny and Approve)."""
        by_name = {"Deny": self.deny_button, "Approve": self.approve_button}
        ordered = [by_name[name] for name in BUTTON_ORDER]
        if self.middle_button is None:
            return ordered
        return [*ordered[:1], self.middle_button, *ordered[1:]]

    def defaultButton(self) -> QPushButton:
        return self.deny_button

    def escapeButton(self) -> QPushButton:
        return self.deny_button

    def clickedButton(self) -> QPushButton | None:
        return self._clicked

    def approved(self) -> bool:
        return self._clicked is self.approve_button

    def chose_middle(self) -> bool:
        """The middle answer was clicked."""
        return self.middle_button is not None and self._clicked is self.middle_button

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
        if button is self.deny_button:
            super().reject()
        else:
            self.accept()

    def _tick(self) -> None:
        if self._deadline is not None and self._span is not None:
            left = self._deadline - self._clock()
            self.countdown_label.setText(countdown_text(left))
            share = max(0.0, min(1.0, left / self._span))
            self.countdown_bar.setValue(round(share * COUNTDOWN_STEPS))

    def _show_literal(self, text: str) -> None:
        """Show `text` in the literal pane, its risky parts marked."""
        view = self.literal_view
        if view is None:
            return
        view.setPlainText(wrap_at_spaces(text, LITERAL_COLUMNS))
        if self._marks is None:
            return
        marked = QTextCharFormat()
        marked.setBackground(QColor(tone_colour("warning")).lighter(100))
        marked.setForeground(QColor(current_look().base))
        marked.setFontWeight(QFont.Weight.Bold)
        selections = []
        for start, end in self._marks(view.toPlainText()):
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(view.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            selection.format = marked
            selections.append(selection)
        view.setExtraSelections(selections)
        self.marked = [view.toPlainText()[a:b] for a, b in self._marks(view.toPlainText())]

    def _show_whole(self, whole: bool) -> None:
        if self.literal_view is None or self.whole_toggle is None:
            return
        self._show_literal(self._whole if whole else self._literal)
        self.whole_toggle.setText("Show the excerpt" if whole else "Show the whole prompt")


class QuestionDesk(QObject):
    """The questions of one kind open at the desk now (approvals, consents), one dialog each;
    `changed` fires when one opens or closes, so the window's header can count them;
    `answered(level, words, place, detail)` says how one was answered and where that shows
    (the notification history keeps it, with an Open to that place); `place_of(id)` says the
    same for a question answered already (its "waits for you" notification opens it there)."""

    changed = Signal()
    answered = Signal(str, str, str, str)

    def __init__(self) -> None:
        super().__init__()
        self.open_dialogs: dict[str, DecisionDialog] = {}
        self._answered: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def waiting(self) -> int:
        """How many questions wait for an answer."""
        return len(self.open_dialogs)

    def bring_forward(self, question_id: str = "") -> bool:
        """Raise question `question_id`'s dialog (any: the oldest open one); False when it is
        not open."""
        for key, box in self.open_dialogs.items():
            if question_id and key != question_id:
                continue
            box.show()
            box.raise_()
            box.activateWindow()
            return True
        return False

    def place_of(self, question_id: str) -> tuple[str, str] | None:
        """Where the answer to question `question_id` shows (a page and what to choose
        there), or None for a question this desk did not answer."""
        return self._answered.get(question_id)

    def _tell(self, question_id: str, level: str, words: str, place: tuple[str, str]) -> None:
        """Say how question `question_id` was answered, and remember where that shows."""
        self._answered[question_id] = place
        while len(self._answered) > ANSWERS_KEPT:
            self._answered.popitem(last=False)
        self.answered.emit(level, words, *place)

    def _track(self, question_id: str, box: DecisionDialog) -> None:
        self.open_dialogs[question_id] = box
        # Answered, denied by its countdown or closed, a dialog is done: deleted once its
        # answer has been read (its parent, the main window, would keep it for the app's life).
        box.finished.connect(box.deleteLater)
        self.changed.emit()

    def _forget(self, question_id: str) -> DecisionDialog | None:
        box = self.open_dialogs.pop(question_id, None)
        if box is not None:
            self.changed.emit()
        return box
