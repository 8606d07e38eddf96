"""The Connect page's "Authenticate as" choice: the snippets carry a gateway key (a tool's own
principal, scope and budget: the default), or, chosen explicitly, the gateway's static token
(the master token), or nothing on an open gateway.

A key's secret is shown once (the store keeps only its hash), so the page cannot look one up:
it is either pasted here by the person who kept it, or made here (*New key…*, the Access keys page's
own dialog), when the secret is known. Either way it is held only while the window is open,
never written anywhere, and shown masked like the static token.
"""

from __future__ import annotations

from llmgw_desktop.engine.api import KEY_PREFIX, Engine, MadeKey
from llmgw_desktop.ui.design import SPACE
from llmgw_desktop.ui.kit.page_head import action_button
from llmgw_desktop.ui.pages.key_dialogs import NewKeyDialog
from llmgw_desktop.ui.qt import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
    Signal,
)
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["AS_KEY", "AS_NONE", "AS_TOKEN", "MASTER_TOKEN_WORDS", "AuthChoice"]

AS_TOKEN = "token"  # noqa: S105 - the name of a choice, not a secret
AS_KEY = "key"
AS_NONE = "none"
MASTER_TOKEN_WORDS = "The master token (full access, shared by every tool)"  # noqa: S105 - words


class AuthChoice(QWidget):
    """[Authenticate as ▾] [the key, when a key] [New key…]; `changed(kind, secret)` when the
    snippets should carry something else ("" secret: the static token, or nothing)."""

    changed = Signal(str, str)

    def __init__(
        self,
        engine: Engine,
        *,
        static_token: bool,
        none_words: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("authChoice")
        self._engine = engine
        self._tasks = UiTasks(on_error=self._say_error)
        self.dialog: NewKeyDialog | None = None
        self.key_name = ""  # the key the secret is of, when made or chosen here
        self.kind = QComboBox()
        self.kind.setObjectName("authenticateAs")
        self.kind.setAccessibleName("Authenticate as")
        # The safe choice first: a key of the tool's own. The master token (everything the
        # operator may do, shared by every tool given it) only when chosen, and said so.
        key = ("A new gateway key for this tool (safer)", AS_KEY)
        choices = (
            [key, (MASTER_TOKEN_WORDS, AS_TOKEN)] if static_token else [(none_words, AS_NONE), key]
        )
        for words, value in choices:
            self.kind.addItem(words, value)
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("connectKey")
        self.key_edit.setPlaceholderText("paste a key (llmgw-…)")  # read whole at 1024 px
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("Gateway key")
        self.new_key = action_button(
            "New key…", "connectNewKey", icon="add", tip="Make a gateway key and use it here"
        )
        self.new_key.clicked.connect(self.open_new_key)
        self.note = QLabel()
        self.note.setObjectName("authNote")
        self.note.setWordWrap(True)
        set_tone(self.note, "muted")
        row = QHBoxLayout()
        row.setSpacing(SPACE["s"])
        row.addWidget(QLabel("Authenticate as"))
        self.kind.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        row.addWidget(self.kind)
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.new_key)
        row.addStretch(0)  # with no key field, the choice keeps its own width
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(SPACE["xs"])
        column.addLayout(row)
        column.addWidget(self.note)
        self.kind.currentIndexChanged.connect(lambda _index: self._announce())
        self.key_edit.textChanged.connect(lambda _text: self._announce())
        self._announce()

    @property
    def chosen(self) -> str:
        return str(self.kind.currentData())

    def choose(self, kind: str) -> None:
        """Make the snippets carry `kind` (AS_TOKEN, AS_KEY, AS_NONE), as choosing it does."""
        self.kind.setCurrentIndex(self.kind.findData(kind))

    def use_key(self, name: str, secret: str) -> None:
        """Make the snippets carry key `name` (its secret known now: just made or rotated)."""
        self.key_name = name
        self.kind.setCurrentIndex(self.kind.findData(AS_KEY))
        self.key_edit.setText(secret)

    def _announce(self) -> None:
        as_key = self.chosen == AS_KEY
        self.key_edit.setVisible(as_key)
        self.new_key.setVisible(as_key)
        secret = self.key_edit.text().strip() if as_key else ""
        if as_key and not secret:
            self.note.setText(
                "A key's secret is shown once, when it is made: paste one you kept, or make one "
                "here. It is held only while this window is open."
            )
        elif as_key and not secret.startswith(KEY_PREFIX):
            self.note.setText(f"That does not look like a gateway key (they start {KEY_PREFIX}).")
        elif as_key:
            named = f"key:{self.key_name}" if self.key_name else "the key"
            self.note.setText(
                f"The snippets carry {named}: its calls count on its own budget and are "
                "recorded under its name. Held only while this window is open."
            )
        elif self.chosen == AS_TOKEN:
            self.note.setText(
                "The snippets carry the master token: a tool given it can do everything you can "
                "here, and its calls are not told apart from any other's. A gateway key is safer."
            )
        else:
            self.note.setText("")
        set_tone(self.note, "warning" if self.chosen == AS_TOKEN else "muted")
        self.note.setVisible(bool(self.note.text()))
        self.changed.emit(self.chosen, secret if secret.startswith(KEY_PREFIX) else "")

    def open_new_key(self) -> NewKeyDialog:
        """The Access keys page's new-key dialog; the key made is used here at once."""
        dialog = NewKeyDialog(self)
        dialog.create_button.clicked.connect(
            lambda: self._tasks.spawn(self.make_key(dialog), what="make the key")
        )
        self.dialog = dialog
        dialog.open()
        return dialog

    async def make_key(self, dialog: NewKeyDialog) -> MadeKey | None:
        """Make the key the dialog describes and use it; a refusal stays in the dialog."""
        made = await dialog.make(self._engine)
        if made is not None:
            self.use_key(made.record.name, made.secret)
        return made

    def _say_error(self, message: str) -> None:
        self.note.setText(message)
        self.note.show()
