"""Each CLI's login on the Providers page, on a real started engine, offscreen: the real CLIs on
the CLI path, a private home holding the login files as Claude Code and Codex write them
(tests/fixtures/accounts). Each installed CLI's details show who is logged in and the plan; the
one without files says it is not logged in and where it looked; no token or key is ever shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.pages.base import PageContext, WindowFacts
from llmgw_desktop.ui.pages.providers import ProvidersPage
from tests.ui.test_providers_page import quick_cli_dir

FIXTURES = Path(__file__).parents[1] / "fixtures" / "accounts"


def test_each_installed_clis_details_show_its_login_and_plan_and_no_secret(
    qloop: qasync.QEventLoop, loaded: LoadedSettings, qtbot: QtBot, tmp_path: Path
) -> None:
    cli_dir = quick_cli_dir(tmp_path / "bin")  # claude, codex, copilot (skips without them)
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "claude-max", home)
    shutil.copytree(FIXTURES / "codex-chatgpt", home, dirs_exist_ok=True)

    async def scenario() -> dict[str, str]:
        settings = loaded.settings.with_values({"providers.cli_path": [str(cli_dir)]})
        engine = Engine(settings, environ={"HOME": str(home)})
        await engine.start()
        bridge = EngineBridge(engine)
        actions = GatewayActions(
            bridge, endpoint=lambda: "", open_dashboard=lambda: None, quit_app=lambda: None
        )
        facts = WindowFacts("", "", settings.data_path, settings.data_path)
        page = ProvidersPage(PageContext(bridge=bridge, actions=actions, facts=facts))
        qtbot.addWidget(page)
        page.show()
        try:
            await page.refresh()
            logins = {}
            for key in ("cli:claude", "cli:codex", "cli:copilot"):
                assert page.select(key)
                logins[key] = page.detail.login_label.text()
            return logins
        finally:
            page.page_hidden()
            page.tasks.cancel_all()
            bridge.detach()
            await engine.stop()

    logins = qloop.run_until_complete(scenario())
    assert logins["cli:claude"].startswith(
        "logged in (Claude account) as dev@example.com (Example Org)"
        " · plan max / default_claude_max_5x"
    )
    assert logins["cli:codex"].startswith("logged in") and "dev@example.com" in logins["cli:codex"]
    assert "· plan plus" in logins["cli:codex"]
    assert logins["cli:copilot"].startswith("not logged in")
    assert str(home / ".copilot" / "config.json") in logins["cli:copilot"]
    assert "FIXTURE" not in repr(logins)
