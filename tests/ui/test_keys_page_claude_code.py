"""A key made on the Keys page carried by the real Claude Code (issue 31's test list), offscreen
on a qasync loop: the key typed in the dialog with Claude's models in its scope goes in
`ANTHROPIC_AUTH_TOKEN` (sent as its bearer token); Claude Code answers through the gateway as the
key's own principal; revoked on the page, the very next run is refused. The gateway's
Anthropic provider is the scripted upstream; Claude Code is the pinned one from `.clis/`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.keys import KeysPage
from tests.clients.harness import client_environment, run_cli
from tests.contract.offline import find_cli
from tests.fakes.upstream import DEFAULT_ANSWER
from tests.ui.desk_gateway import Desk, OnWindow, shown_page
from tests.ui.keys_page_steps import create_key, open_new_key, revoke_chosen

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
        page = shown_page(window, KeysPage)
        dialog = await open_new_key(page, qtbot, "the new-key dialog")
        qtbot.keyClicks(dialog.name, "claude-desk")
        qtbot.keyClicks(dialog.models, "claude-*")
        shown = await create_key(page, dialog, qtbot, "the secret")
        secret = shown.secret.text()
        shown.client.setCurrentIndex(shown.client.findText("Claude Code"))
        assert f"ANTHROPIC_AUTH_TOKEN={secret}" in shown.snippet.toPlainText()
        shown.accept()

        env = client_environment(home, runtime.base_url) | {
            "ANTHROPIC_AUTH_TOKEN": secret,
            # Claude Code retries a 401 for minutes, taking it for a login to renew.
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
        del env["ANTHROPIC_API_KEY"]  # the harness's; Claude Code would prefer it
        work = home / "work"
        work.mkdir(parents=True, exist_ok=True)
        run = await run_cli("claude", "-p", "say hello", env=env, cwd=work, timeout_s=RUN_TIMEOUT_S)
        assert run.returncode == 0 and DEFAULT_ANSWER in run.stdout, run.explain()
        rows = await runtime.engine.recorder.recent(limit=10)
        assert rows and {r["owner_principal"] for r in rows} == {"key:claude-desk"}

        page.table.selectRow(0)
        await revoke_chosen(page, qtbot, "the confirmation")
        asked = len(desk.upstream.llm_requests)
        refused = await run_cli(
            "claude", "-p", "say hello", env=env, cwd=work, timeout_s=RUN_TIMEOUT_S
        )
        # As its bearer token, Claude Code shows the gateway's own words for the 401.
        assert refused.returncode != 0, refused.explain()
        assert "was revoked" in refused.stdout, refused.explain()
        assert len(desk.upstream.llm_requests) == asked

    on_window(body, show=False)
