"""The Connect page's "a token for a script or SDK" box, on a gateway locked by OAuth alone.

SDKs and scripts have no browser to sign in with. Naming the app and pressing Issue makes it a
client of the app's own with one grant (`OAuthServer.issue_for_desk`, revoked in Clients like
any other) and shows the SDK snippets with the token, to copy. The token is shown once; the
store keeps only its hash.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine, EngineError, OAuthError
from llmgw_desktop.ui.connect import Snippet, sdk_snippets
from llmgw_desktop.ui.qt import (
    QFontDatabase,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
)
from llmgw_desktop.ui.tasks import UiTasks

__all__ = ["IssueTokenBox"]


class IssueTokenBox(QGroupBox):
    """A name, a button, and once pressed the SDK snippets with the issued token; `copy(s)`
    is how a snippet is copied (the page's, so its notice says so)."""

    def __init__(
        self,
        engine: Engine,
        base_url: str,
        tasks: UiTasks,
        copy: Callable[[Snippet], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("A token for a script or SDK (OAuth)", parent)
        self.setObjectName("issueToken")
        self._engine, self._base_url, self._tasks, self._copy = engine, base_url, tasks, copy
        note = QLabel(
            "SDKs and scripts have no browser to sign in with. Name the app and issue it a "
            "token: it gets a client of its own (desk-<name>) and one grant, scope mcp, listed "
            "under Clients → Access, where Revoke ends it. The token is shown here once."
        )
        note.setWordWrap(True)
        self.app_name = QLineEdit()
        self.app_name.setObjectName("issueAppName")
        self.app_name.setPlaceholderText("the app's name, e.g. nightly-report")
        self.issue_button = QPushButton("&Issue a token for this app")
        self.issue_button.setObjectName("issueTokenButton")
        self.issue_button.clicked.connect(self.issue_token)
        self.app_name.returnPressed.connect(self.issue_token)
        self.issue_notice = QLabel()
        self.issue_notice.setObjectName("issueNotice")
        self.issue_notice.setWordWrap(True)
        self.issued_view = QLabel()
        self.issued_view.setObjectName("issuedSnippet")
        self.issued_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.issued_view.setTextFormat(Qt.TextFormat.PlainText)
        self.issued_view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.issued_view.hide()
        self.issued_snippets: list[Snippet] = []
        self.issued_copy_buttons: dict[str, QPushButton] = {}
        self.issued_buttons = QHBoxLayout()
        row = QHBoxLayout()
        row.addWidget(self.app_name, 1)
        row.addWidget(self.issue_button)
        column = QVBoxLayout(self)
        column.addWidget(note)
        column.addLayout(row)
        column.addWidget(self.issue_notice)
        column.addWidget(self.issued_view)
        column.addLayout(self.issued_buttons)

    def issue_token(self) -> None:
        """Issue a token for the named app (on the engine's loop); the snippets follow."""
        self.issue_button.setEnabled(False)
        if not self._tasks.spawn(self._issue(self.app_name.text()), what="issue a token"):
            self.issue_button.setEnabled(True)

    async def _issue(self, name: str) -> None:
        oauth = self._engine.oauth
        try:
            if oauth is None:
                raise OAuthError("invalid_request", "OAuth is off")
            issued = await oauth.issue_for_desk(LOCAL_CALLER, name)
        except (OAuthError, EngineError) as error:
            self.issue_notice.setText(f"No token issued: {_reason(error)}")
            return
        finally:
            self.issue_button.setEnabled(True)
        self.issued_snippets = sdk_snippets(self._base_url, token=issued.access_token)
        shown = next(s for s in self.issued_snippets if s.client == "OpenAI SDK (Python)")
        self.issued_view.setText(shown.text)
        self.issued_view.show()
        while self.issued_buttons.count():
            item = self.issued_buttons.takeAt(0)
            old = None if item is None else item.widget()
            if old is not None:
                old.deleteLater()
        self.issued_copy_buttons.clear()
        for snippet in self.issued_snippets:
            button = QPushButton(f"Copy {snippet.client}")
            button.setObjectName(f"copyIssued:{snippet.client}")
            button.clicked.connect(lambda _=False, s=snippet: self._copy(s))
            self.issued_copy_buttons[snippet.client] = button
        for client in ("OpenAI SDK (Python)", "OpenAI SDK (environment)", "curl"):
            self.issued_buttons.addWidget(self.issued_copy_buttons[client])
        self.issued_buttons.addStretch(1)
        self.issue_notice.setText(
            f"Issued a token for {issued.client_id} (scope {' '.join(issued.scopes)}), valid "
            f"until {_date(issued.expires_at)}. Copy it now: it is not shown again. Revoke it "
            "under Clients → Access."
        )


def _reason(error: Exception) -> str:
    return str(getattr(error, "description", "") or getattr(error, "message", "") or error)


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
