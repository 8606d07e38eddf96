"""Playground: a chat with any model the gateway serves, and two answers side by side.

The models offered are the gateway's own list (API providers, local servers, CLI bridges,
aliases). A chat is sent through the engine's gateway path as the local user
(`engine.playground`), streamed into the conversation as it comes, and recorded like any other
request: under each answer one line of its tokens, cache use, cost, time to first token and
total time as its recorder row has them, with "Copy" and "Open in recorder". "Embed" sends the
message to an embedding model instead and describes the vector it got. "Compare with…"
sends the same messages to a second model and shows its answer beside the first; the second
row names the first as the one it replays, and the recorder detail of each shows the other.

The page reads as the chat apps people know: the conversation fills the page
(`playground_transcript.ChatView`, answers rendered as Markdown with code blocks to copy), the
message box is pinned to its foot (`playground_composer.py`), and the model picker opens on the
model last sent from here, else one that answers (`playground_models.preferred_model`), kept
in `ui.ini`. The two pickers, each answer's heading and the line saying what a replay of a
recorded request sent where name a model the same way ("Anthropic · claude-sonnet-4-6"; the
id the gateway takes one hover away).

Every send runs as a task on the window's loop (never a nested loop); the page stays usable
meanwhile, and a second send waits for the first to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from html import escape
from typing import Any

from llmgw_desktop.engine.api import PlaygroundReply
from llmgw_desktop.ui.attention import (
    ADD_A_KEY_PLACE,
    NO_PROVIDER,
    NoProvider,
    no_provider,
    provider_verdicts,
)
from llmgw_desktop.ui.design import SPACE, page_margins
from llmgw_desktop.ui.glyphs import ON_ACCENT, glyph
from llmgw_desktop.ui.kit.page_head import PageHead, action_button
from llmgw_desktop.ui.navigator import navigator_of, other_page
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.playground_answer import (
    AnswerPane,
    model_id_tip,
    served_as,
)
from llmgw_desktop.ui.pages.playground_composer import Composer
from llmgw_desktop.ui.pages.playground_models import ModelPicker, preferred_model
from llmgw_desktop.ui.pages.playground_transcript import AnswerRow, ChatView
from llmgw_desktop.ui.pages.recorder import RecorderPage
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QPushButton,
    QSettings,
    QShortcut,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["PlaygroundPage", "replayed_turn"]

REPLAY_QUOTE_CHARS = 80  # of a replayed request's last message, quoted in the status line
LAST_MODEL_KEY = "playground/model"  # in ui.ini: the model last sent from here
LAST_COMPARE_KEY = "playground/compare"
ANSWERING_WINDOW = "24h"  # the live figures' window a default model's provider answered in


REPLAY_SPEAKERS = {"user": "You", "assistant": "Assistant", "system": "System"}
MODEL_PLACEHOLDER = "model (e.g. claude-sonnet-4-6)"
# The empty box with nothing to answer: short enough to be read whole at 1024 px.
NO_MODEL_PLACEHOLDER = "no model: add a key on Provider keys"
EMBED_TIP = (
    "Embed the message with the chosen model (an embedding model, such as "
    "text-embedding-3-small) and show the vector's size and first values"
)


def _placeholder(nothing: NoProvider | None) -> str:
    """The empty model box's words: where to add a key, or the login that is all that is
    missing ("no model: Claude Code is not logged in (see Providers)")."""
    if nothing is None:
        return MODEL_PLACEHOLDER
    if nothing.place == ADD_A_KEY_PLACE:
        return NO_MODEL_PLACEHOLDER
    return f"no model: {nothing.brief} (see {nothing.place_name})"


def _with_link(words: str) -> str:
    """`words` with "Provider keys" a link to that page (the status line is rich text)."""
    link = f'<a href="{ADD_A_KEY_PLACE}">Provider keys</a>'
    return escape(words).replace("Provider keys", link)


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


class PlaygroundPage(Page):
    KEY = "playground"
    TITLE = "Playground"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._messages: list[dict[str, Any]] = []
        self._asked: list[dict[str, Any]] = []  # the messages of the last send, for Compare
        self._busy = False
        self._stop: asyncio.Event | None = None  # set by Stop while an answer streams
        self._listed = False
        # Why nothing can answer ("No provider can answer: add a key on Provider keys."), or
        # "": Send and Embed stay grey with it as their tooltip, as the empty model box says.
        self._unanswered = ""
        self._state = QSettings(str(context.facts.data_dir / "ui.ini"), QSettings.Format.IniFormat)
        self._row: AnswerRow | None = None  # the latest turn's answers
        self._no_answer = AnswerPane("playgroundNoAnswer")  # `answer` before any turn

        self._build_model_controls()
        self.transcript = ChatView()
        self.status = QLabel()
        self.status.setObjectName("playgroundStatus")
        self.status.setWordWrap(True)
        self.status.linkActivated.connect(self._open_link)
        self.status.hide()
        context.bridge.answeringChanged.connect(self._answering_changed)
        self._build_message_controls()
        head = PageHead(
            self.TITLE, "Chat with any model the gateway serves; every answer is recorded."
        )
        head.add_action(self.new_button)
        choose = self._choose_row()
        composer = QHBoxLayout()
        composer.setSpacing(SPACE["s"])
        composer.addWidget(self.prompt, 1)
        composer.addWidget(self.embed_button, 0, Qt.AlignmentFlag.AlignBottom)
        composer.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        page_margins(layout)
        layout.addWidget(head)
        layout.addLayout(choose)
        layout.addWidget(self.transcript, 1)  # the conversation takes every spare pixel
        layout.addWidget(self.status)
        layout.addLayout(composer)

    def _build_model_controls(self) -> None:
        """The model asked, the model compared with it, Refresh (the list) and Compare."""
        self.model_box = ModelPicker("playgroundModel", MODEL_PLACEHOLDER)
        self.compare_box = ModelPicker("playgroundCompareModel", "second model")
        self.refresh_button = QToolButton()
        self.refresh_button.setObjectName("playgroundRefresh")
        self.refresh_button.setIcon(glyph("refresh"))
        self.refresh_button.setToolTip("List the gateway's models again")
        self.refresh_button.setAccessibleName("Refresh the models")
        self.refresh_button.clicked.connect(self.load_models)
        self.compare_button = QPushButton("&Compare")
        self.compare_button.setObjectName("playgroundCompare")
        self.compare_button.setToolTip(
            "Send the last request again to the model beside it and show both answers side by side"
        )
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare)

    def _build_message_controls(self) -> None:
        """The message being written, Send, Embed, and New chat (in the page's head)."""
        self.prompt = Composer()
        self.prompt.submitted.connect(self.send)
        self.send_button = action_button(
            "&Send", "playgroundSend", icon="play", primary=True, tip="Send (Enter)"
        )
        self.send_button.clicked.connect(self._send_or_stop)
        # Escape stops an answer while it streams, as in the chat apps.
        stop_key = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        stop_key.activated.connect(self.stop)
        self.embed_button = action_button(
            "E&mbed",
            "playgroundEmbed",
            tip=EMBED_TIP,
        )
        self.embed_button.clicked.connect(self.embed)
        self.new_button = action_button("&New chat", "playgroundNewChat", icon="add")
        self.new_button.setToolTip(
            "Start again with an empty conversation (an answer still coming is stopped)"
        )
        self.new_button.clicked.connect(self.new_chat)

    def _choose_row(self) -> QHBoxLayout:
        """The models, labelled (Alt+M, Alt+W reach them), with Refresh and Compare."""
        model_label = QLabel("&Model")
        model_label.setBuddy(self.model_box)
        compare_label = QLabel("Compare &with")
        compare_label.setBuddy(self.compare_box)
        choose = QHBoxLayout()
        choose.setSpacing(SPACE["s"])
        choose.addWidget(model_label)
        choose.addWidget(self.model_box, 3)
        choose.addWidget(self.refresh_button)
        choose.addSpacing(SPACE["l"])
        choose.addWidget(compare_label)
        choose.addWidget(self.compare_box, 2)
        choose.addWidget(self.compare_button)
        return choose

    @property
    def answer(self) -> AnswerPane:
        """The latest turn's answer (a blank pane before the first)."""
        return self._row.first if self._row is not None else self._no_answer

    @property
    def second(self) -> AnswerPane:
        """The latest turn's compared answer (hidden until Compare)."""
        return self._row.second if self._row is not None else self._no_answer

    # -- the model list -------------------------------------------------------------------

    def page_shown(self) -> None:
        if not self._listed:
            self.load_models()
        self._mark_failing()
        self.prompt.setFocus()

    def _mark_failing(self) -> None:
        """Mark the models of the providers failing now in both pickers, as each showing of
        the page and each answer finds them."""
        failing = self._failing()
        for box in (self.model_box, self.compare_box):
            box.mark_failing(failing)

    def _failing(self) -> dict[str, str]:
        """The providers failing now (the window's one verdict, `provider_verdicts`) by the
        gateway id the model list names them by, each with the verdict's words."""
        gateway_id = {switch: gid for gid, switch in self._names().by_gateway_id.items()}
        return {
            gateway_id.get(v.provider, v.provider): f"{v.name}: {v.status}: {v.why}"
            for v in provider_verdicts(self.engine)
            if v.failing
        }

    def load_models(self) -> None:
        """Fill the two model boxes from the gateway's own model list (in the background)."""
        self.tasks.spawn(self._load_models(), what="list the gateway's models")

    async def _load_models(self) -> None:
        models = await self.engine.playground.models()
        self._listed = True
        names = self._names()
        for box in (self.model_box, self.compare_box):
            box.set_models(models, names)
        self._mark_failing()
        if models and not self.model_box.currentText():
            self.model_box.choose(self._preferred(models, LAST_MODEL_KEY))
        if models and not self.compare_box.currentText():
            remembered = str(self._state.value(LAST_COMPARE_KEY, "") or "")
            if remembered and remembered != self.model_box.chosen_model():
                self.compare_box.choose(remembered)
        self._show_what_answers(bool(models))

    def _show_what_answers(self, listed: bool) -> None:
        """The empty model box says where to add a key when nothing can answer (the
        engine's one fact, the header's words); a list that came says nothing."""
        nothing = no_provider(self.engine)
        self._unanswered = f"{nothing.words}: {nothing.fix}." if nothing is not None else ""
        self.model_box.set_placeholder(_placeholder(nothing), tip=self._unanswered)
        self._enable()
        if nothing is not None:
            self._say(_with_link(f"{nothing.words}: {nothing.fix}."), tone=nothing.tone)
        elif not listed:
            self._say("The gateway serves no model now: add a key or a provider first.")
        elif self.status.text().startswith(NO_PROVIDER):
            self._say("")

    def _answering_changed(self, _answering: object) -> None:
        # A key stored, a CLI found: the model list (and what the box says) follows.
        if self._listed and not self._busy:
            self.load_models()

    def _open_link(self, place: str) -> None:
        navigator = navigator_of(self)
        if navigator is not None:
            navigator.open_place(place, "")

    def _preferred(self, models: Sequence[dict[str, Any]], remembered_as: str) -> str:
        """The model a picker opens on: remembered, the default, or one that answers."""
        gateway_id = {switch: gid for gid, switch in self._names().by_gateway_id.items()}
        by_provider = self.engine.metrics.series(ANSWERING_WINDOW).by_provider
        answered = {gateway_id.get(p, p): t.asked - t.errors for p, t in by_provider.items()}
        failing = {gateway_id.get(v.provider, v.provider) for v in provider_verdicts(self.engine)}
        return preferred_model(
            models,
            last_used=str(self._state.value(remembered_as, "") or ""),
            default=str(self.engine.settings.value("gateway.default_model") or ""),
            answering=[p for p, n in sorted(answered.items(), key=lambda i: -i[1]) if n > 0],
            failing=failing,
        )

    def _remember(self, key: str, model: str) -> None:
        if self._state.value(key) != model:
            self._state.setValue(key, model)
            self._state.sync()

    # -- sending --------------------------------------------------------------------------

    def send(self) -> None:
        """Send the message (with the chat so far) to the chosen model, streamed."""
        text = self.prompt.toPlainText().strip()
        model = self.model_box.chosen_model()
        if self._busy or not text:
            return
        if not model:
            nothing = no_provider(self.engine)
            if nothing is not None:
                self._say(_with_link(f"{nothing.words}: {nothing.fix}."), tone=nothing.tone)
            else:
                self._say("Choose a model first.", error=True)
            return
        asked = [*self._messages, {"role": "user", "content": text}]
        self.prompt.clear()
        self.transcript.add_question("You", text)
        self._new_row()
        self._remember(LAST_MODEL_KEY, model)
        self._start(self._send(model, asked))

    def embed(self) -> None:
        """Embed the message with the chosen model; the vector is described in the
        conversation, which it does not join (an embedding is no turn of a chat)."""
        text = self.prompt.toPlainText().strip()
        model = self.model_box.chosen_model()
        if self._busy or not text:
            return
        if not model:
            self._say("Choose an embedding model first.", error=True)
            return
        self.prompt.clear()
        self.transcript.add_question("You (to embed)", text)
        self._new_row()
        self._remember(LAST_MODEL_KEY, model)
        self._start(self._embed(model, text))

    async def _embed(self, model: str, text: str) -> None:
        pane, row = self.answer, self._row
        shown = self.model_box.currentText().strip() or model
        pane.begin(shown)
        self._say("")
        try:
            reply = await self.engine.playground.embed(model, text)
        finally:
            self._busy = False
            self._enable()
        if self._row is not row:
            return  # a new chat meanwhile
        self._finished(pane, reply)
        if not reply.ok:
            self._say(f"{shown} did not embed it: see above.", error=True)
        self._enable()

    def compare(self) -> None:
        """Send the last request again to the second model; show both answers side by side."""
        first = self.answer.reply
        model = self.compare_box.chosen_model()
        if self._busy or first is None or not self._asked or self._row is None:
            return
        if not model:
            self._say("Choose the model to compare with first.", error=True)
            return
        self._remember(LAST_COMPARE_KEY, model)
        self.second.setVisible(True)
        self._start(self._compare(model, first))

    def _send_or_stop(self) -> None:
        """The one button: Send, or Stop while an answer streams."""
        if self._stop is not None:
            self.stop()
        else:
            self.send()

    @property
    def streaming(self) -> bool:
        """Whether an answer is coming now (the button reads Stop)."""
        return self._stop is not None

    def stop(self) -> None:
        """Stop the answer coming now where it is: what came stays, and its recorder row says
        the caller stopped it (canceled, `client_disconnected`)."""
        if self._stop is None or self._stop.is_set():
            return
        self._stop.set()
        self._say("Stopping the answer…")

    def new_chat(self) -> None:
        """Forget the conversation so far (the recorder keeps its rows); an answer still
        coming is stopped first, and the status line says so."""
        stopped = self._stop is not None
        self.stop()
        self._messages = []
        self._asked = []
        self._row = None
        self.transcript.clear_turns()
        self.compare_button.setEnabled(False)
        self._say("Stopped the answer that was coming: a new chat." if stopped else "")
        self.prompt.setFocus()

    def _new_row(self) -> AnswerRow:
        first, second = AnswerPane("playgroundAnswer"), AnswerPane("playgroundSecond")
        second.text.setAccessibleName("The compared answer")
        for pane in (first, second):
            pane.open_button.clicked.connect(lambda _=False, p=pane: self.open_row(p))
        self._row = self.transcript.add_answers(AnswerRow(first, second))
        return self._row

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
        # The conversation is what was replayed, never the chat that was on screen before.
        self.transcript.clear_turns()
        for message in self._asked:
            self.transcript.add_question(*replayed_turn(message))
        names = self._names()
        row = self._new_row()
        row.first.begin(original.model)
        title = f"Recorded · {served_as(original, names)}"
        row.first.finish(original, title, names)
        self.transcript.note_answer(title, original.text)
        self.model_box.choose(original.model)
        self.compare_box.choose(model)
        row.second.setVisible(True)
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
        pane, row = self.answer, self._row
        shown = self.model_box.currentText().strip() or model
        pane.begin(shown)
        self._say("")
        reply = await self._streamed(model, asked, pane)
        if self._row is not row:
            return  # a new chat meanwhile: this answer went with the old one
        self._finished(pane, reply)
        self._asked = asked
        if reply.ok or (reply.stopped and reply.text):
            # A stopped answer stays in the chat as far as it came, as in the chat apps.
            self._messages = [*asked, {"role": "assistant", "content": reply.text}]
        self._said(shown, reply)
        self._enable()

    async def _compare(self, model: str, first: PlaygroundReply) -> None:
        pane, row = self.second, self._row
        shown = self.compare_box.currentText().strip() or model
        pane.begin(shown)
        self._say("")
        reply = await self._streamed(model, self._asked, pane, replay_of=first.record_id)
        if self._row is not row:
            return
        self._finished(pane, reply)
        self._said(shown, reply)
        self._enable()

    async def _streamed(
        self,
        model: str,
        asked: list[dict[str, Any]],
        pane: AnswerPane,
        *,
        replay_of: str | None = None,
    ) -> PlaygroundReply:
        """One chat sent with Stop armed (Send reads Stop until it ends), its text shown in
        `pane` while `pane`'s turn is the latest."""
        row = self._row
        self._stop = stop = asyncio.Event()
        self._enable()

        def shown(text: str) -> None:
            if self._row is row:  # a new chat meanwhile: its pane is gone
                pane.add_text(text)

        try:
            return await self.engine.playground.send(
                model, asked, on_text=shown, replay_of=replay_of, stop=stop
            )
        finally:
            self._busy = False
            self._stop = None
            self._enable()

    def _said(self, shown: str, reply: PlaygroundReply) -> None:
        """The status line after an answer: nothing, stopped, or that it did not answer."""
        if reply.stopped:
            kept = "what came is kept above" if reply.text else "nothing had come yet"
            self._say(f"Stopped {shown}'s answer: {kept}.")
        elif not reply.ok:
            self._say(f"{shown} did not answer: see above.", error=True)
        else:
            self._say("")

    def _finished(self, pane: AnswerPane, reply: PlaygroundReply) -> None:
        names = self._names()
        title = served_as(reply, names)
        pane.finish(reply, title, names)
        if reply.ok:
            self.transcript.note_answer(title, reply.text)
        self._mark_failing()  # this answer may have changed what fails

    def _enable(self) -> None:
        streaming = self._stop is not None
        # Send becomes Stop while an answer streams (an embedding is quick: Send waits).
        # With nothing that can answer, Send is grey and says why (a send would be refused).
        idle = not self._busy and not self._unanswered
        self.send_button.setEnabled(idle or streaming)
        if streaming != (self.send_button.property("stopping") is True):
            self.send_button.setProperty("stopping", streaming)
            self.send_button.setText("&Stop" if streaming else "&Send")
            self.send_button.setIcon(glyph("stop" if streaming else "play", ON_ACCENT))
        if streaming:
            self.send_button.setToolTip("Stop the answer where it is (Esc)")
        else:
            self.send_button.setToolTip(self._unanswered or "Send (Enter)")
        self.embed_button.setEnabled(idle)
        self.embed_button.setToolTip(self._unanswered or EMBED_TIP)
        self.compare_button.setEnabled(
            not self._busy and self.answer.reply is not None and bool(self._asked)
        )

    def _say(self, text: str, *, error: bool = False, tip: str = "", tone: str = "") -> None:
        set_tone(self.status, "error" if error else tone)
        self.status.setText(text)
        self.status.setToolTip(tip)
        self.status.setVisible(bool(text))  # an empty line would sit between answers and box

    def _names(self) -> ProviderNames:
        return ProviderNames.of(self.engine)

    # -- the recorder row -----------------------------------------------------------------

    def open_row(self, pane: AnswerPane) -> None:
        """Show the answer's recorder row in the Flight recorder."""
        reply = pane.reply
        found = other_page(self, RecorderPage.KEY, RecorderPage)
        if reply is None or reply.record_id is None or found is None:
            return  # a page shown on its own (tests) has no recorder to open
        navigator, recorder = found
        recorder.show_request(reply.record_id)
        navigator.show_page(RecorderPage.KEY)
