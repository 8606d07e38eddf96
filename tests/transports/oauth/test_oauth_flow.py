"""The OAuth server end to end, driven by the `mcp` SDK's real OAuth client against a running
gateway: discovery, authorization with PKCE, token exchange, MCP calls with the token, refresh,
consent through the web page, and tokens that outlive a restart."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest
from mcp.client.auth import OAuthClientProvider

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.hashing import hash_password
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.app_keys import OAUTH
from tests.gateways import gateway_starter
from tests.mcp_wire import mcp_session
from tests.ports import free_port
from tests.security._oauth_support import (
    PASSWORD,
    Browser,
    MemoryStorage,
    sdk_provider,
    static_client_info,
)
from tests.transports.auth.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT, oauth_settings


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


async def call_health(gateway: GatewayRuntime, provider: OAuthClientProvider) -> dict[str, Any]:
    async with mcp_session(gateway.mcp_url, auth=provider, timeout=30) as client:
        result = await client.call_tool("llm_process_health", {})
    assert not result.is_error, result
    return dict(result.structured_content or {})


async def test_full_oauth_flow_with_the_sdk_client(start: Any) -> None:
    gateway = await start(oauth_settings())
    browser, storage = Browser(), MemoryStorage(static_client_info())
    health = await call_health(gateway, sdk_provider(gateway, browser, storage))
    assert health["engine"]
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert browser.result is not None and browser.result.iss  # RFC 9207 issuer came back
    rows = await gateway.engine.recorder.recent(limit=5)
    assert all(r["owner_principal"] != f"oauth:{CLIENT_ID}" for r in rows)  # no provider calls


async def test_an_unauthenticated_mcp_request_is_pointed_at_the_metadata(start: Any) -> None:
    gateway = await start(oauth_settings())
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
    gateway = await start(oauth_settings({"http.oauth.access_token_ttl_s": 1}))
    browser, storage = Browser(), MemoryStorage(static_client_info())
    provider = sdk_provider(gateway, browser, storage)
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
    gateway = await start(oauth_settings(), port=port)
    browser, storage = Browser(), MemoryStorage(static_client_info())
    await call_health(gateway, sdk_provider(gateway, browser, storage))
    await stop(gateway)
    again = await start(oauth_settings(), port=port)
    browser_again = Browser()
    await call_health(again, sdk_provider(again, browser_again, storage))
    assert browser_again.result is None  # no new authorization was needed


async def test_consent_through_the_web_page_with_password_and_csrf(start: Any) -> None:
    gateway = await start(
        oauth_settings(
            {
                "http.oauth.require_consent": True,
                "http.oauth.consent_password_hash": hash_password(PASSWORD),
            }
        )
    )
    browser, storage = Browser(password=PASSWORD), MemoryStorage(static_client_info())
    await call_health(gateway, sdk_provider(gateway, browser, storage))
    assert any("Laptop editor" in page for page in browser.pages)


async def _asking_consent(start: Any) -> tuple[GatewayRuntime, str]:
    """A gateway whose clients need consent, given at its web page with the consent
    password; the authorization URL a browser opens."""
    gateway = await start(
        oauth_settings(
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
    return gateway, authorize


async def test_consent_form_without_the_csrf_cookie_is_refused(start: Any) -> None:
    gateway, authorize = await _asking_consent(start)
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


class _Buttons(HTMLParser):
    """The consent form's submit buttons, in tree order: (name, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.buttons: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "button":
            found = dict(attrs)
            self.buttons.append((found.get("name") or "", found.get("value") or ""))


async def test_enter_in_the_consent_password_denies_as_everywhere_else(start: Any) -> None:
    """HTML submits a form on Enter with its first submit button: that was Approve, so a
    password typed and Enter pressed granted access, where every approval at the desk denies
    on Enter. Deny is now the first button (and on the left, as at the desk)."""
    gateway, authorize = await _asking_consent(start)
    # A browser keeps the page's CSRF cookie (aiohttp's jar takes none from an IP unless told).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(authorize, allow_redirects=False) as r:
            consent_url = gateway.base_url + r.headers["Location"]
        async with browser.get(consent_url) as r:
            page = await r.text()
        form = _Buttons()
        form.feed(page)
        assert form.buttons == [("decision", "deny"), ("decision", "approve")], form.buttons
        csrf = re.search(r"name=csrf value='([^']+)'", page)
        assert csrf is not None
        # What the browser sends on Enter: the fields and its default (first) button.
        name, value = form.buttons[0]
        async with browser.post(
            consent_url,
            data={"csrf": csrf.group(1), "password": PASSWORD, name: value},
            headers={"Origin": gateway.base_url},
            allow_redirects=False,
        ) as r:
            assert r.status == 303, await r.text()
            landing = r.headers["Location"]
    assert landing.startswith(REDIRECT) and "error=access_denied" in landing, landing
    assert "code=" not in landing


async def test_oauth_handlers_are_module_functions_reachable_by_name(start: Any) -> None:
    # As the gateway's routes (tests/transports/gateway/test_route_handlers.py): each handler
    # can be imported and named, and finds the OAuth server through its request's app.
    gateway = await start(oauth_settings())
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
