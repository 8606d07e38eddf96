"""Playground: try any model the gateway serves, and compare two answers side by side.

The models offered are the gateway's own list (API providers, local servers, CLI bridges,
aliases). A chat is sent through the engine's gateway path as the local user
(`engine.playground`), streamed into the answer pane as it comes, and recorded like any other
request: under the answer are its tokens, cache use, cost, time to first token and total time
as its recorder row has them, and a button opening that row. "Compare with…" sends the same
messages to a second model and shows its answer beside the first; the second row names the
first as the one it replays, and the recorder detail of each shows the other.

The page reads as a chat: the conversation so far (what you asked, what each model answered)
stays above the answers as a transcript, the latest answers side by side below it, and the
message box with *Send* (the page's main action) right under them. The two pickers
(`playground_models.py`), each answer's heading and the figures under it name a model the same
way ("Anthropic · claude-sonnet-4-6"), and so does the line saying what a replay of a
recorded request sent where (the model's id, as the gateway takes it, one hover away on each);
each answer has one "Open in recorder", and the comparison is one control: "Compare with
[model] [Compare]". The answer boxes are as
tall as their text (a one-line answer in an 850x600 box left the page mostly empty).

Every send runs as a task on the window's loop (never a nested loop); the page stays usable
meanwhile, and a second send waits for the first to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmgw_desktop.engine.api import PlaygroundReply
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.playground_models import ModelPicker
from llmgw_desktop.ui.pages.playground_transcript import FittedText, Transcript, served_as
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.pages.recorder_words import format_cost, format_duration
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QEvent,
    QGridLayout,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QObject,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    Qt,
    QTextCursor,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["PlaygroundPage", "describe_reply", "model_id_tip"]

PROMPT_PLACEHOLDER = "Write a message; Ctrl+Enter sends it."
REPLAY_QUOTE_CHARS = 80  # of a replayed request's last message, quoted in the status line


REPLAY_SPEAKERS = {"user": "You", "assistant": "Assistant", "system": "System"}


def replayed_turn(message: dict[str, Any]) -> tuple[str, str]:
    """(speaker, words) of one recorded message: its text parts joined, what is not text named
    by its type (`[image]`), so the transcript shows what the replay sends."""
    role = str(message.get("role") or "user")
    content = message.get("content")
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                pieces.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else None
                pieces.append(f"[{kind or 'part'}]")
        words = "\n".join(pieces)
    else:
        words = "" if content is None else str(content)
    return REPLAY_SPEAKERS.get(role, role.capitalize()), words


def model_id_tip(model: str) -> str:
    """A model's name's tooltip: the id the gateway takes for it (what a client sends)."""
    return f"Model id: {model}" if model else ""


def describe_reply(reply: PlaygroundReply, names: ProviderNames | None = None) -> str:
    """The figures under an answer, as its recorder row has them (who answered named as its
    heading names it)."""
    row = reply.record or {}
    if not row:
        return "No recorder row." if reply.record_id is None else f"Recorder row {reply.record_id}"
    served = served_as(reply, names or ProviderNames())
    fresh, read = int(row.get("input_tokens") or 0), int(row.get("cache_read_tokens") or 0)
    write = int(row.get("cache_write_tokens") or 0)
    prompt = fresh + read + write
    cache = f"cache read {read:,} · write {write:,}"
    if prompt and read:
        cache += f" ({read / prompt:.0%} of the prompt from cache)"
    elif not read and not write:
        cache += " (no cache used)"
    cost = format_cost(row.get("cost_usd")) or "not priced"
    timing = f"total {format_duration(row.get('duration_ms'))}"
    if reply.first_token_ms is not None:
        timing = f"first token {reply.first_token_ms:,.0f} ms · {timing}"
    return (
        f"{served} · {row.get('state')}\n"
        f"Tokens in {fresh:,} · out {int(row.get('output_tokens') or 0):,} · {cache}\n"
        f"Cost {cost} · {timing}"
    )


class _AnswerPane(QWidget):
    """One model's answer: the text as it streams, its figures, a link to its recorder row."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.title = QLabel()
        self.title.setObjectName(f"{name}Title")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = FittedText()
        self.text.setObjectName(f"{name}Text")
        self.text.setAccessibleName(
            "The answer" if name == "playgroundAnswer" else "The compared answer"
        )
        self.figures = QLabel()
        self.figures.setObjectName(f"{name}Figures")
        self.figures.setWordWrap(True)
        self.figures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_tone(self.figures, "muted")
        self.error = QLabel()
        self.error.setObjectName(f"{name}Error")
        self.error.setWordWrap(True)
        set_tone(self.error, "error")
        self.error.setVisible(False)
        self.open_button = QPushButton("Open in recorder")
        self.open_button.setObjectName(f"{name}OpenRecorder")
        self.open_button.setToolTip("Show this answer's request in the Flight recorder")
        self.open_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.error)
        layout.addWidget(self.figures)
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.reply: PlaygroundReply | None = None

    def begin(self, model: str) -> None:
        self.reply = None
        self.title.setText(f"{model} · answering…" if model else "")
        self.text.clear()
        self.figures.clear()
        self.error.clear()
        self.error.setVisible(False)
        self.open_button.setEnabled(False)

    def add_text(self, piece: str) -> None:
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)
        self.text.setTextCursor(cursor)

    def finish(self, reply: PlaygroundReply, title: str, names: ProviderNames) -> None:
        self.reply = reply
        self.title.setText(title)
        self.title.setToolTip(model_id_tip(str((reply.record or {}).get("model") or reply.model)))
        if not self.text.toPlainText() and reply.text:
            self.text.setPlainText(reply.text)
        if reply.error is not None:
            code = f" ({reply.error_code})" if reply.error_code else ""
            self.error.setText(f"No answer: {reply.error}{code}")
            self.error.setVisible(True)
        self.figures.setText(describe_reply(reply, names))
        self.open_button.setEnabled(reply.record_id is not None)


class PlaygroundPage(Page):
    KEY = "playground"
    TITLE = "Playground"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._messages: list[dict[str, Any]] = []
        self._asked: list[dict[str, Any]] = []  # the messages of the last send, for Compare
        self._busy = False
        self._listed = False

        self.model_box = ModelPicker("playgroundModel", "model (e.g. claude-sonnet-4-6)")
        self.compare_box = ModelPicker("playgroundCompareModel", "second model")
        self.refresh_button = QPushButton("Re&fresh models")
        self.refresh_button.clicked.connect(self.load_models)
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("playgroundPrompt")
        self.prompt.setPlaceholderText(PROMPT_PLACEHOLDER)
        self.prompt.setTabChangesFocus(True)
        self.prompt.setMaximumHeight(110)
        self.send_button = action_button(
            "&Send", "playgroundSend", icon="play", primary=True, tip="Send (Ctrl+Enter)"
        )
        self.send_button.clicked.connect(self.send)
        self.new_button = QPushButton("&New chat")
        self.new_button.clicked.connect(self.new_chat)
        self.compare_button = QPushButton("&Compare")
        self.compare_button.setObjectName("playgroundCompare")
        self.compare_button.setToolTip(
            "Send the last request again to the model beside it and show both answers side by side"
        )
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare)
        self.status = QLabel()
        self.status.setObjectName("playgroundStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        self.transcript = Transcript()
        self.answer = _AnswerPane("playgroundAnswer")
        self.second = _AnswerPane("playgroundSecond")
        self.second.setVisible(False)
        for pane in (self.answer, self.second):
            pane.open_button.clicked.connect(lambda _=False, p=pane: self.open_row(p))

        model_label = QLabel("&Model")
        model_label.setBuddy(self.model_box)
        compare_label = QLabel("Compare &with")
        compare_label.setBuddy(self.compare_box)
        choose = QGridLayout()
        choose.addWidget(model_label, 0, 0)
        choose.addWidget(self.model_box, 0, 1)
        choose.addWidget(self.refresh_button, 0, 2)
        choose.addWidget(compare_label, 0, 3)
        choose.addWidget(self.compare_box, 0, 4)
        choose.addWidget(self.compare_button, 0, 5)
        choose.setColumnStretch(1, 1)
        choose.setColumnStretch(4, 1)
        choose.setHorizontalSpacing(SPACE["s"])
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        composer = QHBoxLayout()
        composer.addWidget(self.prompt, 1)
        composer.addLayout(buttons)
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(self.answer)
        sides.addWidget(self.second)
        sides.setChildrenCollapsible(False)
        # The answers as tall as their text, and the message box right under them: where you
        # type next follows the conversation (at the window's foot, a short chat left a hole
        # of half the page between the answers and the box); the room left is below it all.
        sides.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.transcript)
        layout.addWidget(sides)
        layout.addWidget(self.status)
        layout.addLayout(composer)
        layout.addStretch(1)
        self.prompt.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+Enter in the message box sends it (Enter alone starts a new line)."""
        if watched is self.prompt and isinstance(event, QKeyEvent):
            pressed = event.type() == QEvent.Type.KeyPress
            enter = pressed and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.send()
                return True
        return super().eventFilter(watched, event)

    # -- the model list -------------------------------------------------------------------

    def page_shown(self) -> None:
        if not self._listed:
            self.load_models()

    def load_models(self) -> None:
        """Fill the two model boxes from the gateway's own model list (in the background)."""
        self.tasks.spawn(self._load_models(), what="list the gateway's models")

    async def _load_models(self) -> None:
        models = await self.engine.playground.models()
        self._listed = True
        names = self._names()
        for box in (self.model_box, self.compare_box):
            box.set_models(models, names)
        if models and not self.model_box.currentText():
            self.model_box.setCurrentIndex(0)
        if not models:
            self._say("The gateway serves no model now: add a key or a provider first.")

    # -- sending --------------------------------------------------------------------------

    def send(self) -> None:
        """Send the prompt (with the chat so far) to the chosen model, streamed."""
        text = self.prompt.toPlainText().strip()
        model = self.model_box.chosen_model()
        if self._busy or not text:
            return
        if not model:
            self._say("Choose a model first.", error=True)
            return
        asked = [*self._messages, {"role": "user", "content": text}]
        self.prompt.clear()
        # The last answers join the transcript; the new question stays on screen above them.
        for pane in (self.answer, self.second):
            if pane.reply is not None and pane.isVisible() and pane.reply.ok:
                self.transcript.add_turn(pane.title.text(), pane.reply.text)
        self.transcript.add_turn("You", text)
        self.second.setVisible(False)
        self._start(self._send(model, asked))

    def compare(self) -> None:
        """Send the last request again to the second model; show both answers side by side."""
        first = self.answer.reply
        model = self.compare_box.chosen_model()
        if self._busy or first is None or not self._asked:
            return
        if not model:
            self._say("Choose the model to compare with first.", error=True)
            return
        self.second.setVisible(True)
        self._start(self._compare(model, first))

    def new_chat(self) -> None:
        """Forget the conversation so far (the recorder keeps its rows)."""
        self._messages = []
        self._asked = []
        self.transcript.clear_turns()
        self.answer.begin("")
        self.answer.title.clear()
        self.second.setVisible(False)
        self.compare_button.setEnabled(False)
        self._say("")

    def replay(
        self, original: PlaygroundReply, messages: Sequence[dict[str, Any]], model: str
    ) -> bool:
        """Show a recorded request's answer (`original`, from the Flight recorder's "Replay
        on…") and send its `messages` again, through the gateway, to `model`, the new answer
        beside the recorded one (its row names `original` as the one it replays). False while
        another send runs."""
        if self._busy:
            self._say(
                "Another request is being answered: replay it once that one ends.", error=True
            )
            return False
        self._messages = []
        self._asked = [dict(message) for message in messages]
        # The transcript is what was replayed, never the chat that was on screen before.
        self.transcript.clear_turns()
        for message in self._asked:
            self.transcript.add_turn(*replayed_turn(message))
        names = self._names()
        self.answer.begin(original.model)
        self.answer.finish(original, f"Recorded · {served_as(original, names)}", names)
        self.model_box.choose(original.model)
        self.compare_box.choose(model)
        self.second.setVisible(True)
        self._start(self._replay(model, original))
        return True

    async def _replay(self, model: str, original: PlaygroundReply) -> None:
        """Compare's send, then what was replayed, said (what it asked stays on screen)."""
        if not self._listed:
            # Opened from the recorder before this page was ever shown: the model is named
            # as its picker names it once the gateway's list is in.
            await self._load_models()
            self.compare_box.choose(model)
        users = [m for m in self._asked if m.get("role") == "user"]
        last = str(users[-1].get("content") or "") if users else ""
        asked = f"“{last[:REPLAY_QUOTE_CHARS]}{'…' if len(last) > REPLAY_QUOTE_CHARS else ''}”"
        shown = self.compare_box.currentText().strip() or model
        what = f"request {str(original.record_id)[:8]} ({asked}) on {shown}"
        tip = model_id_tip(model)
        self._say(f"Replaying {what}…", tip=tip)
        await self._compare(model, original)
        if self.second.reply is not None and self.second.reply.ok:
            self._say(f"Replayed {what}: the recorded answer is on the left.", tip=tip)

    def _start(self, work: Any) -> None:
        self._busy = True
        self._enable()
        if not self.tasks.spawn(work, what="send the playground's request"):
            self._busy = False
            self._enable()

    async def _send(self, model: str, asked: list[dict[str, Any]]) -> None:
        shown = self.model_box.currentText().strip() or model
        self.answer.begin(shown)
        self._say(f"Asking {shown}…")
        try:
            reply = await self.engine.playground.send(model, asked, on_text=self.answer.add_text)
        finally:
            self._busy = False
        names = self._names()
        self.answer.finish(reply, served_as(reply, names), names)
        self._asked = asked
        if reply.ok:
            self._messages = [*asked, {"role": "assistant", "content": reply.text}]
            self._say("")
        else:
            self._say(f"{shown} did not answer: see below.", error=True)
        self._enable()

    async def _compare(self, model: str, first: PlaygroundReply) -> None:
        shown = self.compare_box.currentText().strip() or model
        self.second.begin(shown)
        self._say(f"Asking {shown} the same…")
        try:
            reply = await self.engine.playground.send(
                model, self._asked, on_text=self.second.add_text, replay_of=first.record_id
            )
        finally:
            self._busy = False
        names = self._names()
        self.second.finish(reply, served_as(reply, names), names)
        self._say("" if reply.ok else f"{shown} did not answer: see below.", error=not reply.ok)
        self._enable()

    def _enable(self) -> None:
        self.send_button.setEnabled(not self._busy)
        self.compare_button.setEnabled(
            not self._busy and self.answer.reply is not None and bool(self._asked)
        )

    def _say(self, text: str, *, error: bool = False, tip: str = "") -> None:
        set_tone(self.status, "error" if error else "")
        self.status.setText(text)
        self.status.setToolTip(tip)
        self.status.setVisible(bool(text))  # an empty line would sit between answers and box

    def _names(self) -> ProviderNames:
        return ProviderNames.of(self.engine)

    # -- the recorder row -----------------------------------------------------------------

    def open_row(self, pane: _AnswerPane) -> None:
        """Show the answer's recorder row in the Flight recorder."""
        reply = pane.reply
        window = self.window()
        recorder = getattr(window, "pages", {}).get(RecorderPage.KEY)
        show_page = getattr(window, "show_page", None)
        if reply is None or reply.record_id is None:
            return
        if not isinstance(recorder, RecorderPage) or not callable(show_page):
            return  # a page shown on its own (tests) has no recorder to open
        recorder.show_request(reply.record_id)
        show_page(RecorderPage.KEY)
