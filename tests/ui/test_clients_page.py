"""The Clients page, in the real desktop app on a qasync loop, offscreen.

A browser (aiohttp, following the gateway's redirects) starts an authorization that needs
consent; the request shows up on the Clients page; answering it there (not in the desk dialog)
completes the browser's flow: a code it trades for a working token, or `access_denied`. The
page then lists the client with its live grant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest
import qasync
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.pages.base import PageContext, WindowFacts
from llmgw_desktop.ui.pages.clients import ClientsPage
from llmgw_desktop.ui.qt import QPushButton
from tests.ui.oauth_browser import (
    CLIENT_ID,
    CLIENT_NAME,
    REDIRECT,
    Browser,
    consent_settings,
    models_status,
)
from tests.ui.waiting import until


@pytest.fixture
def desktop(loaded: LoadedSettings) -> Iterator[DesktopApp]:
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    try:
        yield DesktopApp(consent_settings(loaded), lock)
    finally:
        lock.release()


def _clients_page(desktop: DesktopApp) -> ClientsPage:
    assert desktop.window is not None
    page = desktop.window.pages[ClientsPage.KEY]
    assert isinstance(page, ClientsPage)
    return page


async def _flow_answered_on_the_page(desktop: DesktopApp, button: str) -> dict[str, str]:
    """Start an authorization, answer it with `button` on the Clients page, and return the
    query the browser lands on, plus the "consent_id" answered and, when approved, the
    "access_token" traded for the code."""
    assert desktop.runtime is not None and desktop.window is not None
    base = desktop.runtime.base_url
    desktop.window.show_page(ClientsPage.KEY)
    page = _clients_page(desktop)
    async with aiohttp.ClientSession() as session:
        browser = Browser(session, base, state="s-9")
        await browser.start()

        # The page's own poll (once a second while shown) finds the request.
        table = page.consent.table
        await until(lambda: table.rowCount() == 1 and table.isVisible(), "request listed")
        assert table.item(0, 0).text() == f"{CLIENT_NAME} ({CLIENT_ID})"
        assert "MCP tools" in table.item(0, 1).text()
        assert table.item(0, 2).text() == REDIRECT
        assert table.item(0, 3).text().startswith("127.0.0.1")
        assert desktop.consent is not None and len(desktop.consent.open_dialogs) == 1
        (pending,) = desktop.runtime.engine.auth.consent.open_requests()
        clicked = page.consent.findChild(QPushButton, f"{button.lower()}:{pending.id}")
        assert clicked is not None and clicked.text() == button
        clicked.click()
        assert pending.decided_by == "dashboard"
        assert table.rowCount() == 0 and page.consent.empty_label.isVisible()
        # The desk dialog for the same request closes: it was decided elsewhere.
        await until(lambda: desktop.consent.open_dialogs == {}, "desk dialog closed")

        params = await browser.landing()
        params["consent_id"] = pending.id
        if "code" in params:
            params["access_token"] = await browser.trade(params["code"])
            assert await models_status(base, params["access_token"]) == 200
        return params


def test_approving_on_the_page_completes_the_flow_and_lists_the_grant(
    qloop: qasync.QEventLoop, desktop: DesktopApp
) -> None:
    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None and desktop.consent is not None, "ui")
        try:
            params = await _flow_answered_on_the_page(desktop, "Approve")
            assert "access_token" in params
            page = _clients_page(desktop)
            assert "OAuth: on, each sign-in waits for your consent" in page.access.summary.text()
            await page.oauth_clients.refresh()
            clients = page.oauth_clients.table
            assert clients.rowCount() == 1
            cells = [clients.item(0, col).text() for col in range(clients.columnCount())]
            assert cells == [CLIENT_ID, CLIENT_NAME, "confidential", "config", REDIRECT, "1"]
            await page.access.refresh()
            assert page.access.table.rowCount() == 1
            assert page.access.table.item(0, 1).text() == f"oauth:{CLIENT_ID}"
            assert f"Approved access for {CLIENT_NAME}" in page.consent.notice.text()
        finally:
            desktop.request_quit()
            await run

    qloop.run_until_complete(scenario())


def test_denying_on_the_page_sends_the_browser_access_denied(
    qloop: qasync.QEventLoop, desktop: DesktopApp
) -> None:
    async def scenario() -> dict[str, str]:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None and desktop.consent is not None, "ui")
        try:
            params = await _flow_answered_on_the_page(desktop, "Deny")
            page = _clients_page(desktop)
            # A second answer to the decided request changes nothing, and says so.
            assert not page.consent.answer(params["consent_id"], approved=True)
            assert "already answered" in page.consent.notice.text()
            await page.oauth_clients.refresh()
            assert page.oauth_clients.table.item(0, 5).text() == "0"
            return params
        finally:
            desktop.request_quit()
            await run

    params = qloop.run_until_complete(scenario())
    assert params["error"] == "access_denied"
    assert "did not approve" in params["error_description"]


def test_without_oauth_the_page_shows_the_bearer_status_only(
    qtbot: QtBot, loaded: LoadedSettings
) -> None:
    settings = loaded.settings.with_values(
        {"http.auth_token": "t" * 40, "http.trusted_principal_header": "X-Forwarded-User"}
    )
    engine = Engine(settings)  # nothing is read from the store: OAuth is off
    bridge = EngineBridge(engine)
    actions = GatewayActions(
        bridge, endpoint=lambda: "http://x/mcp", open_dashboard=lambda: None, quit_app=lambda: None
    )
    facts = WindowFacts("http://x/mcp", "http://x/health", settings.data_path, settings.log_path)
    page = ClientsPage(PageContext(bridge=bridge, actions=actions, facts=facts))
    qtbot.addWidget(page)
    page.show()
    page.page_shown()
    summary = page.access.summary.text()
    assert "Static bearer token: set (users named by the X-Forwarded-User header)" in summary
    assert "OAuth: off" in summary
    assert "t" * 40 not in summary
    assert page.oauth_off.isVisible()
    assert not page.consent.isVisible() and not page.oauth_clients.isVisible()
    page.page_hidden()
    bridge.detach()
