"""The OAuth server end to end, driven by the `mcp` SDK's real OAuth client against a running
gateway: discovery, authorization with PKCE, token exchange, MCP calls with the token, refresh,
consent through the web page, and tokens that outlive a restart."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.hashing import hash_password
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.app_keys import OAUTH
from tests.conftest import free_port
from tests.gateways import gateway_starter

CLIENT_ID = "laptop-editor"
CLIENT_SECRET = "editor-secret-0123456789-abcdefghijklmnop"
REDIRECT = "http://127.0.0.1:9/callback"  # never opened: the test reads the redirect itself
PASSWORD = "a long consent password"


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


def static_client_settings(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "http.oauth.enabled": True,
        "http.oauth.clients": {
            CLIENT_ID: {
                "name": "Laptop editor",
                "redirect_uris": [REDIRECT],
                "client_secret_sha256": hashlib.sha256(CLIENT_SECRET.encode()).hexdigest(),
            }
        },
        **(extra or {}),
    }


@pytest.fixture
async def start(loaded: LoadedSettings) -> AsyncIterator[Callable[..., Awaitable[GatewayRuntime]]]:
    async with gateway_starter(loaded) as start_gateway:

        async def start_on(
            overrides: Mapping[str, Any] | None = None, port: int = 0
        ) -> GatewayRuntime:
            return await start_gateway({"http.port": port, **(overrides or {})})

        yield start_on


async def stop(runtime: GatewayRuntime) -> None:
    await runtime.stop()
    runtime._lock.release()  # the restarted gateway takes the same data dir


class Browser:
    """Stands in for the user's browser: follows the gateway's redirects until the client's
    redirect URI, where a real browser would hand the code to the app."""

    def __init__(self, password: str | None = None) -> None:
        self.result: AuthorizationCodeResult | None = None
        self.password = password
        self.pages: list[str] = []

    async def open(self, url: str) -> None:
        # unsafe=True: like a browser, keep cookies set by an IP-address host (127.0.0.1).
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            for _ in range(20):
                if url.startswith(REDIRECT):
                    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
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
        csrf = re.search(r"name=csrf value='([^']+)'", page)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "password": self.password, "decision": "approve"}
        async with session.post(url, data=form, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            return _absolute(url, response.headers["Location"])

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


def _absolute(base: str, location: str) -> str:
    if location.startswith("/"):
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}{location}"
    return location


def provider_for(
    gateway: GatewayRuntime, browser: Browser, storage: MemoryStorage
) -> OAuthClientProvider:
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


def static_client_info() -> OAuthClientInformationFull:
    return OAuthClientInformationFull(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT],  # type: ignore[list-item]
        token_endpoint_auth_method="client_secret_post",
        scope="mcp",
    )


async def call_health(gateway: GatewayRuntime, provider: OAuthClientProvider) -> dict[str, Any]:
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(gateway.mcp_url, http_client=http), mode="legacy") as client,
    ):
        result = await client.call_tool("llm_process_health", {})
    assert not result.is_error, result
    return dict(result.structured_content or {})


async def test_full_oauth_flow_with_the_sdk_client(start: Any) -> None:
    gateway = await start(static_client_settings())
    browser, storage = Browser(), MemoryStorage(static_client_info())
    health = await call_health(gateway, provider_for(gateway, browser, storage))
    assert health["engine"]
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert browser.result is not None and browser.result.iss  # RFC 9207 issuer came back
    rows = await gateway.engine.recorder.recent(limit=5)
    assert all(r["owner_principal"] != f"oauth:{CLIENT_ID}" for r in rows)  # no provider calls


async def test_an_unauthenticated_mcp_request_is_pointed_at_the_metadata(start: Any) -> None:
    gateway = await start(static_client_settings())
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}) as r,
    ):
        assert r.status == 401
        challenge = r.headers["WWW-Authenticate"]
    assert "/.well-known/oauth-protected-resource/mcp" in challenge
    async with aiohttp.ClientSession() as session:
        async with session.get(gateway.base_url + "/.well-known/oauth-protected-resource/mcp") as r:
            resource = await r.json()
        async with session.get(gateway.base_url + "/.well-known/oauth-authorization-server") as r:
            server = await r.json()
    assert resource["resource"] == gateway.mcp_url
    assert server["issuer"] == resource["authorization_servers"][0]
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert "registration_endpoint" not in server  # static clients only by default


async def test_refresh_is_used_when_the_access_token_expires(start: Any) -> None:
    gateway = await start(static_client_settings({"http.oauth.access_token_ttl_s": 1}))
    browser, storage = Browser(), MemoryStorage(static_client_info())
    provider = provider_for(gateway, browser, storage)
    await call_health(gateway, provider)
    first = storage.tokens
    assert first is not None
    # The SDK refreshes when it believes the token expired: make it believe so.
    provider.context.token_expiry_time = 1.0
    await call_health(gateway, provider)
    assert storage.tokens is not None and storage.tokens.access_token != first.access_token
    # The rotated-out refresh token is dead now, and using it again revokes the grant.
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.base_url + "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": first.refresh_token or "",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        ) as r,
    ):
        assert r.status == 400 and (await r.json())["error"] == "invalid_grant"
    verdict = await gateway.engine.auth.authenticate(
        {"Authorization": f"Bearer {storage.tokens.access_token}"}
    )
    assert verdict.principal is None


async def test_tokens_survive_a_restart(start: Any) -> None:
    port = free_port()
    gateway = await start(static_client_settings(), port=port)
    browser, storage = Browser(), MemoryStorage(static_client_info())
    await call_health(gateway, provider_for(gateway, browser, storage))
    await stop(gateway)
    again = await start(static_client_settings(), port=port)
    browser_again = Browser()
    await call_health(again, provider_for(again, browser_again, storage))
    assert browser_again.result is None  # no new authorization was needed


async def test_consent_through_the_web_page_with_password_and_csrf(start: Any) -> None:
    gateway = await start(
        static_client_settings(
            {
                "http.oauth.require_consent": True,
                "http.oauth.consent_password_hash": hash_password(PASSWORD),
            }
        )
    )
    browser, storage = Browser(password=PASSWORD), MemoryStorage(static_client_info())
    await call_health(gateway, provider_for(gateway, browser, storage))
    assert any("Laptop editor" in page for page in browser.pages)


async def test_consent_form_without_the_csrf_cookie_is_refused(start: Any) -> None:
    gateway = await start(
        static_client_settings(
            {
                "http.oauth.require_consent": True,
                "http.oauth.consent_password_hash": hash_password(PASSWORD),
            }
        )
    )
    authorize = (
        f"{gateway.base_url}/oauth/authorize?response_type=code&client_id={CLIENT_ID}"
        f"&redirect_uri={REDIRECT}&code_challenge={'a' * 43}&code_challenge_method=S256"
    )
    async with aiohttp.ClientSession() as browser:
        async with browser.get(authorize, allow_redirects=False) as r:
            consent_url = gateway.base_url + r.headers["Location"]
        async with browser.get(consent_url) as r:
            page = await r.text()
        csrf = re.search(r"name=csrf value='([^']+)'", page)
        assert csrf is not None
    # Another site can post the form but cannot read or send the strict same-site cookie.
    async with (
        aiohttp.ClientSession() as attacker,
        attacker.post(
            consent_url,
            data={"csrf": csrf.group(1), "password": PASSWORD, "decision": "approve"},
            allow_redirects=False,
        ) as r,
    ):
        assert r.status == 403
        assert "CSRF" in await r.text()
    pending = [p for p in gateway.engine.auth.consent.open_requests()]
    assert len(pending) == 1 and not pending[0].decided


async def test_oauth_handlers_are_module_functions_reachable_by_name(start: Any) -> None:
    # As the gateway's routes (tests/transports/gateway/test_route_handlers.py): each handler
    # can be imported and named, and finds the OAuth server through its request's app.
    gateway = await start(static_client_settings())
    app = gateway.http.app
    assert app[OAUTH] is gateway.engine.oauth
    handlers = {
        route.handler
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(("/oauth/", "/.well-known/oauth"))
    }
    assert {h.__name__ for h in handlers} == {
        "server_metadata",
        "resource_metadata",
        "authorize",
        "token",
        "register",
        "revoke",
        "show_consent",
        "consent_status",
        "answer_consent",
    }
    assert all(getattr(sys.modules[h.__module__], h.__name__) is h for h in handlers)
