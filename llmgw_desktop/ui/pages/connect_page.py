"""Connect: the exact snippets that point an editor, agent or SDK at this gateway.

The snippets come from `connect.py`, the same place as the tray's copy-setup menu and the
README's examples, built from the live endpoint, so what is copied here works against the
running gateway.

With a bearer lock on, every snippet that can carry a header carries `Authorization: Bearer`.
The person at the desk is the gateway's operator, so the static token is theirs to copy, but
only on purpose: the screen shows it masked, Copy puts `YOUR_GATEWAY_TOKEN` in its place (safe
to paste into a chat or a ticket), and only "Copy with token" or "Copy token" copy the token.
With OAuth and no static token, the editors sign in through the browser and the SDK snippets
name the access token they need; "Issue a token for this app" makes one (a client of the app's
own with one grant, `OAuthServer.issue_for_desk`, revoked in Clients like any other) and shows
the SDK snippets with it, to copy. The token is shown once; the store keeps only its hash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from llmgw_desktop.engine.api import LOCAL_CALLER, AuthService, EngineError, OAuthError
from llmgw_desktop.ui.access_panel import describe_front_door
from llmgw_desktop.ui.connect import (
    TOKEN_PLACEHOLDER,
    Snippet,
    acp_snippets,
    editors_send_token,
    mask_token,
    sdk_snippets,
    snippets,
)
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.qt import (
    QFontDatabase,
    QGroupBox,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ConnectPage", "ShownSnippet", "base_url_of"]


def base_url_of(mcp_url: str, mcp_path: str) -> str:
    """The gateway's root URL (what the SDKs take) from the MCP endpoint and its path."""
    return mcp_url.removesuffix(mcp_path)


@dataclass(frozen=True)
class ShownSnippet:
    """One snippet three ways: on screen, copied, and copied with the real token (or None
    where the snippet carries no token, or there is no static token to put in it)."""

    shown: Snippet
    copied: Snippet
    with_token: Snippet | None


def _three_ways(
    make: Callable[[str | None], list[Snippet]], lock: bool, token: str
) -> list[ShownSnippet]:
    """The snippets `make(token)` gives, on screen (masked), copied (placeholder) and with
    the token, for a gateway locked or not."""
    if not lock:
        return [ShownSnippet(s, s, None) for s in make(None)]
    copied = make(TOKEN_PLACEHOLDER)
    if not token:  # OAuth only: the access token is the client's to get
        return [ShownSnippet(s, s, None) for s in copied]
    return [
        ShownSnippet(shown, copy, full if TOKEN_PLACEHOLDER in copy.text else None)
        for shown, copy, full in zip(make(mask_token(token)), copied, make(token), strict=True)
    ]


def _mcp_note(auth: AuthService, token: str) -> str:
    """What an MCP client needs besides the endpoint, given how this gateway authenticates."""
    if not auth.configured:
        return ""
    if auth.oauth is not None and not token:
        return (
            "Clients that sign in with MCP OAuth (Claude Code, VS Code, Cursor, Codex) open the "
            "browser the first time, so their snippets carry no token."
        )
    return (
        "The HTTP snippets send the static bearer token (Authorization: Bearer), shown masked. "
        f"Copy puts {TOKEN_PLACEHOLDER} in its place; Copy with token copies the real one."
    )


def _sdk_note(auth: AuthService, token: str) -> str:
    if not auth.configured:
        return (
            "Any key works: the gateway is open to programs on this machine and sends its own "
            "keys upstream."
        )
    if not token:
        return (
            f"Replace {TOKEN_PLACEHOLDER} with an access token from the gateway's OAuth server: "
            "Issue a token for this app (above) makes one and fills it in."
        )
    return (
        "Each sends the static bearer token as Authorization: Bearer (an OAuth access token "
        "works too)."
    )


class ConnectPage(Page):
    KEY = "connect"
    TITLE = "Connect"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        endpoint = context.facts.endpoint
        auth = self.engine.auth
        # The operator's own token: the desk may show (masked) and copy it, never log it.
        self._token = self.engine.settings.http.auth_token
        lock = auth.configured
        self.base_url = base_url_of(endpoint, self.engine.settings.http.path)
        editors_lock = editors_send_token(
            locked=lock, oauth=auth.oauth is not None, static_token=bool(self._token)
        )
        self.editors = _three_ways(lambda t: snippets(endpoint, token=t), editors_lock, self._token)
        self.sdks = _three_ways(lambda t: sdk_snippets(self.base_url, token=t), lock, self._token)
        self.copy_buttons: dict[str, QPushButton] = {}
        self.copy_with_token_buttons: dict[str, QPushButton] = {}

        intro = QLabel(
            f"MCP endpoint: <b>{endpoint}</b><br>Gateway base URL: <b>{self.base_url}</b><br>"
            f"{describe_front_door(auth)}"
        )
        intro.setObjectName("connectIntro")
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copied_label = QLabel()
        self.copied_label.setObjectName("copiedNotice")

        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(intro)
        self.copy_token_button: QPushButton | None = None
        if self._token:
            column.addLayout(self._token_row())
        self.issue_box: QGroupBox | None = None
        self.issued_snippets: list[Snippet] = []
        self.issued_copy_buttons: dict[str, QPushButton] = {}
        if lock and auth.oauth is not None and not self._token:
            column.addWidget(self._issue_section())
        column.addWidget(
            self._section("Editors and agents (MCP)", self.editors, _mcp_note(auth, self._token))
        )
        column.addWidget(self._acp_section())
        column.addWidget(
            self._section(
                "SDKs and curl (OpenAI, Anthropic, Gemini)",
                self.sdks,
                _sdk_note(auth, self._token),
            )
        )
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)

        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.copied_label)

    @property
    def editor_snippets(self) -> list[Snippet]:
        """The editor snippets as Copy copies them."""
        return [s.copied for s in self.editors]

    @property
    def sdk_snippets(self) -> list[Snippet]:
        """The SDK snippets as Copy copies them."""
        return [s.copied for s in self.sdks]

    def _token_row(self) -> QHBoxLayout:
        label = QLabel(f"The token, masked: <b>{mask_token(self._token)}</b>")
        label.setObjectName("maskedToken")
        button = QPushButton("Copy token")
        button.setObjectName("copyToken")
        button.setToolTip("Copy the gateway's static bearer token to the clipboard")
        button.clicked.connect(self.copy_token)
        self.copy_token_button = button
        row = QHBoxLayout()
        row.addWidget(label, 1)
        row.addWidget(button)
        return row

    def _issue_section(self) -> QGroupBox:
        """A name, a button, and once pressed the SDK snippets with the issued token."""
        box = QGroupBox("A token for a script or SDK (OAuth)")
        box.setObjectName("issueToken")
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
        self.issued_buttons = QHBoxLayout()
        row = QHBoxLayout()
        row.addWidget(self.app_name, 1)
        row.addWidget(self.issue_button)
        column = QVBoxLayout(box)
        column.addWidget(note)
        column.addLayout(row)
        column.addWidget(self.issue_notice)
        column.addWidget(self.issued_view)
        column.addLayout(self.issued_buttons)
        self.issue_box = box
        return box

    def issue_token(self) -> None:
        """Issue a token for the named app (on the engine's loop); the snippets follow."""
        self.issue_button.setEnabled(False)
        if not self.tasks.spawn(self._issue(self.app_name.text()), what="issue a token"):
            self.issue_button.setEnabled(True)

    async def _issue(self, name: str) -> None:
        oauth = self.engine.oauth
        try:
            if oauth is None:
                raise OAuthError("invalid_request", "OAuth is off")
            issued = await oauth.issue_for_desk(LOCAL_CALLER, name)
        except (OAuthError, EngineError) as error:
            self.issue_notice.setText(f"No token issued: {_reason(error)}")
            return
        finally:
            self.issue_button.setEnabled(True)
        self.issued_snippets = sdk_snippets(self.base_url, token=issued.access_token)
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
            button.clicked.connect(lambda _=False, s=snippet: self.copy(s, with_token=True))
            self.issued_copy_buttons[snippet.client] = button
        for client in ("OpenAI SDK (Python)", "OpenAI SDK (environment)", "curl"):
            self.issued_buttons.addWidget(self.issued_copy_buttons[client])
        self.issued_buttons.addStretch(1)
        self.issue_notice.setText(
            f"Issued a token for {issued.client_id} (scope {' '.join(issued.scopes)}), valid "
            f"until {_date(issued.expires_at)}. Copy it now: it is not shown again. Revoke it "
            "under Clients → Access."
        )

    def _acp_section(self) -> QGroupBox:
        """Editors' agent panels over ACP: `llmgw-desktop acp` needs no token (it proves the
        local user as the stdio relay does)."""
        self.acp_snippets = acp_snippets()
        return self._section(
            "Editors' agent panels (ACP)",
            [ShownSnippet(s, s, None) for s in self.acp_snippets],
            "Zed, JetBrains and Neovim launch the gateway as their agent; every turn is "
            "recorded under the editor's name. More in docs/ACP.md.",
        )

    def _section(self, title: str, items: list[ShownSnippet], note: str) -> QGroupBox:
        box = QGroupBox(title)
        column = QVBoxLayout(box)
        if note:
            hint = QLabel(note)
            hint.setWordWrap(True)
            column.addWidget(hint)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        # One width for every button, so the snippets line up whichever buttons they have.
        width = QPushButton("Copy with token").sizeHint().width()
        for item in items:
            snippet = item.shown
            heading = QLabel(f"<b>{snippet.client}</b> · {snippet.where}")
            text = QLabel(snippet.text)
            text.setObjectName(f"snippet:{snippet.client}")
            text.setFont(mono)
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setWordWrap(True)
            buttons = QVBoxLayout()
            copy = QPushButton("Copy")
            copy.setObjectName(f"copy:{snippet.client}")
            copy.setToolTip(
                f"Copy the {snippet.client} snippet"
                + (f" with {TOKEN_PLACEHOLDER} for the token" if item.with_token else "")
            )
            copy.setFixedWidth(width)
            copy.clicked.connect(lambda _=False, s=item.copied: self.copy(s))
            self.copy_buttons[snippet.client] = copy
            buttons.addWidget(copy)
            if item.with_token is not None:
                full = QPushButton("Copy with token")
                full.setObjectName(f"copyWithToken:{snippet.client}")
                full.setToolTip(f"Copy the {snippet.client} snippet with the real token in it")
                full.setFixedWidth(width)
                full.clicked.connect(
                    lambda _=False, s=item.with_token: self.copy(s, with_token=True)
                )
                self.copy_with_token_buttons[snippet.client] = full
                buttons.addWidget(full)
            buttons.addStretch(1)
            row = QHBoxLayout()
            row.addWidget(text, 1)
            row.addLayout(buttons)
            column.addWidget(heading)
            column.addLayout(row)
        return box

    def copy(self, snippet: Snippet, *, with_token: bool = False) -> None:
        """Put the snippet's exact text on the clipboard."""
        QGuiApplication.clipboard().setText(snippet.text)
        token = " with the token" if with_token else ""
        self.copied_label.setText(f"Copied the {snippet.client} snippet{token} ({snippet.where}).")

    def copy_token(self) -> None:
        """Put the static bearer token on the clipboard."""
        QGuiApplication.clipboard().setText(self._token)
        self.copied_label.setText("Copied the static bearer token.")


def _reason(error: Exception) -> str:
    return str(getattr(error, "description", "") or getattr(error, "message", "") or error)


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
