"""Connect: the exact snippets that point a coding tool, editor, agent or SDK at this gateway.

The snippets come from `connect_setups.py`, the one source of what `llmgw-desktop connect
TOOL` prints and the tray's "Copy setup for" copies, built from the live endpoint and the
models this gateway answers with (its own `/v1/models` list, read when the page is shown and
when what answers changes), so every snippet `connect` prints is here and what is copied works
against the running gateway: first the coding tools' model calls (Claude Code, Codex's
`[model_providers]` block and how to run it, Gemini CLI, each naming a model that answers on
this machine's keys where the tool's own default would not), then the MCP set-ups, the
editors' agent panels (ACP) and the SDKs. Each is a code block with its Copy buttons in its
own header bar, each button saying what it copies.

*Authenticate as* (`connect_auth.py`) chooses what the snippets carry: a gateway key, pasted or
made here when its secret is known (a tool's own principal, scope and budget; the default with
a bearer lock on), the static bearer token (the master token: only when chosen), or nothing (a
gateway open to this machine). The screen
shows the credential masked. **Copy** copies the snippet that works, credential included;
**Copy without token** puts `YOUR_GATEWAY_TOKEN` in its place, safe to paste into a chat or a
ticket (and what the tray's "Copy setup for" copies); "Copy token" copies the static token.
With OAuth and no static token, the editors sign in through the browser and the SDK snippets
name the access token they need; "Issue a token for this app" (`connect_issue.py`) makes one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llmgw_desktop.engine.api import AuthService, answering_of
from llmgw_desktop.ui.access_panel import describe_front_door
from llmgw_desktop.ui.connect import (
    TOKEN_PLACEHOLDER,
    Snippet,
    editors_send_token,
    mask_token,
    snippets,
)
from llmgw_desktop.ui.connect_setups import (
    GatewayFacts,
    acp_setups,
    model_call_setups,
    sdk_setup,
)
from llmgw_desktop.ui.design import SPACE, page_margins
from llmgw_desktop.ui.kit.code_block import CodeBlock
from llmgw_desktop.ui.kit.page_head import PageHead
from llmgw_desktop.ui.kit.text import home_short
from llmgw_desktop.ui.pages.base import Page, PageContext
from llmgw_desktop.ui.pages.connect_auth import AS_KEY, AS_TOKEN, AuthChoice
from llmgw_desktop.ui.pages.connect_issue import IssueTokenBox
from llmgw_desktop.ui.qt import (
    QFrame,
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

__all__ = ["ConnectPage", "ShownSnippet", "base_url_of"]

# How wide the snippets' column grows: past it a code block's lines are only longer, not
# easier to read, and its Copy buttons drift away from the code.
CONTENT_MAX_WIDTH = 1100


def base_url_of(mcp_url: str, mcp_path: str) -> str:
    """The gateway's root URL (what the SDKs take) from the MCP endpoint and its path."""
    return mcp_url.removesuffix(mcp_path)


@dataclass(frozen=True)
class ShownSnippet:
    """One snippet three ways: on screen, copied without the credential, and copied with it
    (None where the snippet carries none, or there is none to put in it)."""

    shown: Snippet
    copied: Snippet
    with_token: Snippet | None


def _three_ways(
    make: Callable[[str | None], list[Snippet]], lock: bool, token: str
) -> list[ShownSnippet]:
    """The snippets `make(token)` gives, on screen (masked), copied (placeholder) and with
    the token, for a credential sent (`lock`) or not."""
    if not lock:
        return [ShownSnippet(s, s, None) for s in make(None)]
    copied = make(TOKEN_PLACEHOLDER)
    if not token:  # OAuth only, or a key not given yet: the credential is the client's to get
        return [ShownSnippet(s, s, None) for s in copied]
    return [
        ShownSnippet(shown, copy, full if TOKEN_PLACEHOLDER in copy.text else None)
        for shown, copy, full in zip(make(mask_token(token)), copied, make(token), strict=True)
    ]


def _mcp_note(auth: AuthService, kind: str, secret: str) -> str:
    """What an MCP client needs besides the endpoint, given what the snippets carry."""
    if kind == AS_KEY:
        return "The HTTP snippets send the gateway key (Authorization: Bearer), shown masked."
    if not auth.configured:
        return ""
    if auth.oauth is not None and not secret:
        return (
            "Clients that sign in with MCP OAuth (Claude Code, VS Code, Cursor, Codex) open the "
            "browser the first time, so their snippets carry no token."
        )
    return "The HTTP snippets send the master token (Authorization: Bearer), shown masked."


def _sdk_note(auth: AuthService, kind: str, secret: str) -> str:
    if kind == AS_KEY:
        return "Each sends the gateway key as Authorization: Bearer."
    if not auth.configured:
        return (
            "Any key works: the gateway is open to programs on this machine and sends its own "
            "keys upstream. A gateway key (Authenticate as, above) gives a tool its own budget."
        )
    if not secret:
        return (
            f"Replace {TOKEN_PLACEHOLDER} with an access token from the gateway's OAuth server: "
            "Issue a token for this app (above) makes one and fills it in."
        )
    return "Each sends the master token as Authorization: Bearer (an OAuth access token works too)."


class ConnectPage(Page):
    KEY = "connect"
    TITLE = "Connect"

    def __init__(self, context: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._endpoint = endpoint = context.facts.endpoint
        # The operator's own token: the desk may show (masked) and copy it, never log it.
        self._token = self.engine.settings.http.auth_token
        self.base_url = base_url_of(endpoint, self.engine.settings.http.path)
        self.tools: list[ShownSnippet] = []
        self.editors: list[ShownSnippet] = []
        self.sdks: list[ShownSnippet] = []
        self.acp: list[ShownSnippet] = []
        # What the snippets are built from: until the gateway's model list is read, no model
        # is named (`refresh_models`).
        self.facts = GatewayFacts(
            self.base_url, self.engine.auth.configured, {}, "this gateway's model list"
        )
        self.blocks: dict[str, CodeBlock] = {}
        self.copy_buttons: dict[str, QPushButton] = {}
        self.copy_with_token_buttons: dict[str, QPushButton] = {}
        self._full_buttons: dict[str, QPushButton] = {}
        self._items: dict[str, ShownSnippet] = {}
        self._notes: dict[str, QLabel] = {}

        head = PageHead(
            "Connect",
            "Point a coding tool, an editor, an agent or an SDK at this gateway: copy its "
            "snippet, paste it where it says.",
        )
        intro = self._intro()
        self.copied_label = QLabel()
        self.copied_label.setObjectName("copiedNotice")
        content = self._content(intro)
        holder = QWidget()
        centre = QHBoxLayout(holder)
        centre.setContentsMargins(0, 0, 0, 0)
        centre.addWidget(content, 1)
        centre.addStretch(0)
        scroll = QScrollArea()
        scroll.setObjectName("connectScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(holder)

        outer = QVBoxLayout(self)
        page_margins(outer)
        outer.addWidget(head)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.copied_label)
        self._show_credential()
        self.auth_choice.changed.connect(self._credential_changed)
        context.bridge.answeringChanged.connect(lambda _answering: self.refresh_models())

    def page_shown(self) -> None:
        self.refresh_models()

    def refresh_models(self) -> None:
        """Read which models answer now, and name them in the snippets (in the background)."""
        self.tasks.spawn(self.read_models(), what="read which models answer")

    async def read_models(self) -> GatewayFacts:
        """The facts from this gateway's own model list (what `connect` asks it for), and
        every snippet rebuilt from them."""
        rows = await self.engine.providers.models()
        facts = GatewayFacts(
            self.base_url, self.engine.auth.configured, answering_of(rows), self.facts.source
        )
        if facts != self.facts:
            self.facts = facts
            self._credential_changed(*self._credential)
        return facts

    def _intro(self) -> QLabel:
        """Where the gateway listens (MCP and the HTTP base URL) and how its front door asks
        callers to prove who they are."""
        intro = QLabel(
            f"MCP endpoint: <b>{self._endpoint}</b><br>Gateway base URL: <b>{self.base_url}</b>"
            f"<br>{describe_front_door(self.engine.auth)}"
        )
        intro.setObjectName("connectIntro")
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return intro

    def _content(self, intro: QLabel) -> QWidget:
        """The page's column: the intro, how snippets authenticate (with the token's row or
        the box that issues one), then the snippets of each kind."""
        auth = self.engine.auth
        self.auth_choice = AuthChoice(
            self.engine,
            static_token=bool(self._token),
            none_words=(
                "OAuth sign-in (no token in the snippets)"
                if auth.configured
                else "Nothing (open to programs on this machine)"
            ),
        )
        content = QWidget()
        content.setMaximumWidth(CONTENT_MAX_WIDTH)
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, SPACE["s"], 0)
        column.setSpacing(SPACE["m"])
        column.addWidget(intro)
        column.addWidget(self.auth_choice)
        self.copy_token_button: QPushButton | None = None
        self.token_row: QWidget | None = None
        if self._token:
            self.token_row = self._token_row()
            column.addWidget(self.token_row)
        self.issue_box: IssueTokenBox | None = None
        if auth.configured and auth.oauth is not None and not self._token:
            column.addWidget(self._issue_box())
        kind = self.auth_choice.chosen  # a key (none given yet), or nothing on an open gateway
        self._credential = (kind, self._token if kind == AS_TOKEN else "")
        self.tools, self.editors, self.sdks, self.acp = self._snippets_for(*self._credential)
        column.addWidget(
            self._section(
                "tools", "Coding tools: their model calls through the gateway", self.tools
            )
        )
        column.addWidget(self._section("mcp", "Editors and agents (MCP)", self.editors))
        column.addWidget(
            self._section(
                "acp",
                "Editors' agent panels (ACP)",
                self.acp,
                "Zed, JetBrains and Neovim launch the gateway as their agent; every turn is "
                "recorded under the editor's name. More in docs/ACP.md.",
            )
        )
        column.addWidget(
            self._section("sdk", "SDKs and curl (OpenAI, Anthropic, Gemini)", self.sdks)
        )
        column.addStretch(1)
        return content

    def _issue_box(self) -> IssueTokenBox:
        """The box that issues an OAuth access token for an app (OAuth on, no static token),
        and its parts by name."""
        box = IssueTokenBox(
            self.engine, self.base_url, self.tasks, lambda s: self.copy(s, with_token=True)
        )
        self.issue_box = box
        self.app_name, self.issue_button = box.app_name, box.issue_button
        self.issue_notice, self.issued_view = box.issue_notice, box.issued_view
        self.issued_copy_buttons = box.issued_copy_buttons
        return box

    def use_key(self, name: str, secret: str) -> None:
        """Carry gateway key `name` in every snippet (the Access keys page, when it made the
        key)."""
        self.auth_choice.use_key(name, secret)

    def _snippets_for(
        self, kind: str, secret: str
    ) -> tuple[list[ShownSnippet], list[ShownSnippet], list[ShownSnippet], list[ShownSnippet]]:
        """The coding tools', editors', SDKs' and agent panels' snippets carrying what `kind`
        says (`secret`: the credential)."""
        auth = self.engine.auth
        endpoint = self._endpoint
        if kind == AS_KEY:
            lock = editors_lock = True
        elif kind == AS_TOKEN:
            lock = auth.configured
            editors_lock = editors_send_token(
                locked=lock, oauth=auth.oauth is not None, static_token=True
            )
        else:  # nothing to send: an open gateway, or OAuth alone (the issue box helps there)
            lock = auth.configured
            editors_lock = editors_send_token(
                locked=lock, oauth=auth.oauth is not None, static_token=False
            )
        editors = _three_ways(lambda t: snippets(endpoint, token=t), editors_lock, secret)
        sdks = _three_ways(lambda t: list(sdk_setup(self.facts, t).snippets), lock, secret)
        tools = _three_ways(lambda t: self._tool_snippets(t, lock), lock, secret)
        acp = [ShownSnippet(s, s, None) for s in acp_setups(self.facts)]
        return tools, editors, sdks, acp

    def _tool_snippets(self, token: str | None, lock: bool) -> list[Snippet]:
        """The coding tools' snippets sending `token` (None: the stand-in for an open gateway,
        or `TOKEN_PLACEHOLDER` under a lock, as `connect` prints it)."""
        if token is None and lock:
            token = TOKEN_PLACEHOLDER
        return [s for setup in model_call_setups(self.facts, token) for s in setup.snippets]

    def _credential_changed(self, kind: str, secret: str) -> None:
        if kind == AS_TOKEN:
            secret = self._token
        self._credential = (kind, secret)
        if self.token_row is not None:  # the master token is shown only when chosen
            self.token_row.setVisible(kind == AS_TOKEN)
        self.tools, self.editors, self.sdks, self.acp = self._snippets_for(kind, secret)
        self._show_credential()

    def _show_credential(self) -> None:
        """Every block and its buttons from the snippets as they are now."""
        kind, secret = self._credential
        auth = self.engine.auth
        self._notes["tools"].setText(self._tools_note())
        self._notes["mcp"].setText(_mcp_note(auth, kind, secret))
        sdk_notes = sdk_setup(self.facts).notes  # which model the first call asks, and why
        self._notes["sdk"].setText("\n".join([_sdk_note(auth, kind, secret), *sdk_notes]))
        for label in self._notes.values():
            label.setVisible(bool(label.text()))
        self.copy_with_token_buttons = {}
        for item in [*self.tools, *self.editors, *self.acp, *self.sdks]:
            client = item.shown.client
            self._items[client] = item
            self.blocks[client].set_code(item.shown.text)
            full = self._full_buttons[client]
            copy = self.copy_buttons[client]
            full.setVisible(item.with_token is not None)
            if item.with_token is not None:
                self.copy_with_token_buttons[client] = full
                full.setText("Copy with token")  # the snippet shows it masked: say it is in
                copy.setText("Copy without token")
                copy.setToolTip(
                    f"Copy the {client} snippet with {TOKEN_PLACEHOLDER} in place of the "
                    "credential (safe to share)"
                )
            else:
                copy.setText("Copy")
                copy.setToolTip(f"Copy the {client} snippet")

    def _tools_note(self) -> str:
        """What the coding tools' snippets name and why (`connect`'s notes)."""
        notes = [n for setup in model_call_setups(self.facts) for n in setup.notes]
        said = dict.fromkeys(notes)  # one "no key found" for the three tools
        # Hyphens no line breaks at: the command read whole, never "--" at a line's end.
        command = "llmgw-desktop connect TOOL --write".replace("-", "\u2011")
        lead = (
            "Each tool's own model calls go through the gateway, every call recorded and "
            f"budgeted; {command} writes the set-up into the tool's own settings."
        )
        return "\n".join([lead, *said])

    def _token_row(self) -> QWidget:
        """The master token, masked, and Copy token: shown while it is the choice."""
        label = QLabel(f"The master token, masked: <b>{mask_token(self._token)}</b>")
        label.setObjectName("maskedToken")
        button = QPushButton("Copy token")
        button.setObjectName("copyToken")
        button.setToolTip("Copy the master token (http.auth_token) to the clipboard")
        button.clicked.connect(self.copy_token)
        self.copy_token_button = button
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label)
        row.addWidget(button)
        row.addStretch(1)
        holder.setVisible(self.auth_choice.chosen == AS_TOKEN)
        return holder

    def _section(
        self, key: str, title: str, items: list[ShownSnippet], note: str = ""
    ) -> QGroupBox:
        box = QGroupBox(title)
        column = QVBoxLayout(box)
        column.setSpacing(SPACE["s"])
        hint = QLabel(note)
        hint.setWordWrap(True)
        self._notes[key] = hint
        column.addWidget(hint)
        for item in items:
            client = item.shown.client
            block = CodeBlock(client, home_short(item.shown.where), item.shown.text)
            self._items[client] = item
            full = block.add_button(QPushButton("Copy"))
            full.setObjectName(f"copyWithToken:{client}")
            full.setToolTip(f"Copy the {client} snippet, ready to use: the credential in it")
            full.clicked.connect(lambda _=False, c=client: self._copy_item(c, with_token=True))
            copy = block.add_button(QPushButton("Copy"))
            copy.setObjectName(f"copy:{client}")
            copy.clicked.connect(lambda _=False, c=client: self._copy_item(c, with_token=False))
            self._full_buttons[client] = full
            self.copy_buttons[client] = copy
            self.blocks[client] = block
            column.addWidget(block)
        return box

    def _copy_item(self, client: str, *, with_token: bool) -> None:
        item = self._items[client]
        if with_token and item.with_token is not None:
            self.copy(item.with_token, with_token=True)
        else:
            self.copy(item.copied)

    def copy(self, snippet: Snippet, *, with_token: bool = False) -> None:
        """Put the snippet's exact text on the clipboard."""
        QGuiApplication.clipboard().setText(snippet.text)
        token = " with the token" if with_token else ""
        self.copied_label.setText(f"Copied the {snippet.client} snippet{token} ({snippet.where}).")

    def copy_token(self) -> None:
        """Put the static bearer token on the clipboard."""
        QGuiApplication.clipboard().setText(self._token)
        self.copied_label.setText("Copied the master token.")
