"""One model's answer in the Playground's chat: who answered, the text as it streams (Markdown,
code blocks with Copy), and one line of figures read back from its recorder row (tokens, cache
use, cost, time to first token, total time) beside "Open in recorder" and "Copy"."""

from __future__ import annotations

from llmgw_desktop.engine.api import ErrorCode, PlaygroundReply
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.glyphs import glyph
from llmgw_desktop.ui.kit.markdown_view import MarkdownView
from llmgw_desktop.ui.pages.recorder_words import row_timing, short_cost
from llmgw_desktop.ui.provider_names import ProviderNames
from llmgw_desktop.ui.qt import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.theme import set_tone

__all__ = ["AnswerPane", "describe_reply", "model_id_tip", "served_as"]

NBSP = "\u00a0"


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


def model_id_tip(model: str) -> str:
    """A model's name's tooltip: the id the gateway takes for it (what a client sends)."""
    return f"Model id: {model}" if model else ""


def describe_reply(reply: PlaygroundReply, names: ProviderNames | None = None) -> str:
    """The figures under an answer, on one line as its recorder row has them: `Tokens in 12 ·
    out 7 · cache read 200 (64% of the prompt) · written 100 · $0.000576 · first token 2 ms ·
    total 4 ms`, led by the row's state when it did not complete; it wraps between figures."""
    row = reply.record or {}
    if not row:
        return "No recorder row." if reply.record_id is None else f"Recorder row {reply.record_id}"
    fresh, read = int(row.get("input_tokens") or 0), int(row.get("cache_read_tokens") or 0)
    write = int(row.get("cache_write_tokens") or 0)
    prompt = fresh + read + write
    # The share beside what it is a share of (by its place it read as the write's).
    share = f" ({read / prompt:.0%} of the prompt)" if prompt and read else ""
    cache = f"cache read {read:,}{share} · written {write:,}"
    if not read and not write:
        cache = "no cache used"
    cost = short_cost(row)
    timing = row_timing(row)
    state = str(row.get("state") or "")
    lead = "" if state == "completed" else f"{state.capitalize()} · "
    tokens = f"Tokens in {fresh:,} · out {int(row.get('output_tokens') or 0):,}"
    # A figure and its unit stay on one line: the line wraps between figures only, after
    # the dot that parts them (a line never starts with "· total 2 ms").
    parts = f"{lead}{tokens} · {cache} · {cost} · {timing}".split(" · ")
    return f"{NBSP}· ".join(part.replace(" ", NBSP) for part in parts)


class AnswerPane(QWidget):
    """One model's answer: its heading, the text as it streams, its figures and actions."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.title = QLabel()
        self.title.setObjectName(f"{name}Title")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = MarkdownView()
        self.text.setObjectName(f"{name}Text")
        self.text.setAccessibleName("The answer")
        self.error = QLabel()
        self.error.setObjectName(f"{name}Error")
        self.error.setWordWrap(True)
        set_tone(self.error, "error")
        self.error.setVisible(False)
        self.figures = QLabel()
        self.figures.setObjectName(f"{name}Figures")
        self.figures.setWordWrap(True)
        self.figures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_tone(self.figures, "muted")
        self.open_button = _small_button("Open in recorder", "open")
        self.open_button.setObjectName(f"{name}OpenRecorder")
        self.open_button.setToolTip("Show this answer's request in the Flight recorder")
        self.copy_button = _small_button("Copy", "copy")
        self.copy_button.setObjectName(f"{name}Copy")
        self.copy_button.setToolTip("Copy the whole answer as it was written (Markdown)")
        self.copy_button.clicked.connect(self.copy)
        # The buttons under the figures, not beside them: two answers side by side at 1024 px
        # must fit their halves (beside, they pushed the second answer past the window).
        actions = QHBoxLayout()
        actions.setSpacing(SPACE["xs"])
        actions.addWidget(self.copy_button)
        actions.addWidget(self.open_button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACE["xs"])
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.error)
        layout.addWidget(self.figures)
        layout.addLayout(actions)
        self.reply: PlaygroundReply | None = None
        self._enable_actions()

    def begin(self, model: str) -> None:
        """Show that `model` is answering; its text streams in through `add_text`."""
        self.reply = None
        self.title.setText(f"{model} · answering…" if model else "")
        self.text.clear()
        self.figures.clear()
        self.error.clear()
        self.error.setVisible(False)
        self._enable_actions()

    def add_text(self, piece: str) -> None:
        self.text.append(piece)

    def finish(self, reply: PlaygroundReply, title: str, names: ProviderNames) -> None:
        """Show the finished `reply` under `title`, with its recorder row's figures."""
        self.reply = reply
        self.title.setText(title)
        self.title.setToolTip(model_id_tip(str((reply.record or {}).get("model") or reply.model)))
        if not self.text.toPlainText() and reply.text:
            self.text.setPlainText(reply.text)
        if reply.stopped:
            # Not a failure: the person stopped it; the row says so (canceled).
            set_tone(self.error, "muted")
            self.error.setText("Stopped here: you stopped the answer.")
            self.error.setVisible(True)
        elif reply.error is not None and reply.error_code == ErrorCode.CANCELED:
            # Cancelled elsewhere (the Jobs page, a client): no failure, and its words say it
            # ("No answer: the job was canceled (...) (canceled)" said it twice, in red).
            set_tone(self.error, "muted")
            self.error.setText(f"Stopped: {reply.error}")
            self.error.setVisible(True)
        elif reply.error is not None:
            set_tone(self.error, "error")
            code = f" ({reply.error_code})" if reply.error_code else ""
            self.error.setText(f"No answer: {reply.error}{code}")
            self.error.setVisible(True)
        self.figures.setText(describe_reply(reply, names))
        self.figures.setToolTip(
            f"{served_as(reply, names)} · {(reply.record or {}).get('state', '')}"
        )
        self._enable_actions()

    def copy(self) -> None:
        clipboard = QApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.text.toPlainText())

    def _enable_actions(self) -> None:
        done = self.reply is not None
        self.open_button.setVisible(done)
        self.open_button.setEnabled(
            done and self.reply is not None and self.reply.record_id is not None
        )
        self.copy_button.setVisible(done and bool(self.text.toPlainText()))


def _small_button(text: str, icon: str) -> QPushButton:
    button = QPushButton(text)
    button.setIcon(glyph(icon))
    button.setFlat(True)
    return button
