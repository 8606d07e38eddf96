"""The Providers page's CLI accounts box on a real started engine, offscreen: the real CLIs on
the CLI path, a private home holding the login files as Claude Code and Codex write them
(tests/fixtures/accounts). Each installed CLI shows who is logged in and the plan; the one
without files says it is not logged in and where it looked; no token or key is ever shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.ui.pages.cli_accounts_box import ACCOUNT_COLUMNS, CliAccountsBox
from llmgw_desktop.ui.qt import QTableWidgetItem
from llmgw_desktop.ui.tasks import UiTasks
from tests.ui.test_providers_page import quick_cli_dir

FIXTURES = Path(__file__).parents[1] / "fixtures" / "accounts"


def test_the_box_shows_each_installed_clis_login_and_plan_and_no_secret(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, qtbot: QtBot, tmp_path: Path
) -> None:
    cli_dir = quick_cli_dir(tmp_path / "bin")  # claude, codex, copilot (skips without them)
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "claude-max", home)
    shutil.copytree(FIXTURES / "codex-chatgpt", home, dirs_exist_ok=True)

    async def scenario() -> list[dict[str, str]]:
        settings = loaded.settings.with_values({"providers.cli_path": [str(cli_dir)]})
        engine = Engine(settings, environ={"HOME": str(home)})
        await engine.start()
        try:
            box = CliAccountsBox(engine, UiTasks())
            qtbot.addWidget(box)
            await box.load()
            table = box.table
            return [
                {
                    ACCOUNT_COLUMNS[c]: (table.item(r, c) or _blank()).text()
                    for c in range(table.columnCount())
                }
                for r in range(table.rowCount())
            ]
        finally:
            await engine.stop()

    rows = {row["CLI"]: row for row in qloop.run_until_complete(scenario())}
    assert set(rows) == {"Claude Code", "Codex", "GitHub Copilot"}
    assert rows["Claude Code"]["Login"] == "logged in (Claude account)"
    assert rows["Claude Code"]["Account"] == "dev@example.com (Example Org)"
    assert rows["Claude Code"]["Plan"] == "max / default_claude_max_5x"
    assert rows["Codex"]["Account"] == "dev@example.com" and rows["Codex"]["Plan"] == "plus"
    assert rows["GitHub Copilot"]["Login"] == "not logged in"
    assert str(home / ".copilot" / "config.json") in rows["GitHub Copilot"]["Read from, or why not"]
    assert "FIXTURE" not in repr(rows)


def _blank() -> QTableWidgetItem:
    return QTableWidgetItem("")
