"""A key made on the Keys page carried by the real Claude Code (issue 31's test list), offscreen
on a qasync loop: the key typed in the dialog with Claude's models in its scope goes in
`ANTHROPIC_API_KEY` (sent as `x-api-key`); Claude Code answers through the gateway as the
key's own principal; revoked on the page, the very next run is refused. The gateway's
Anthropic provider is the scripted upstream; Claude Code is the pinned one from `.clis/`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.key_dialogs import NewKeyDialog, SecretDialog
from llmgw_desktop.ui.pages.keys import COLUMNS, KeysPage
from llmgw_desktop.ui.qt import Qt
from tests.clients.harness import client_environment, run_cli
from tests.contract.offline import find_cli
from tests.fakes.upstream import DEFAULT_ANSWER
from tests.ui.desk_gateway import Desk, OnWindow
from tests.ui.waiting import until

pytestmark = pytest.mark.contract

# A run the gateway refuses is bounded, so a client that kept retrying fails, not hangs.
RUN_TIMEOUT_S = 90.0


def test_a_key_made_on_the_page_is_carried_by_claude_code_until_revoked(
    on_window: OnWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    find_cli("claude")
    home = tmp_path / "home"

    async def body(desk: Desk, window: MainWindow) -> None:
        runtime = desk.runtime
        window.show_page(KeysPage.KEY)
        page = window.pages[KeysPage.KEY]
        assert isinstance(page, KeysPage)
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
        dialog = await until(lambda: page.dialog, "the new-key dialog")
        assert isinstance(dialog, NewKeyDialog)
        qtbot.keyClicks(dialog.name, "claude-desk")
        qtbot.keyClicks(dialog.models, "claude-*")
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        shown = await until(lambda: page.secret_dialog, "the secret")
        assert isinstance(shown, SecretDialog)
        secret = shown.secret.text()
        shown.client.setCurrentIndex(shown.client.findText("Claude Code"))
        assert f"ANTHROPIC_API_KEY={secret}" in shown.snippet.toPlainText()
        shown.accept()

        env = client_environment(home, runtime.base_url) | {
            "ANTHROPIC_API_KEY": secret,
            # Claude Code retries a 401 for minutes, taking it for a login to renew.
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
        work = home / "work"
        work.mkdir(parents=True, exist_ok=True)
        run = await run_cli("claude", "-p", "say hello", env=env, cwd=work, timeout_s=RUN_TIMEOUT_S)
        assert run.returncode == 0 and DEFAULT_ANSWER in run.stdout, run.explain()
        rows = await runtime.engine.recorder.recent(limit=10)
        assert rows and {r["owner_principal"] for r in rows} == {"key:claude-desk"}

        page.table.selectRow(0)
        qtbot.mouseClick(page.revoke_button, Qt.MouseButton.LeftButton)
        box = await until(lambda: page.confirm, "the confirmation")
        revoke = next(b for b in box.buttons() if b.text() == "Revoke")
        qtbot.mouseClick(revoke, Qt.MouseButton.LeftButton)
        await until(
            lambda: page.table.item(0, COLUMNS.index("State")).text() == "revoked",
            "revoked on the page",
        )
        asked = len(desk.upstream.llm_requests)
        refused = await run_cli(
            "claude", "-p", "say hello", env=env, cwd=work, timeout_s=RUN_TIMEOUT_S
        )
        # Claude Code words a 401 its own way.
        assert refused.returncode != 0, refused.explain()
        assert "Invalid API key" in refused.stdout, refused.explain()
        assert len(desk.upstream.llm_requests) == asked

    on_window(body, show=False)
