"""Shared by the OAuth attack tests: a running gateway with its OAuth server on, HTTP callers that
connect from chosen loopback addresses (127.0.0.1 is the user, 127.0.0.2 and up are attackers:
on Linux every 127.x address reaches a server on 127.0.0.1, and the server sees the real
source address), a browser stand-in for the consent page, and the `mcp` SDK's OAuth client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from llmgw_desktop.engine.auth.hashing import hash_password
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.mcp_wire import mcp_session
from tests.transports.auth.conftest import start_fixture  # noqa: F401 - re-exported: `start`

CLIENT_ID = "laptop-editor"
CLIENT_SECRET = "editor-secret-0123456789-abcdefghijklmnop"
OTHER_ID = "build-bot"
OTHER_SECRET = "build-bot-secret-0123456789-abcdefghijk"
REDIRECT = "http://127.0.0.1:9/callback"  # never opened: the tests read the redirect themselves
PASSWORD = "a long consent password"
USER = "127.0.0.1"
ATTACKER = "127.0.0.2"

Start = Callable[..., Awaitable[GatewayRuntime]]


def oauth_settings(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """OAuth on, with two confidential static clients."""
    return {
        "http.oauth.enabled": True,
        "http.oauth.clients": {
            client_id: {
                "name": name,
                "redirect_uris": [REDIRECT],
                "client_secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
            }
            for client_id, name, secret in (
                (CLIENT_ID, "Laptop editor", CLIENT_SECRET),
                (OTHER_ID, "Build bot", OTHER_SECRET),
            )
        },
        **(extra or {}),
    }


def consent_settings(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """As `oauth_settings`, with consent required and answered on the password-protected page."""
    return oauth_settings(
        {
            "http.oauth.require_consent": True,
            "http.oauth.consent_password_hash": hash_password(PASSWORD),
            **(extra or {}),
        },
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    cookies: list[str]  # the raw Set-Cookie values

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def location(self) -> str:
        return self.headers["Location"]


def session_from(source: str) -> aiohttp.ClientSession:
    """An HTTP client whose connections come from `source` (a loopback address), keeping no
    cookies of its own: tests send the cookies they mean to."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(source, 0), force_close=True),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def send(
    gateway: GatewayRuntime,
    method: str,
    path: str,
    *,
    source: str = USER,
    session: aiohttp.ClientSession | None = None,
    **kwargs: Any,
) -> Answer:
    """One real HTTP request to the running gateway, from `source`."""
    own = session is None
    client = session_from(source) if session is None else session
    try:
        async with client.request(
            method, gateway.base_url + path, allow_redirects=False, **kwargs
        ) as r:
            cookies = r.headers.getall("Set-Cookie", [])
            return Answer(r.status, dict(r.headers), await r.text(), cookies)
    finally:
        if own:
            await client.close()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize_query(challenge: str, client_id: str = CLIENT_ID, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "mcp",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **(extra or {}),
    }


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def csrf_of(page: str) -> str:
    found = re.search(r"name=csrf value='([^']+)'", page)
    assert found is not None, page
    return found.group(1)


def cookie_value(set_cookies: list[str], name: str) -> str:
    for raw in set_cookies:
        if raw.startswith(name + "="):
            return raw.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie in {set_cookies}")


async def token_request(
    gateway: GatewayRuntime,
    code: str,
    verifier: str,
    *,
    source: str = USER,
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
    **extra: str,
) -> Answer:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": client[0],
        "client_secret": client[1],
        **(extra or {}),
    }
    return await send(gateway, "POST", "/oauth/token", source=source, data=form)


async def code_flow(
    gateway: GatewayRuntime,
    *,
    source: str = USER,
    client: tuple[str, str] = (CLIENT_ID, CLIENT_SECRET),
    **extra: str,
) -> Answer:
    """The authorization-code flow with PKCE, no consent step: the token endpoint's answer."""
    verifier, challenge = pkce()
    query = authorize_query(challenge, client[0], **(extra or {}))
    authorized = await send(gateway, "GET", "/oauth/authorize", source=source, params=query)
    assert authorized.status == 302, authorized.text
    code = query_of(authorized.location)["code"]
    return await token_request(
        gateway, code, verifier, source=source, client=client, **(extra or {})
    )


class MemoryStorage:
    """Token storage for the SDK client (in memory: each test starts fresh)."""

    def __init__(self, client_info: OAuthClientInformationFull | None) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Browser:
    """The user's browser: follows the gateway's redirects to the client's redirect URI, and on
    the consent page types the password (after `typos` wrong ones) and approves."""

    def __init__(self, password: str | None = None, *, source: str = USER, typos: int = 0) -> None:
        self.result: AuthorizationCodeResult | None = None
        self.password = password
        self.source = source
        self.typos = typos
        self.pages: list[str] = []

    async def open(self, url: str) -> None:
        jar = aiohttp.CookieJar(unsafe=True)  # like a browser, keep cookies from 127.0.0.1
        connector = aiohttp.TCPConnector(local_addr=(self.source, 0))
        async with aiohttp.ClientSession(cookie_jar=jar, connector=connector) as session:
            for _ in range(20):
                if url.startswith(REDIRECT):
                    query = query_of(url)
                    if "code" not in query:
                        raise AssertionError(f"authorization refused: {query}")
                    self.result = AuthorizationCodeResult(
                        code=query["code"], state=query.get("state"), iss=query.get("iss")
                    )
                    return
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in (302, 303):
                        url = _absolute(url, response.headers["Location"])
                        continue
                    page = await response.text()
                    self.pages.append(page)
                    assert response.status == 200, page
                    url = await self._consent(session, url, page)
        raise AssertionError("too many redirects")

    async def _consent(self, session: aiohttp.ClientSession, url: str, page: str) -> str:
        assert self.password is not None, "a consent page appeared, but no password was given"
        for attempt in range(self.typos + 1):
            password = self.password if attempt == self.typos else f"typo {attempt}"
            form = {"csrf": csrf_of(page), "password": password, "decision": "approve"}
            async with session.post(url, data=form, allow_redirects=False) as response:
                if password != self.password:
                    assert response.status == 403, await response.text()
                    continue
                assert response.status == 303, await response.text()
                return _absolute(url, response.headers["Location"])
        raise AssertionError("unreachable")

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


def _absolute(base: str, location: str) -> str:
    if location.startswith("/"):
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}{location}"
    return location


def static_client_info() -> OAuthClientInformationFull:
    return OAuthClientInformationFull(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT],  # type: ignore[list-item]
        token_endpoint_auth_method="client_secret_post",
        scope="mcp",
    )


def sdk_provider(
    gateway: GatewayRuntime, browser: Browser, storage: MemoryStorage
) -> OAuthClientProvider:
    """The `mcp` SDK's OAuth client in its default configuration for this gateway."""
    return OAuthClientProvider(
        server_url=gateway.mcp_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[REDIRECT],  # type: ignore[list-item]
            client_name="Laptop editor",
            scope="mcp",
            token_endpoint_auth_method="client_secret_post",
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )


async def sdk_health(gateway: GatewayRuntime, browser: Browser) -> MemoryStorage:
    """Log in with the SDK's OAuth client (through `browser`) and call a tool over MCP."""
    storage = MemoryStorage(static_client_info())
    provider = sdk_provider(gateway, browser, storage)
    async with mcp_session(gateway.mcp_url, auth=provider, timeout=30) as client:
        result = await client.call_tool("llm_process_health", {})
    assert not result.is_error, result
    assert (result.structured_content or {}).get("engine")
    return storage
