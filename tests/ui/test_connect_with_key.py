"""A tool handed a gateway key with a budget (review 41, finding 8; user job 4), on a running
desktop gateway whose Anthropic provider is the scripted upstream (qasync, offscreen).

The key's secret is shown once, so the window offers the key where the secret is known: the
new-key dialog ends on "Copy setup for [tool]" with the key filled in, and carries it to the
Connect page, whose "Authenticate as" then puts it in every snippet. What is copied works: the
Anthropic SDK snippet reaches the gateway as the key, its call counted on the key's budget.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.connect_auth import AS_KEY
from llmgw_desktop.ui.pages.connect_page import ConnectPage
from llmgw_desktop.ui.pages.key_dialogs import NewKeyDialog, SecretDialog
from llmgw_desktop.ui.pages.keys import KeysPage
from llmgw_desktop.ui.qt import QGuiApplication, QLabel
from tests.fakes.upstream import DEFAULT_ANSWER
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.waiting import until

ASK = (
    'client.messages.create(model="claude-sonnet-4-6", max_tokens=20, '
    'messages=[{"role": "user", "content": "hi"}]).content[0].text'
)


def _run(snippet: str) -> str:
    scope: dict[str, Any] = {}
    exec(snippet, scope)  # the snippet exactly as copied
    exec(f"answer = {ASK}", scope)
    return str(scope["answer"])


def test_a_new_key_is_copied_into_a_tools_setup_and_carried_to_connect(
    on_window: OnWindow,
) -> None:
    async def body(desk: Desk, window: MainWindow) -> None:
        engine = desk.runtime.engine
        keys = shown_page(window, KeysPage)
        keys.open_new_key()
        dialog = keys.dialog
        assert isinstance(dialog, NewKeyDialog)
        dialog.name.setText("ci-bot")
        dialog.budget.setText("5")
        dialog.create_button.click()
        shown = await until(lambda: keys.secret_dialog, "the secret, shown once")
        assert isinstance(shown, SecretDialog)
        secret = shown.secret.text()
        # Named as the list names it: "ci-bot", not the principal "key:ci-bot".
        words = [label.text() for label in shown.findChildren(QLabel)]
        assert any(w.startswith("The key ci-bot. It is shown this once") for w in words)
        assert not any("key:ci-bot" in w for w in words)
        # "Copy setup for [tool]": the editors' MCP set-ups too, each with the key in.
        clients = [shown.client.itemText(i) for i in range(shown.client.count())]
        assert {"Claude Code", "Cursor", "VS Code", "Codex"} <= set(clients)
        shown.client.setCurrentIndex(clients.index("Cursor"))
        shown.copy_snippet.click()
        assert f"Bearer {secret}" in QGuiApplication.clipboard().text()
        assert "Cursor" in shown.copied.text()

        # Carried to Connect while the secret is known: every snippet carries the key.
        shown.connect_button.click()
        connect = window.pages[ConnectPage.KEY]
        assert isinstance(connect, ConnectPage) and window.current_page is connect
        assert connect.auth_choice.chosen == AS_KEY
        assert "key:ci-bot" in connect.auth_choice.note.text()
        on_screen = connect.findChild(QLabel, "snippet:Anthropic SDK (Python)")
        assert on_screen is not None and secret not in on_screen.text()
        assert secret[-4:] in on_screen.text()  # masked, as the static token is
        connect.copy_with_token_buttons["Anthropic SDK (Python)"].click()
        copied = QGuiApplication.clipboard().text()
        assert secret in copied
        answer = await asyncio.wait_for(asyncio.to_thread(_run, copied), 30)
        assert answer.startswith(DEFAULT_ANSWER)
        await until(
            lambda: (
                (engine.budgets.key_status("key:ci-bot") or 0)
                and (
                    engine.budgets.key_status("key:ci-bot").spent > 0  # type: ignore[union-attr]
                )
            ),
            "the call counted on the key's budget",
        )
        # Copy without token keeps the placeholder, for sharing.
        connect.copy_buttons["Anthropic SDK (Python)"].click()
        assert secret not in QGuiApplication.clipboard().text()

    on_window(body, size=(1100, 700))


def test_connect_makes_a_key_itself_or_takes_a_pasted_one(on_window: OnWindow) -> None:
    """A key's secret cannot be looked up (only its hash is kept): Connect asks for one pasted,
    or makes one with the Keys page's own dialog, and says which."""

    async def body(_desk: Desk, window: MainWindow) -> None:
        page = shown_page(window, ConnectPage)
        choice = page.auth_choice
        assert page.copy_with_token_buttons == {}  # an open gateway: nothing to carry
        choice.kind.setCurrentIndex(choice.kind.findData(AS_KEY))
        assert "shown once" in choice.note.text()
        assert page.copy_with_token_buttons == {}  # no key yet: placeholders only
        choice.key_edit.setText("not-a-key")
        assert "does not look like a gateway key" in choice.note.text()
        dialog = choice.open_new_key()
        dialog.name.setText("laptop")
        dialog.create_button.click()
        await until(lambda: choice.key_edit.text().startswith("llmgw-"), "the new key")
        assert "key:laptop" in choice.note.text()
        secret = choice.key_edit.text()
        page.copy_with_token_buttons["curl"].click()
        assert f"Bearer {secret}" in QGuiApplication.clipboard().text()
        assert page.copy_buttons["curl"].text() == "Copy without token"

    on_window(body)
