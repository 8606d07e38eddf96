"""Connect with OAuth on and no static token (issue 25 item 11): "Issue a token for this app"
makes a working token. The copied OpenAI SDK snippet, run as written with the official `openai`
SDK, calls the running gateway; revoking the grant in the Access panel stops it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import openai
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, AccessDenied, OAuthError, Principal
from llmgw_desktop.ui.main_window import MainWindow
from llmgw_desktop.ui.pages.connect_page import ConnectPage
from llmgw_desktop.ui.qt import QGuiApplication, QMessageBox
from tests.fakes.upstream import Reply
from tests.ui.desk_gateway import Desk, OnGateway, OnWindow, shown_page
from tests.ui.oauth_browser import CLIENT_ID, consent_settings
from tests.waiting import until

APP = "Nightly report"
CLIENT = "desk-nightly-report"


def _ask(namespace: dict[str, Any]) -> str:
    """One chat call with the `client` the snippet made (runs in a thread: the SDK blocks)."""
    reply = namespace["client"].chat.completions.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}], max_tokens=16
    )
    return str(reply.choices[0].message.content)


def test_an_issued_token_works_in_the_copied_snippet_until_revoked(
    on_window: OnWindow, loaded: LoadedSettings
) -> None:
    async def body(_desk: Desk, window: MainWindow) -> None:
        page = shown_page(window, ConnectPage)
        assert page.issue_box is not None
        assert page.issue_box.isVisible()
        page.app_name.setText(APP)
        page.issue_button.click()
        await until(lambda: page.issued_copy_buttons, "the issued snippets")
        assert CLIENT in page.issue_notice.text()
        page.issued_copy_buttons["OpenAI SDK (Python)"].click()
        code = QGuiApplication.clipboard().text()
        assert code.startswith("from openai import OpenAI") and "llmgw_at_" in code
        assert code == page.issued_view.text()

        namespace: dict[str, Any] = {}
        exec(code, namespace)  # the snippet exactly as copied
        answer = await asyncio.wait_for(asyncio.to_thread(_ask, namespace), 30)
        assert "from upstream" in answer

        # Revoked in the Access panel, as a person would: select, Revoke, confirm.
        panel = window.access
        await panel.refresh()
        rows = [panel.table.item(r, 1).text() for r in range(panel.table.rowCount())]
        assert f"OAuth client {CLIENT}" in rows
        panel.table.selectRow(rows.index(f"OAuth client {CLIENT}"))
        panel.revoke_grant_button.click()
        box: QMessageBox = await until(
            lambda: panel.findChild(QMessageBox, "confirmRevoke"), "confirmation"
        )
        next(b for b in box.buttons() if b.text() == "Revoke").click()
        await until(lambda: "Revoked" in panel.notice.text(), "revoked")
        with pytest.raises(openai.AuthenticationError):
            await asyncio.wait_for(asyncio.to_thread(_ask, namespace), 30)

    on_window(body, loaded=consent_settings(loaded), replies=(Reply.ok("from upstream"),))


def test_issuing_is_the_operators_and_never_takes_over_another_client(
    on_gateway: OnGateway, loaded: LoadedSettings
) -> None:
    taken = consent_settings(loaded)
    clients = dict(taken.settings.http.oauth.clients)
    clients["desk-taken"] = dict(clients[CLIENT_ID])  # a configured client with a desk-like id
    taken = replace(taken, settings=taken.settings.with_values({"http.oauth.clients": clients}))

    async def body(desk: Desk) -> None:
        oauth = desk.runtime.engine.oauth
        assert oauth is not None
        with pytest.raises(AccessDenied):
            await oauth.issue_for_desk(Principal("oauth:laptop", "oauth", frozenset()), APP)
        with pytest.raises(OAuthError, match="invalid_scope"):
            await oauth.issue_for_desk(LOCAL_CALLER, "x", scopes=("everything",))
        with pytest.raises(OAuthError, match="invalid_request"):
            await oauth.issue_for_desk(LOCAL_CALLER, "  !!  ")
        # A configured client is never taken over, even when a name gives its id.
        with pytest.raises(OAuthError, match="not made at the desk"):
            await oauth.issue_for_desk(LOCAL_CALLER, "Taken")
        first = await oauth.issue_for_desk(LOCAL_CALLER, APP)
        again = await oauth.issue_for_desk(LOCAL_CALLER, APP)
        assert first.client_id == again.client_id == CLIENT
        assert first.grant_id != again.grant_id  # two grants, each revocable alone
        assert first.access_token != again.access_token

    on_gateway(body, loaded=taken)
