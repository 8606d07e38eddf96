"""The Connect page, on the real desktop app's live endpoint (qasync loop, offscreen).

Every Copy button puts exactly the snippet `connect.py` makes on the clipboard, and the SDK
base URLs it shows answer: an SDK configured from them reaches the gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import aiohttp
import pytest
import qasync

from llmgw_desktop.app import DesktopApp
from llmgw_desktop.connect import ANY_KEY, TOKEN_PLACEHOLDER, sdk_snippets, snippets
from llmgw_desktop.instance import InstanceLock
from llmgw_desktop.settings import LoadedSettings
from llmgw_desktop.ui.pages.connect_page import ConnectPage, base_url_of
from llmgw_desktop.ui.qt import QGuiApplication, QLabel
from tests.ui.waiting import until

TOKEN = "connect-page-bearer-token-0123456789-abcdef"


@pytest.fixture
def desktop(request: pytest.FixtureRequest, loaded: LoadedSettings) -> Iterator[DesktopApp]:
    settings = replace(loaded.settings, http_port=0, **getattr(request, "param", {}))
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    try:
        yield DesktopApp(replace(loaded, settings=settings), lock)
    finally:
        lock.release()


def _page(desktop: DesktopApp) -> ConnectPage:
    """A Connect page sharing the running window's context (its endpoint and engine)."""
    assert desktop.window is not None
    return ConnectPage(desktop.window.overview.context)


async def _status(url: str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as client, client.get(url, headers=headers) as r:
        return r.status


def _env(snippet_text: str) -> dict[str, str]:
    """`export NAME=value` lines as a mapping."""
    lines = (line.removeprefix("export ") for line in snippet_text.splitlines())
    return dict(line.split("=", 1) for line in lines)


def test_every_copy_button_copies_the_exact_snippet(
    qloop: qasync.QEventLoop, desktop: DesktopApp
) -> None:
    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None, "window")
        assert desktop.runtime is not None
        try:
            page = _page(desktop)
            mcp_url, base = desktop.runtime.mcp_url, desktop.runtime.base_url
            assert page.base_url == base == base_url_of(mcp_url, "/mcp")
            expected = [*snippets(mcp_url), *sdk_snippets(base, token_needed=False)]
            clients = {s.client for s in expected}
            assert {"Claude Code (HTTP)", "Cursor", "VS Code", "Codex"} <= clients
            assert set(page.copy_buttons) == clients
            clipboard = QGuiApplication.clipboard()
            for snippet in expected:
                clipboard.clear()
                shown = page.findChild(QLabel, f"snippet:{snippet.client}")
                assert shown is not None and shown.text() == snippet.text
                page.copy_buttons[snippet.client].click()
                assert clipboard.text() == snippet.text, snippet.client
                assert snippet.client in page.copied_label.text()
            claude = next(s for s in expected if s.client == "Claude Code (HTTP)")
            assert claude.text == f"claude mcp add --transport http llmgw-desktop {mcp_url}"

            # The SDK settings copied from the page reach this gateway.
            openai = _env(next(s for s in expected if s.client == "OpenAI SDK (environment)").text)
            assert openai["OPENAI_API_KEY"] == ANY_KEY
            bearer = {"Authorization": f"Bearer {openai['OPENAI_API_KEY']}"}
            assert await _status(openai["OPENAI_BASE_URL"] + "/models", bearer) == 200
            anthropic = _env(
                next(s for s in expected if s.client == "Anthropic SDK (environment)").text
            )
            key = {"x-api-key": anthropic["ANTHROPIC_API_KEY"]}
            assert await _status(anthropic["ANTHROPIC_BASE_URL"] + "/v1/models", key) == 200
            page.deleteLater()
        finally:
            desktop.request_quit()
            await run

    qloop.run_until_complete(scenario())


@pytest.mark.parametrize("desktop", [{"http_auth_token": TOKEN}], indirect=True)
def test_with_a_token_the_sdk_snippets_ask_for_it_as_a_bearer(
    qloop: qasync.QEventLoop, desktop: DesktopApp
) -> None:
    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None, "window")
        try:
            page = _page(desktop)
            anthropic = next(s for s in page.sdk_snippets if s.client == "Anthropic SDK (Python)")
            assert f'auth_token="{TOKEN_PLACEHOLDER}"' in anthropic.text
            env = next(s for s in page.sdk_snippets if s.client == "Anthropic SDK (environment)")
            variables = _env(env.text)
            assert variables["ANTHROPIC_AUTH_TOKEN"] == TOKEN_PLACEHOLDER
            # With the placeholder replaced by the real token, the base URL answers; without
            # it, it does not.
            url = variables["ANTHROPIC_BASE_URL"] + "/v1/models"
            assert await _status(url, {"Authorization": f"Bearer {TOKEN}"}) == 200
            assert await _status(url, {}) == 401
            assert TOKEN not in "\n".join(s.text for s in page.sdk_snippets)
            page.deleteLater()
        finally:
            desktop.request_quit()
            await run

    qloop.run_until_complete(scenario())
