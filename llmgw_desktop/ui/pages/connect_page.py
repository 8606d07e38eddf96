"""Connect: the exact snippets that point an editor, agent or SDK at this gateway.

The snippets come from `connect.py`, the same place as the tray's copy-setup menu and the
README's examples, built from the live endpoint, so what is copied here always works against
the running gateway.
"""

from __future__ import annotations

from llmgw_desktop.connect import TOKEN_PLACEHOLDER, Snippet, sdk_snippets, snippets
from llmgw_desktop.engine.api import AuthService
from llmgw_desktop.ui.access_panel import describe_front_door
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.qt import (
    QFontDatabase,
    QGroupBox,
    QGuiApplication,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ConnectPage", "base_url_of"]


def base_url_of(mcp_url: str, mcp_path: str) -> str:
    """The gateway's root URL (what the SDKs take) from the MCP endpoint and its path."""
    return mcp_url.removesuffix(mcp_path)


def _mcp_note(auth: AuthService) -> str:
    """What an MCP client needs besides the endpoint, given how this gateway authenticates."""
    if not auth.configured:
        return ""
    if auth.oauth is not None:
        return (
            "Clients that sign in with MCP OAuth (Claude Code, VS Code, Cursor) open the "
            "browser the first time; others send the static bearer token."
        )
    return (
        "This gateway needs the static bearer token: add the header "
        f"Authorization: Bearer {TOKEN_PLACEHOLDER} to the client's entry "
        "(Claude Code: --header)."
    )


class ConnectPage(Page):
    KEY = "connect"
    TITLE = "Connect"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        endpoint = context.facts.endpoint
        auth = self.engine.auth
        self.base_url = base_url_of(endpoint, self.engine.settings.http_path)
        self.editor_snippets = snippets(endpoint)
        self.sdk_snippets = sdk_snippets(self.base_url, token_needed=auth.configured)
        self.copy_buttons: dict[str, QPushButton] = {}

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
        column.addWidget(
            self._section("Editors and agents (MCP)", self.editor_snippets, _mcp_note(auth))
        )
        sdk_note = (
            "Send the static bearer token or an OAuth access token as the key."
            if auth.configured
            else "Any key works: the gateway is open to programs on this machine and sends its "
            "own keys upstream."
        )
        column.addWidget(self._section("SDKs (OpenAI and Anthropic)", self.sdk_snippets, sdk_note))
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)

        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.copied_label)

    def _section(self, title: str, items: list[Snippet], note: str = "") -> QGroupBox:
        box = QGroupBox(title)
        column = QVBoxLayout(box)
        if note:
            hint = QLabel(note)
            hint.setWordWrap(True)
            column.addWidget(hint)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for snippet in items:
            heading = QLabel(f"<b>{snippet.client}</b> · {snippet.where}")
            text = QLabel(snippet.text)
            text.setObjectName(f"snippet:{snippet.client}")
            text.setFont(mono)
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setWordWrap(True)
            copy = QPushButton("Copy")
            copy.setObjectName(f"copy:{snippet.client}")
            copy.setToolTip(f"Copy the {snippet.client} snippet to the clipboard")
            copy.clicked.connect(lambda _=False, s=snippet: self.copy(s))
            self.copy_buttons[snippet.client] = copy
            row = QHBoxLayout()
            row.addWidget(text, 1)
            row.addWidget(copy, 0, Qt.AlignmentFlag.AlignTop)
            column.addWidget(heading)
            column.addLayout(row)
        return box

    def copy(self, snippet: Snippet) -> None:
        """Put the snippet's exact text on the clipboard."""
        QGuiApplication.clipboard().setText(snippet.text)
        self.copied_label.setText(f"Copied the {snippet.client} snippet ({snippet.where}).")
