"""The Access keys page's dialogs: a new key's fields, and the secret shown once.

The new-key dialog only reads what the person typed into a `KeySpec`; the engine checks it
(`KeySpec.checked`) and its refusal is shown in the dialog, which stays open to fix it. The
secret dialog is the only place the secret ever appears: a Copy button for the key, then "Copy
setup for [tool]": a ready-to-paste snippet for each SDK and editor with the key filled in
(`connect.key_snippets`, and the MCP set-ups of `connect.snippets` with the key as their
bearer), and a button that carries the key on the Connect page while the window is open.
"""

from __future__ import annotations

import time
from typing import TypeVar

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine, EngineError, KeyScope, KeySpec, MadeKey
from llmgw_desktop.ui.connect import key_snippets, snippets
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFontDatabase,
    QFormLayout,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.typed_number import typed_number

__all__ = ["NewKeyDialog", "SecretDialog", "answer_row", "fit_hints", "named", "split_list"]

DAY_S = 86400.0

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, **props: object) -> W:
    """`widget` with an object name (tests and the keyboard check find it by it) and Qt
    properties set by name (`placeholderText`, `wordWrap`, `readOnly`)."""
    widget.setObjectName(name)
    for prop, value in props.items():
        widget.setProperty(prop, value)
    return widget


def answer_row(
    dialog: QDialog, cancel_name: str, act: QPushButton
) -> tuple[QPushButton, QHBoxLayout]:
    """A dialog's Cancel (named `cancel_name`; it rejects `dialog`) and `act`, its default, at
    the right in the app's order: the safe choice on the left."""
    cancel = named(QPushButton("Cancel"), cancel_name)
    cancel.clicked.connect(dialog.reject)
    act.setDefault(True)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(cancel)
    row.addWidget(act)
    return cancel, row


def split_list(text: str) -> list[str]:
    """Entries typed as `a, b c`: commas or spaces between them."""
    return [part for part in text.replace(",", " ").split() if part]


class NewKeyDialog(QDialog):
    """Name, scope (and the caller name route pins know it by), budget, rate limit and expiry
    of a new key; `spec()` reads them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("llmgw-desktop: new gateway key")
        self.setObjectName("newKeyDialog")
        self.name = named(QLineEdit(), "keyName", placeholderText="ci-bot")
        self.models = named(
            QLineEdit(), "keyModels", placeholderText="any model (e.g. gpt-4o-mini, claude-*)"
        )
        self.providers = named(QLineEdit(), "keyProviders", placeholderText="any provider")
        self.projects = named(QLineEdit(), "keyProjects", placeholderText="none")
        self.tools = named(QLineEdit(), "keyTools", placeholderText="any MCP tool")
        # The name the routes' `pin` tables know it by (what its client says never pins it).
        self.caller = named(
            QLineEdit(), "keyCaller", placeholderText="none (no caller pin applies)"
        )
        self.budget = named(QLineEdit(), "keyBudget", placeholderText="no budget")
        self.period = named(QComboBox(), "keyPeriod")
        self.period.addItems(["monthly", "daily"])
        self.rate = named(QLineEdit(), "keyRate", placeholderText="the gateway's limit")
        self.expires = named(QLineEdit(), "keyExpires", placeholderText="never")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Models", self.models)
        form.addRow("Providers", self.providers)
        form.addRow("Projects", self.projects)
        form.addRow("MCP tools", self.tools)
        form.addRow("Caller (for pins)", self.caller)
        budget_row = QHBoxLayout()
        budget_row.addWidget(self.budget, 1)
        budget_row.addWidget(self.period)
        form.addRow("Budget (USD)", budget_row)
        form.addRow("Requests a minute", self.rate)
        form.addRow("Expires in (days)", self.expires)
        self.problem = named(QLabel(), "keyProblem", wordWrap=True)
        self.problem.hide()
        # Shown only when the engine refuses a name an earlier key held: ticking it is the
        # operator saying the new key is that holder's (their sessions, history and spend).
        self.continues = named(
            QCheckBox("Same holder: this key continues the earlier key's identity"),
            "keyContinues",
        )
        self.continues.hide()
        # The choice was about the name it was offered for: another name asks again.
        self.name.textChanged.connect(self._name_changed)
        self.create_button = named(QPushButton("Create"), "createKey")
        self.cancel_button, buttons = answer_row(self, "cancelKey", self.create_button)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.problem)
        column.addWidget(self.continues)
        column.addLayout(buttons)
        fit_hints(self)

    async def make(self, engine: Engine) -> MadeKey | None:
        """Make the key this dialog describes and close it; a refusal stays here to be fixed
        (None)."""
        try:
            made = await engine.keys.create(LOCAL_CALLER, self.spec())
        except (EngineError, ValueError) as exc:
            details = getattr(exc, "details", {})
            self.show_problem(
                getattr(exc, "message", str(exc)), identity=details.get("identity", "")
            )
            return None
        self.accept()
        return made

    def spec(self) -> KeySpec:
        """The key the fields describe (the engine checks the values).

        Raises:
            ValueError: a number field does not hold a number (the message names it).
        """
        rate = _number(self.rate, "Requests a minute", whole=True)
        return KeySpec(
            name=self.name.text(),
            scope=KeyScope.of(
                models=split_list(self.models.text()),
                providers=split_list(self.providers.text()),
                projects=split_list(self.projects.text()),
                tools=split_list(self.tools.text()),
                caller=self.caller.text(),
            ),
            budget_usd=_number(self.budget, "Budget"),
            budget_period=self.period.currentText(),
            per_minute=None if rate is None else int(rate),
            expires_at=_expiry(self.expires),
            continues_identity=not self.continues.isHidden() and self.continues.isChecked(),
        )

    def _name_changed(self) -> None:
        self.continues.setChecked(False)
        self.continues.hide()

    def show_problem(self, text: str, *, identity: str = "") -> None:
        """The engine's refusal; `identity` names the earlier key's principal the name would
        continue (the refusal's details), offered as a choice beside it."""
        self.problem.setText(text)
        self.problem.show()
        if identity:
            self.continues.setText(
                f"Same holder: continue {identity} (its sessions, jobs, history, cached "
                "answers and budget spend)"
            )
            self.continues.show()


def fit_hints(dialog: QDialog) -> None:
    """Each line field of `dialog` at least as wide as its hint: the dialog opens wide enough
    to show each whole (the new-key dialog cut its Models hint, the MCP server dialog its
    Arguments hint, at their natural widths)."""
    for edit in dialog.findChildren(QLineEdit):
        frame = edit.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, edit)
        hint = edit.fontMetrics().horizontalAdvance(edit.placeholderText())
        edit.setMinimumWidth(hint + 2 * frame + 4 + 2)  # QLineEdit's 2 px a side, and a cursor


def _number(field: QLineEdit, label: str, *, whole: bool = False) -> float | None:
    value = typed_number(field.text(), label, whole=whole)
    return None if value is None else float(value)


def _expiry(field: QLineEdit) -> float | None:
    days = _number(field, "Expires in (days)")
    return None if days is None else time.time() + days * DAY_S


class SecretDialog(QDialog):
    """The new key, shown this once, with a Copy button, then "Copy setup for [tool]" with the
    key filled in, and a way to carry it on the Connect page while the secret is known."""

    def __init__(
        self, made: MadeKey, base_url: str, parent: QWidget | None = None, *, mcp_url: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"llmgw-desktop: key {made.record.name}")
        self.setObjectName("keySecretDialog")
        self.made = made
        self.snippets = key_snippets(base_url, made.secret)
        if mcp_url:  # the editors' MCP set-ups, the key as their bearer
            self.snippets += [
                s for s in snippets(mcp_url, token=made.secret) if made.secret in s.text
            ]
        note = named(
            QLabel(
                f"The key {made.record.name}. It is shown this once: the gateway keeps "
                "only its hash. Copy it now, or copy a tool's setup with it filled in."
            ),
            "",
            wordWrap=True,
        )
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.secret = named(QLineEdit(made.secret), "keySecret", readOnly=True)
        self.secret.setFont(fixed)
        self.copy_key = named(QPushButton("Copy key"), "copyKey")
        self.copy_key.clicked.connect(lambda: self._copy(made.secret))
        key_row = QHBoxLayout()
        key_row.addWidget(self.secret, 1)
        key_row.addWidget(self.copy_key)
        self.client = named(QComboBox(), "snippetClient")
        self.client.setAccessibleName("Copy setup for")
        self.client.addItems([s.client for s in self.snippets])
        self.snippet = named(QPlainTextEdit(), "keySnippet", readOnly=True)
        self.snippet.setFont(fixed)
        self.snippet.setTabChangesFocus(True)
        self.snippet.setMinimumHeight(self.snippet.fontMetrics().lineSpacing() * 7)
        self.copy_snippet = action_button("Copy setup", "copySnippet", icon="copy", primary=True)
        self.copy_snippet.clicked.connect(lambda: self._copy(self.snippet.toPlainText()))
        self.client.currentIndexChanged.connect(self._show_snippet)
        self._show_snippet(0)
        self.connect_button = action_button(
            "Show every setup on Connect",
            "keyOnConnect",
            icon="connect",
            tip="The Connect page's snippets, carrying this key while the window is open",
        )
        self.close_button = named(QPushButton("Close"), "closeSecret")
        # Enter copies the key and never closes: the key is shown this once, and closing
        # throws it away. Close is pressed on purpose (click, or Space on it).
        for button in (self.close_button, self.connect_button, self.copy_snippet):
            button.setAutoDefault(False)
        self.copy_key.setDefault(True)
        self.close_button.clicked.connect(self.accept)
        snippet_row = QHBoxLayout()
        snippet_row.addWidget(QLabel("Copy setup for"))
        snippet_row.addWidget(self.client, 1)
        snippet_row.addWidget(self.copy_snippet)
        closing = QHBoxLayout()
        closing.addWidget(self.connect_button)
        closing.addStretch(1)
        closing.addWidget(self.close_button)
        self.copied = named(QLabel(), "keyCopied")
        column = QVBoxLayout(self)
        column.addWidget(note)
        column.addLayout(key_row)
        column.addLayout(snippet_row)
        column.addWidget(self.snippet, 1)
        column.addWidget(self.copied)
        column.addLayout(closing)
        self.resize(640, self.sizeHint().height())

    def _show_snippet(self, index: int) -> None:
        shown = self.snippets[max(0, index)]
        self.snippet.setPlainText(shown.text)
        self.snippet.setToolTip(f"Paste it into {shown.where}")

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        what = "the key" if text == self.made.secret else f"the {self.client.currentText()} setup"
        self.copied.setText(f"Copied {what}.")
