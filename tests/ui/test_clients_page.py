"""The Clients page, in the real desktop app on a qasync loop, offscreen.

A browser (aiohttp, following the gateway's redirects) starts an authorization that needs
consent; the request shows up on the Clients page; answering it there (not in the desk dialog)
completes the browser's flow: a code it trades for a working token, or `access_denied`. The
page then lists the client with its live grant.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
from pytestqt.qtbot import QtBot

from llmgw_desktop.config.settings import LoadedSettings, load_settings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.access_panel import GRANT_COLUMNS
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.base import PageContext
from llmgw_desktop.ui.pages.clients import ClientsPage
from llmgw_desktop.ui.qt import QPushButton, Qt
from tests.ui.desk_gateway import Desk, OnWindow, page_parts
from tests.ui.oauth_browser import (
    CLIENT_ID,
    CLIENT_NAME,
    REDIRECT,
    Browser,
    models_status,
)
from tests.ui.running_app import OnApp
from tests.waiting import until

MCP_WORDS = "Use this gateway's MCP tools and its model APIs"  # the scope the client asks


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
        # The request in the words its desk dialog asked with (one table of words).
        assert table.item(0, 1).text() == MCP_WORDS
        dialog = next(iter(desktop.consent.open_dialogs.values())) if desktop.consent else None
        assert dialog is not None and f"• {MCP_WORDS}" in dialog.text()
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
    on_app: OnApp, consent_desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> None:
        params = await _flow_answered_on_the_page(desktop, "Approve")
        assert "access_token" in params
        page = _clients_page(desktop)
        assert "OAuth: on, each sign-in waits for your consent" in page.access.summary.text()
        await page.oauth_clients.refresh()
        clients = page.oauth_clients.table
        assert clients.rowCount() == 1
        cells = [clients.item(0, col).text() for col in range(clients.columnCount())]
        assert cells == [CLIENT_ID, CLIENT_NAME, "confidential", "config", REDIRECT, "1"]
        # The count right-aligned under a right-aligned heading, as every list's figures are.
        grants = clients.item(0, len(cells) - 1)
        heading = clients.horizontalHeaderItem(len(cells) - 1)
        assert grants.textAlignment() & Qt.AlignmentFlag.AlignRight
        assert heading is not None and heading.textAlignment() & Qt.AlignmentFlag.AlignRight
        await page.access.refresh()
        assert page.access.table.rowCount() == 1
        assert page.access.table.item(0, 1).text() == f"OAuth client {CLIENT_ID}"
        # Review 41-3: the grant said "mcp" where the dialog asked in words; now the same
        # words, the scope's name one hover away.
        scopes = page.access.table.item(0, GRANT_COLUMNS.index("Scopes"))
        assert scopes.text() == MCP_WORDS and scopes.toolTip() == "Scopes: mcp"
        assert f"Approved access for {CLIENT_NAME}" in page.consent.notice.text()

    on_app(consent_desktop, body)


def test_denying_on_the_page_sends_the_browser_access_denied(
    on_app: OnApp, consent_desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> dict[str, str]:
        params = await _flow_answered_on_the_page(desktop, "Deny")
        page = _clients_page(desktop)
        # A second answer to the decided request changes nothing, and says so.
        assert not page.consent.answer(params["consent_id"], approved=True)
        assert "already answered" in page.consent.notice.text()
        await page.oauth_clients.refresh()
        assert page.oauth_clients.table.item(0, 5).text() == "0"
        return params

    params = on_app(consent_desktop, body)
    assert params["error"] == "access_denied"
    assert "did not approve" in params["error_description"]


def test_without_oauth_the_page_shows_the_bearer_status_only(
    qtbot: QtBot, loaded: LoadedSettings
) -> None:
    settings = loaded.settings.with_values(
        {"http.auth_token": "t" * 40, "http.trusted_principal_header": "X-Forwarded-User"}
    )
    engine = Engine(settings)  # nothing is read from the store: OAuth is off
    bridge, actions, facts = page_parts(engine, "http://x/mcp", "http://x/health")
    page = ClientsPage(PageContext(bridge=bridge, actions=actions, facts=facts))
    qtbot.addWidget(page)
    page.show()
    page.page_shown()
    summary = page.access.summary.text()
    assert "Master token (http.auth_token): set (users named by the X-Forwarded-User header)" in (
        summary
    )
    assert "OAuth: off" in summary
    assert "t" * 40 not in summary
    assert page.oauth_off.isVisible()
    assert not page.consent.isVisible() and not page.oauth_clients.isVisible()
    page.page_hidden()
    bridge.detach()


def test_oauth_is_switched_on_from_the_page_with_consent_and_saved_for_the_next_start(
    on_window: OnWindow, config_path: Path
) -> None:
    """Issue 54.3: the page said "Turn it on with http.oauth.enabled in config.toml". Its
    switch writes it there (comments kept), with consent before each sign-in, and says when it
    takes effect; the gateway's bind address is not touched."""
    config_path.write_text('# mine\n[log]\nlevel = "INFO"\n', encoding="utf-8")

    async def body(desk: Desk, window: MainWindow) -> None:
        window.show_page(ClientsPage.KEY)
        page = window.pages[ClientsPage.KEY]
        assert isinstance(page, ClientsPage) and page.oauth_off.isVisible()
        switches = page.switches
        assert not switches.enabled.isChecked() and switches.enabled.isEnabled()
        switches.enabled.click()
        await until(lambda: "next starts" in switches.note.text(), "saved")
        assert switches.consent.isChecked()
        assert desk.runtime.engine.oauth is None  # built at start: the next one

    on_window(body)
    text = config_path.read_text(encoding="utf-8")
    assert text.startswith("# mine\n")
    reloaded = load_settings(config_path).settings
    assert reloaded.http.oauth.enabled and reloaded.http.oauth.require_consent
    assert reloaded.http.host == "127.0.0.1"
