"""The browser side of an OAuth authorization that waits for consent at the desk.

Shared by the consent dialog and Clients page tests: a desktop app configured with one static
client that needs consent, and a browser (aiohttp) that starts the authorization, waits on the
consent page as its script does, lands on the client's redirect URI, and trades the code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from llmgw_desktop.config.settings import LoadedSettings

CLIENT_ID = "desk-editor"
CLIENT_NAME = "Desk editor"
CLIENT_SECRET = "desk-editor-secret-0123456789-abcdefghij"
REDIRECT = "http://127.0.0.1:9/callback"
LANDING_TIMEOUT = 10.0


def consent_settings(
    loaded: LoadedSettings, extra: Mapping[str, Any] | None = None
) -> LoadedSettings:
    """OAuth on, consent required, one static client; `extra` overrides settings."""
    settings = loaded.settings.with_values(
        {
            "http.port": 0,
            "http.oauth.enabled": True,
            "http.oauth.require_consent": True,
            "http.oauth.clients": {
                CLIENT_ID: {
                    "name": CLIENT_NAME,
                    "redirect_uris": [REDIRECT],
                    "client_secret_sha256": hashlib.sha256(CLIENT_SECRET.encode()).hexdigest(),
                }
            },
            **(extra or {}),
        }
    )
    return replace(loaded, settings=settings)


async def models_status(base: str, token: str) -> int:
    """What GET /v1/models answers to this bearer token."""
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status


class Browser:
    """One authorization's browser: start, wait for the answer, trade the code."""

    def __init__(self, session: aiohttp.ClientSession, base: str, state: str = "s-1") -> None:
        self.session, self.base, self.state = session, base, state
        self.verifier = secrets.token_urlsafe(48)
        self.consent_page = ""

    async def start(self) -> str:
        """Ask to authorize; returns the consent page's text (the browser now waits on it)."""
        digest = hashlib.sha256(self.verifier.encode()).digest()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT,
                "scope": "mcp",
                "state": self.state,
                "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        authorize = f"{self.base}/oauth/authorize?{query}"
        async with self.session.get(authorize, allow_redirects=False) as r:
            assert r.status in (302, 303), await r.text()
            self.consent_page = self.base + r.headers["Location"]
        async with self.session.get(self.consent_page) as r:
            assert r.status == 200
            return await r.text()

    async def landing(self) -> dict[str, str]:
        """Poll as the consent page's script does until it is answered; the query the browser
        lands on at the client's redirect URI."""

        async def next_url() -> str | None:
            async with self.session.get(self.consent_page + "/status") as r:
                return (await r.json())["next"]  # type: ignore[no-any-return]

        async with asyncio.timeout(LANDING_TIMEOUT):
            while (landing := await next_url()) is None:  # noqa: ASYNC110 - polls like the page
                await asyncio.sleep(0.02)
        assert landing.startswith(REDIRECT)
        params = {k: v[0] for k, v in parse_qs(urlsplit(landing).query).items()}
        assert params["state"] == self.state
        return params

    async def trade(self, code: str) -> str:
        """The access token for `code` (PKCE verifier and client secret included)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": self.verifier,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        async with self.session.post(f"{self.base}/oauth/token", data=form) as r:
            body = await r.json()
            assert r.status == 200, body
        return str(body["access_token"])
