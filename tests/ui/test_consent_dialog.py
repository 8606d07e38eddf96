"""The on-screen OAuth consent dialog, in the real desktop app on a qasync loop, offscreen.

A browser (aiohttp, following the gateway's redirects) starts an authorization that needs
consent; the dialog pops up on the desk; clicking Approve or Deny there completes the
browser's flow: a code it can trade for a working token, or `access_denied`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
import qasync

from llmgw_desktop.app import DesktopApp
from llmgw_desktop.instance import InstanceLock
from llmgw_desktop.settings import LoadedSettings
from llmgw_desktop.ui.qt import QMessageBox
from tests.ui.waiting import until

CLIENT_ID = "desk-editor"
CLIENT_SECRET = "desk-editor-secret-0123456789-abcdefghij"
REDIRECT = "http://127.0.0.1:9/callback"
STEP_TIMEOUT = 10.0


def _desktop_settings(loaded: LoadedSettings, **extra: Any) -> LoadedSettings:
    settings = replace(
        loaded.settings,
        http_port=0,
        oauth_enabled=True,
        oauth_require_consent=True,
        oauth_clients={
            CLIENT_ID: {
                "name": "Desk editor",
                "redirect_uris": [REDIRECT],
                "client_secret_sha256": hashlib.sha256(CLIENT_SECRET.encode()).hexdigest(),
            }
        },
        **extra,
    )
    return replace(loaded, settings=settings)


@pytest.fixture
def desktop(request: pytest.FixtureRequest, loaded: LoadedSettings) -> Iterator[DesktopApp]:
    extra = getattr(request, "param", {})
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    try:
        yield DesktopApp(_desktop_settings(loaded, **extra), lock)
    finally:
        lock.release()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def _browser_flow(desktop: DesktopApp, button: str | None) -> dict[str, str]:
    """Start an authorization, answer the desk dialog with `button`, and return the query the
    browser finally lands on at the client's redirect URI (plus the access token traded for
    the code, under "access_token", when approved)."""
    assert desktop.runtime is not None and desktop.consent is not None
    base = desktop.runtime.base_url
    verifier, challenge = _pkce()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": "mcp",
            "state": "s-123",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{base}/oauth/authorize?{query}", allow_redirects=False) as r:
            assert r.status in (302, 303), await r.text()
            consent_page = base + r.headers["Location"]
        async with browser.get(consent_page) as r:
            assert r.status == 200
            assert "Waiting for approval at the desk" in await r.text()

        box: QMessageBox = await until(
            lambda: next(iter(desktop.consent.open_dialogs.values()), None), "consent dialog"
        )
        text = box.text()
        assert "Desk editor" in text and REDIRECT in text and "127.0.0.1" in text
        assert "(mcp)" in text
        assert box.defaultButton().text() == "Deny"  # Enter never grants access
        if button is not None:  # None: nobody answers
            next(b for b in box.buttons() if b.text() == button).click()

        async def next_url() -> str | None:  # what the page's script polls for
            async with browser.get(consent_page + "/status") as r:
                return (await r.json())["next"]

        async with asyncio.timeout(STEP_TIMEOUT):
            while (landing := await next_url()) is None:  # noqa: ASYNC110 - polls like the page
                await asyncio.sleep(0.02)
        assert landing.startswith(REDIRECT)
        params = {k: v[0] for k, v in parse_qs(urlsplit(landing).query).items()}
        assert params["state"] == "s-123"
        if "code" in params:
            token = await _trade(browser, base, params["code"], verifier)
            assert await _models_status(base, token) == 200
            params["access_token"] = token
        return params


async def _models_status(base: str, token: str) -> int:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status


async def _trade(browser: aiohttp.ClientSession, base: str, code: str, verifier: str) -> str:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    async with browser.post(f"{base}/oauth/token", data=form) as r:
        body = await r.json()
        assert r.status == 200, body
    return str(body["access_token"])


@pytest.mark.parametrize(("button", "outcome"), [("Approve", "code"), ("Deny", "error")])
def test_the_desk_dialog_completes_the_browser_flow(
    qloop: qasync.QEventLoop, desktop: DesktopApp, button: str, outcome: str
) -> None:
    async def scenario() -> dict[str, str]:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None and desktop.consent is not None, "ui")
        try:
            return await _browser_flow(desktop, button)
        finally:
            desktop.request_quit()
            await run

    params = qloop.run_until_complete(scenario())
    assert outcome in params
    if outcome == "error":
        assert params["error"] == "access_denied"
    assert desktop.consent is None or desktop.consent.open_dialogs == {}


def test_revoking_a_grant_from_the_window_ends_its_tokens(
    qloop: qasync.QEventLoop, desktop: DesktopApp
) -> None:
    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None and desktop.consent is not None, "ui")
        assert desktop.window is not None and desktop.runtime is not None
        try:
            token = (await _browser_flow(desktop, "Approve"))["access_token"]
            panel = desktop.window.access
            assert "OAuth: on, consent required" in panel.summary.text()
            await panel.refresh()
            assert panel.table.rowCount() == 1
            assert panel.table.item(0, 1).text() == f"oauth:{CLIENT_ID}"
            panel.table.selectRow(0)
            panel.revoke_grant_button.click()
            box: QMessageBox = await until(
                lambda: panel.findChild(QMessageBox, "confirmRevoke"), "confirmation"
            )
            next(b for b in box.buttons() if b.text() == "Revoke").click()
            await until(lambda: "Revoked" in panel.notice.text(), "revoked notice")
            assert panel.table.rowCount() == 0
            assert await _models_status(desktop.runtime.base_url, token) == 401
        finally:
            desktop.request_quit()
            await run

    qloop.run_until_complete(scenario())


@pytest.mark.parametrize("desktop", [{"oauth_consent_timeout_ms": 400}], indirect=True)
def test_an_unanswered_dialog_expires_denies_and_closes(
    qloop: qasync.QEventLoop, desktop: DesktopApp
) -> None:
    async def scenario() -> dict[str, str]:
        run = asyncio.get_running_loop().create_task(desktop.run())
        await until(lambda: desktop.window is not None and desktop.consent is not None, "ui")
        try:
            params = await _browser_flow(desktop, None)
            assert desktop.consent is not None and desktop.consent.open_dialogs == {}
            return params
        finally:
            desktop.request_quit()
            await run

    params = qloop.run_until_complete(scenario())
    assert params["error"] == "access_denied"
    assert "in time" in params["error_description"]
