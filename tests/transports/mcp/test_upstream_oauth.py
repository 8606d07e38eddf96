"""A Streamable HTTP server that wants its user signed in (`oauth = true`): the SDK's OAuth
client signs in through a loopback redirect, the tokens live in the vault, and a restarted
gateway uses them without asking again.

The server is real: the Python SDK's own server-side auth (its authorization server handlers,
dynamic client registration, PKCE, bearer checks), started on loopback by the test
(tests/fakes/mcp_oauth_server.py). The only stand-in is the person at the browser: the test
takes the sign-in URL the gateway would open in the system browser and follows its redirects
with aiohttp, which brings the code to the gateway's loopback listener as a browser would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import start_runtime
from tests.transports.mcp.upstream_support import local_mcp, oauth_protected_server, rows

FOLLOW_S = 60.0


@pytest.fixture
def oauth_server() -> Iterator[str]:
    """The OAuth-protected server on loopback; its /mcp URL."""
    with oauth_protected_server() as url:
        yield url


class Browser:
    """Stands in for the system browser: follows the sign-in URL's redirects (the server's
    /authorize answers with a redirect to the gateway's loopback callback)."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.landed: list[tuple[int, str]] = []

    def open(self, url: str) -> None:
        # Called in a worker thread, as the system browser would be: its own loop here.
        self.opened.append(url)
        self.landed.append(asyncio.run(self._follow(url)))

    async def _follow(self, url: str) -> tuple[int, str]:
        timeout = aiohttp.ClientTimeout(total=FOLLOW_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url, allow_redirects=True) as response,
        ):
            return response.status, await response.text()


class PageFirst(Browser):
    """A page elsewhere on the machine knocks on the sign-in's listener before the user's
    browser is redirected to it: redirects with its own code and a guessed state (plain, then
    not ASCII), one with the sign-in's own state under a rebound name, then the user's sign-in
    as usual."""

    def open(self, url: str) -> None:
        query = parse_qs(urlparse(url).query)
        callback = query["redirect_uri"][0]
        port = urlparse(callback).port
        knocks = (
            ({"code": "the-pages-own-code", "state": "guessed"}, {}),
            # Not ASCII: the comparison refused to compare it (a 500, not the 400 of any guess).
            ({"code": "the-pages-own-code", "state": "gu\u00e9ss\u00e9"}, {}),
            (
                {"code": "the-pages-own-code", "state": query["state"][0]},
                {"Host": f"rebind.attacker.example:{port}"},
            ),
        )
        for params, headers in knocks:
            self.landed.append(asyncio.run(self._knock(callback, params, headers)))
        super().open(url)

    async def _knock(
        self, url: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, params=params, headers=headers) as response,
        ):
            return response.status, await response.text()


async def _start(loaded: LoadedSettings, url: str) -> tuple[GatewayRuntime, InstanceLock]:
    settings = loaded.settings.with_values(
        {"http.port": 0, "mcp.servers": {"guarded": {"url": url, "oauth": True}}}
    )
    return await start_runtime(loaded, settings)


async def _call_through(gateway: GatewayRuntime) -> tuple[Any, list[str], Any]:
    async with local_mcp(gateway) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        hello = await client.call_tool("guarded__hello", {"name": "Ada"})
        sign_ins = await client.call_tool("guarded__sign_ins", {})
    return hello, names, sign_ins


async def _through_a_new_gateway(
    loaded: LoadedSettings, url: str, browser: Browser
) -> tuple[Any, list[str], Any]:
    """`_call_through` a gateway started for it, whose sign-ins `browser` follows."""
    gateway, lock = await _start(loaded, url)
    try:
        gateway.engine.upstream_mcp.open_url = browser.open
        return await _call_through(gateway)
    finally:
        await gateway.stop()
        lock.release()


async def test_the_user_signs_in_once_and_the_token_outlives_a_restart(
    loaded: LoadedSettings, oauth_server: str
) -> None:
    browser = Browser()
    gateway, lock = await _start(loaded, oauth_server)
    try:
        gateway.engine.upstream_mcp.open_url = browser.open
        hello, names, sign_ins = await _call_through(gateway)
        recorded = await rows(gateway, "guarded")
        vault_files = await gateway.engine.vault.resolve_files("mcp-oauth.guarded")
    finally:
        await gateway.stop()
        lock.release()
    assert len(browser.opened) == 1, browser.opened
    ((status, page),) = browser.landed
    assert status == 200 and "Signed in to the MCP server guarded" in page, (status, page)
    assert "guarded__hello" in names, names
    assert not hello.is_error and "hello, Ada, from behind OAuth" in hello.content[0].text
    assert sign_ins.content[0].text == "1", sign_ins
    assert {"guarded__hello", "guarded__sign_ins"} <= {r["tool"] for r in recorded}, recorded
    # The token and the registration are sealed in the vault, not written in config.toml.
    assert {"tokens.json", "client.json"} <= set(vault_files), vault_files
    config_file = loaded.config_file
    config_text = config_file.read_text() if config_file and config_file.exists() else ""
    assert "access_token" not in config_text

    # A restarted gateway reads the token from the vault: no browser, no new code issued.
    again = Browser()
    hello, _, sign_ins = await _through_a_new_gateway(loaded, oauth_server, again)
    assert again.opened == [], again.opened
    assert not hello.is_error and "from behind OAuth" in hello.content[0].text, hello
    assert sign_ins.content[0].text == "1", sign_ins


async def test_a_server_waiting_for_sign_in_says_so(
    loaded: LoadedSettings, oauth_server: str
) -> None:
    """Nobody follows the sign-in URL: the page's state says sign-in is needed and shows the
    URL, and a call says so in a structured error instead of hanging."""
    opened: list[str] = []
    gateway, lock = await _start(loaded, oauth_server)
    try:
        servers = gateway.engine.upstream_mcp
        servers.open_url = opened.append
        first = asyncio.create_task(servers.test("guarded"))  # starts it; the sign-in begins
        for _ in range(600):  # bounded: 60 s in steps of 0.1 s
            if servers.status()[0]["state"] == "needs_sign_in" or first.done():
                break
            await asyncio.sleep(0.1)
        tested = await servers.test("guarded")  # while a person is asked: at once, and why
        (status,) = servers.status()
        url = servers.sign_in_url("guarded")
        first.cancel()
    finally:
        await gateway.stop()
        lock.release()
    assert not tested["ok"], tested
    assert "needs sign-in" in tested["message"], tested
    assert status["state"] == "needs_sign_in", status
    assert status["needsSignIn"] is True, status
    assert url is not None and url == opened[0], (url, opened)
    # The address carries the sign-in's state: the desk has it, a caller's message does not.
    assert url not in tested["message"] and "Sign in" in tested["message"], tested
    assert "redirect_uri=http%3A%2F%2F127.0.0.1" in opened[0], opened


async def test_a_page_knocking_on_the_sign_in_listener_neither_ends_nor_joins_the_sign_in(
    loaded: LoadedSettings, oauth_server: str
) -> None:
    browser = PageFirst()
    hello, _, sign_ins = await _through_a_new_gateway(loaded, oauth_server, browser)
    (forged, not_ascii, rebound, (status, page)) = browser.landed
    assert forged[0] == 400, forged  # not the sign-in's state: refused, still waiting
    assert not_ascii[0] == 400, not_ascii
    assert rebound[0] == 421, rebound  # the sign-in's state under another name: refused
    assert status == 200 and "Signed in to the MCP server guarded" in page, (status, page)
    assert not hello.is_error and "from behind OAuth" in hello.content[0].text, hello
    assert sign_ins.content[0].text == "1", sign_ins
