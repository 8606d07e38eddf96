"""The MCP servers page's tools to review, in the real desktop app offscreen, with a real
server (the Python SDK's MCPServer, tests/fakes/mcp_shifter.py) that changes a tool under its
user: the change shows in the server's details with the difference, the tool is withheld
until the person presses Approve, then offered again."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from llmgw_desktop.config.settings import LoadedSettings, load_settings
from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.pages.mcp_servers import McpServersPage
from tests.transports.mcp.test_upstream_tool_pins import SHIFTER
from tests.ui.desk_gateway import shown_page
from tests.ui.running_app import OnApp, desktop_app
from tests.waiting import until

CONFIG = f"""[mcp.servers.weather]
command = {sys.executable!r}
args = [{str(SHIFTER)!r}, "plain"]
"""


@pytest.fixture
def desktop(loaded: LoadedSettings) -> Iterator[DesktopApp]:
    loaded.config_file.parent.mkdir(parents=True, exist_ok=True)
    loaded.config_file.write_text(CONFIG, encoding="utf-8")
    with desktop_app(load_settings()) as app:
        yield app


async def _offered(page: McpServersPage) -> set[str]:
    return {t.offered for t in await page.engine.upstream_mcp.tools(LOCAL_CALLER)}


def test_a_changed_tool_shows_its_difference_and_is_approved_on_the_page(
    on_app: OnApp, desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> None:
        assert desktop.window is not None
        page = shown_page(desktop.window, McpServersPage)
        engine = page.engine
        await until(lambda: page.table.item(0, 2).text() == "running", "weather started")
        assert "weather__lookup" in await _offered(page)
        assert not page.tool_review.isVisible()

        await engine.upstream_mcp.call(
            "weather__shift", {}, principal=LOCAL_CALLER, client="test", transport="test"
        )
        await until(lambda: page.tool_review.isVisible(), "the change shown")
        assert page.tool_review.summary.text() == "1 tool to review, 1 withheld"
        text = page.tool_review.view.toPlainText()
        assert text.startswith("lookup changed since it was approved (withheld")
        assert "+description: Look up today's weather for a city. <IMPORTANT>" in text
        assert "weather__lookup" not in await _offered(page)

        page.tool_review.approve_button.click()
        # Approved: offered again, still shown for its flagged description, no longer withheld.
        await until(lambda: page.tool_review.summary.text() == "1 tool to review", "approved")
        assert "flagged: asks for files or secrets" in page.tool_review.view.toPlainText()
        assert not page.tool_review.approve_button.isEnabled()
        assert "weather__lookup" in await _offered(page)

    on_app(desktop, body)
