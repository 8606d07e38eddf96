"""The on-screen OAuth consent dialog, in the real desktop app on a qasync loop, offscreen.

A browser (aiohttp, following the gateway's redirects) starts an authorization that needs
consent; the dialog pops up on the desk; clicking Approve or Deny there completes the
browser's flow: a code it can trade for a working token, or `access_denied`.
"""

from __future__ import annotations

import aiohttp
import pytest

from llmgw_desktop.shell.app import DesktopApp
from llmgw_desktop.ui.decision_dialog import DecisionDialog
from llmgw_desktop.ui.qt import QMessageBox
from tests.ui.oauth_browser import (
    CLIENT_ID,
    CLIENT_NAME,
    REDIRECT,
    Browser,
    models_status,
)
from tests.ui.running_app import OnApp
from tests.waiting import until


async def _browser_flow(desktop: DesktopApp, button: str | None) -> dict[str, str]:
    """Start an authorization, answer the desk dialog with `button`, and return the query the
    browser finally lands on at the client's redirect URI (plus the access token traded for
    the code, under "access_token", when approved)."""
    assert desktop.runtime is not None and desktop.consent is not None
    base = desktop.runtime.base_url
    async with aiohttp.ClientSession() as session:
        browser = Browser(session, base, state="s-123")
        assert "Waiting for approval at the desk" in await browser.start()

        box: DecisionDialog = await until(
            lambda: next(iter(desktop.consent.open_dialogs.values()), None), "consent dialog"
        )
        text = box.text()
        assert CLIENT_NAME in text and REDIRECT in text and "127.0.0.1" in text
        # The scope in plain words (review 41, finding 15: "APIs (mcp)" was jargon).
        assert "Use this gateway's MCP tools" in text and "(mcp)" not in text
        assert box.heading_label.text() == f"{CLIENT_NAME} wants access to this gateway"
        assert box.defaultButton().text() == "Deny"  # Enter never grants access
        assert box.informativeText().startswith("Denies in ")  # its countdown
        if button is not None:  # None: nobody answers
            next(b for b in box.buttons() if b.text() == button).click()

        params = await browser.landing()
        if "code" in params:
            token = await browser.trade(params["code"])
            assert await models_status(base, token) == 200
            params["access_token"] = token
        return params


@pytest.mark.parametrize(("button", "outcome"), [("Approve", "code"), ("Deny", "error")])
def test_the_desk_dialog_completes_the_browser_flow(
    on_app: OnApp, consent_desktop: DesktopApp, button: str, outcome: str
) -> None:
    params = on_app(consent_desktop, lambda app: _browser_flow(app, button))
    assert outcome in params
    if outcome == "error":
        assert params["error"] == "access_denied"
    assert consent_desktop.consent is None or consent_desktop.consent.open_dialogs == {}


def test_revoking_a_grant_from_the_window_ends_its_tokens(
    on_app: OnApp, consent_desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> None:
        assert desktop.window is not None and desktop.runtime is not None
        token = (await _browser_flow(desktop, "Approve"))["access_token"]
        panel = desktop.window.access
        assert "OAuth: on, each sign-in waits for your consent" in panel.summary.text()
        await panel.refresh()
        assert panel.table.rowCount() == 1
        assert panel.table.item(0, 1).text() == f"OAuth client {CLIENT_ID}"
        panel.table.selectRow(0)
        panel.revoke_grant_button.click()
        box: QMessageBox = await until(
            lambda: panel.findChild(QMessageBox, "confirmRevoke"), "confirmation"
        )
        next(b for b in box.buttons() if b.text() == "Revoke").click()
        await until(lambda: "Revoked" in panel.notice.text(), "revoked notice")
        assert panel.table.rowCount() == 0
        assert await models_status(desktop.runtime.base_url, token) == 401

    on_app(consent_desktop, body)


# Long enough for the browser to fetch the consent page on a loaded two-worker run (at 400 ms
# a CI run expired it between the authorize redirect and that fetch, and the browser followed
# the denial to the client's unserved redirect URI), well inside the landing's 10 s.
@pytest.mark.parametrize(
    "consent_desktop", [{"http.oauth.consent_timeout_ms": 2500}], indirect=True
)
def test_an_unanswered_dialog_expires_denies_and_closes(
    on_app: OnApp, consent_desktop: DesktopApp
) -> None:
    async def body(desktop: DesktopApp) -> dict[str, str]:
        params = await _browser_flow(desktop, None)
        assert desktop.consent is not None and desktop.consent.open_dialogs == {}
        return params

    params = on_app(consent_desktop, body)
    assert params["error"] == "access_denied"
    assert "in time" in params["error_description"]
