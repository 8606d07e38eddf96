"""The upstream client through a real proxy (tinyproxy) to real servers on loopback.

The origins are on 127.0.0.1, which the client always reaches directly in use; these tests
build their clients with `proxy_loopback=True` (the `gateway.proxy_loopback` setting) so a
loopback origin goes through the proxy as a remote API would. The tests of the bypass itself
leave it off.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from llmgw_desktop.engine.gateway.dialects.by_name import addressed
from llmgw_desktop.engine.gateway.http_client.http1 import ConnectError, Http1Client, ProxyRefused
from llmgw_desktop.engine.gateway.http_client.proxies import ProxyRules
from llmgw_desktop.engine.gateway.http_client.tls import TrustStore
from llmgw_desktop.engine.gateway.http_client.upstream import (
    UpstreamClient,
    UpstreamFailure,
)
from tests.fakes.loopback import answering_with
from tests.network_fixtures import CertAuthority, Tinyproxy, make_test_ca, running_tinyproxy
from tests.ports import free_port

WAIT_S = 5.0
USER, PASSWORD = "gateway", "s3cret-proxy-pass"


# -- origins and proxies ----------------------------------------------------------------------


@dataclass
class Origin:
    """An aiohttp app on 127.0.0.1 serving both plain http and https (test CA) ports."""

    http_port: int = 0
    https_ports: list[int] = field(default_factory=list)
    peers: list[tuple[int, int]] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def https_url(self, which: int = 0) -> str:
        return f"https://127.0.0.1:{self.https_ports[which]}"


@pytest.fixture
def test_ca(tmp_path: Path) -> CertAuthority:
    return make_test_ca(tmp_path)


@pytest.fixture
async def origin(test_ca: CertAuthority) -> AsyncIterator[Origin]:
    state = Origin()

    async def echo(request: web.Request) -> web.Response:
        assert request.transport is not None
        local = request.transport.get_extra_info("sockname")[1]
        state.peers.append((local, request.transport.get_extra_info("peername")[1]))
        return web.json_response(
            {
                "host": request.headers.get("Host"),
                "path_qs": request.path_qs,
                "via": request.headers.get("Via"),
                "proxy_authorization": request.headers.get("Proxy-Authorization"),
            }
        )

    app = web.Application()
    app.router.add_get("/echo", echo)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    for _ in range(2):
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=test_ca.server_context()).start()
    state.http_port, *state.https_ports = (int(a[1]) for a in runner.addresses)
    yield state
    await runner.cleanup()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    with running_tinyproxy(tmp_path) as running:
        yield running


@pytest.fixture
def auth_proxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    with running_tinyproxy(tmp_path, basic_auth=(USER, PASSWORD)) as running:
        yield running


def client_via(
    environ: dict[str, str], test_ca: CertAuthority, *, proxy_loopback: bool = True
) -> Http1Client:
    return Http1Client(
        connect_timeout_s=WAIT_S,
        proxies=ProxyRules.from_environ(environ, proxy_loopback=proxy_loopback),
        trust=TrustStore(ca_bundle=str(test_ca.ca_file)),
    )


async def get_json(client: Http1Client, url: str) -> dict[str, str | None]:
    response = await client.request("GET", url, headers={}, head_timeout_s=WAIT_S)
    try:
        assert response.status == 200
        answer: dict[str, str | None] = json.loads(await response.read(timeout_s=WAIT_S))
        return answer
    finally:
        response.release()


async def logged(proxy: Tinyproxy, pattern: str) -> str:
    return await asyncio.to_thread(proxy.wait_for_log, pattern)


# -- through the proxy ------------------------------------------------------------------------


async def test_http_upstream_goes_through_the_proxy_in_absolute_form(
    proxy: Tinyproxy, origin: Origin, test_ca: CertAuthority
) -> None:
    client = client_via({"HTTP_PROXY": proxy.url}, test_ca)
    try:
        answer = await get_json(client, origin.http_url + "/echo?q=1")
    finally:
        await client.close()
    assert "tinyproxy" in (answer["via"] or "")
    assert answer["host"] == f"127.0.0.1:{origin.http_port}"
    assert answer["path_qs"] == "/echo?q=1"
    await logged(proxy, rf"Request .*: GET {origin.http_url}/echo\?q=1 HTTP/1.1")


async def test_https_upstream_goes_through_a_connect_tunnel(
    proxy: Tinyproxy, origin: Origin, test_ca: CertAuthority
) -> None:
    client = client_via({"HTTPS_PROXY": proxy.url}, test_ca)
    try:
        answer = await get_json(client, origin.https_url() + "/echo")
    finally:
        await client.close()
    # Inside the tunnel the proxy sees only TLS: it can add nothing to the request.
    assert answer["via"] is None
    assert answer["host"] == f"127.0.0.1:{origin.https_ports[0]}"
    await logged(proxy, rf"CONNECT 127.0.0.1:{origin.https_ports[0]} HTTP/1.1")


async def test_untrusted_certificate_through_the_tunnel_is_a_connect_error(
    proxy: Tinyproxy, origin: Origin
) -> None:
    client = Http1Client(
        connect_timeout_s=WAIT_S,
        proxies=ProxyRules.from_environ({"HTTPS_PROXY": proxy.url}, proxy_loopback=True),
    )
    try:
        with pytest.raises(ConnectError) as caught:
            await client.request("GET", origin.https_url() + "/echo", headers={})
    finally:
        await client.close()
    message = str(caught.value)
    assert f"through proxy {proxy.url} failed" in message
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert origin.peers == []


async def test_a_tunnel_is_reused_only_for_its_own_origin(
    proxy: Tinyproxy, origin: Origin, test_ca: CertAuthority
) -> None:
    client = client_via({"HTTPS_PROXY": proxy.url}, test_ca)
    try:
        await get_json(client, origin.https_url(0) + "/echo")
        await get_json(client, origin.https_url(0) + "/echo")
        await get_json(client, origin.https_url(1) + "/echo")
    finally:
        await client.close()
    first, second, other = origin.peers
    assert first == second  # the same tunnel, so the same proxy-side socket
    assert other[0] == origin.https_ports[1] and other[1] != first[1]
    await logged(proxy, rf"CONNECT 127.0.0.1:{origin.https_ports[1]} ")
    assert len(proxy.logged(rf"CONNECT 127.0.0.1:{origin.https_ports[0]} ")) == 1


async def test_proxy_credentials_are_sent_as_basic_auth(
    auth_proxy: Tinyproxy, origin: Origin, test_ca: CertAuthority
) -> None:
    url = auth_proxy.url_with(USER, PASSWORD)
    client = client_via({"HTTPS_PROXY": url, "HTTP_PROXY": url}, test_ca)
    try:
        tunnelled = await get_json(client, origin.https_url() + "/echo")
        plain = await get_json(client, origin.http_url + "/echo")
    finally:
        await client.close()
    # The proxy consumes its own login: the upstream never sees it.
    assert tunnelled["proxy_authorization"] is None
    assert plain["proxy_authorization"] is None and "tinyproxy" in (plain["via"] or "")


@pytest.mark.parametrize(
    ("scheme", "password", "statuses"),
    [
        # tinyproxy answers a wrong password with 401 where RFC 9110 (and Squid) say 407.
        ("https", "wrong-password", {401, 407}),
        ("https", None, {407}),
        # Only 407 tells a proxy's refusal from the upstream's own answer on plain http.
        ("http", None, {407}),
    ],
)
async def test_refused_proxy_login_is_a_connect_error_naming_the_proxy(
    auth_proxy: Tinyproxy,
    origin: Origin,
    test_ca: CertAuthority,
    scheme: str,
    password: str | None,
    statuses: set[int],
) -> None:
    url = auth_proxy.url if password is None else auth_proxy.url_with(USER, password)
    client = client_via({"HTTPS_PROXY": url, "HTTP_PROXY": url}, test_ca)
    target = origin.https_url() if scheme == "https" else origin.http_url
    try:
        with pytest.raises(ProxyRefused) as caught:
            await client.request("GET", target + "/echo", headers={}, head_timeout_s=WAIT_S)
    finally:
        await client.close()
    assert caught.value.status in statuses
    assert auth_proxy.url in str(caught.value) and str(caught.value.status) in str(caught.value)
    assert "wrong-password" not in str(caught.value)
    assert origin.peers == []


async def test_refused_tunnel_lets_the_gateway_fall_back(
    auth_proxy: Tinyproxy, origin: Origin, test_ca: CertAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = UpstreamClient(
        connect_timeout_s=WAIT_S,
        read_timeout_s=WAIT_S,
        environ={"HTTPS_PROXY": auth_proxy.url_with(USER, "wrong-password")},
        ca_bundle=str(test_ca.ca_file),
        proxy_loopback=True,
    )
    target = addressed("openai", origin.https_url() + "/v1", "openai-chat", "gpt-x", "sk-1", "")
    try:
        with pytest.raises(UpstreamFailure) as caught:
            await upstream.send(target, {"model": "gpt-x", "messages": []}, stream=False)
    finally:
        await upstream.close()
    failure = caught.value
    assert (failure.kind, failure.fallback, failure.status) == ("connect", True, None)
    assert f"proxy {auth_proxy.url} refused a tunnel" in failure.message
    assert "wrong-password" not in failure.message
    assert "wrong-password" not in caplog.text


async def test_proxy_that_is_down_is_a_connect_error_naming_it(
    origin: Origin, test_ca: CertAuthority
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = client_via({"HTTPS_PROXY": dead.replace("//", f"//{USER}:{PASSWORD}@")}, test_ca)
    try:
        with pytest.raises(ConnectError) as caught:
            await client.request("GET", origin.https_url() + "/echo", headers={})
    finally:
        await client.close()
    assert f"cannot reach proxy {dead}" in str(caught.value)
    assert PASSWORD not in str(caught.value)


# -- around the proxy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.1", "127.0.0.0/8", "*", "PORT", "other.example, 127.0.0.1"]
)
async def test_no_proxy_hosts_are_reached_directly(
    origin: Origin, test_ca: CertAuthority, no_proxy: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # used at all, and the request would fail
    port = origin.https_ports[0]
    environ = {"HTTPS_PROXY": dead, "NO_PROXY": no_proxy.replace("PORT", f"127.0.0.1:{port}")}
    client = client_via(environ, test_ca)
    try:
        answer = await get_json(client, origin.https_url() + "/echo")
    finally:
        await client.close()
    assert answer["host"] == f"127.0.0.1:{port}"


async def test_loopback_upstreams_bypass_the_proxy_by_default(
    proxy: Tinyproxy, origin: Origin, test_ca: CertAuthority
) -> None:
    environ = {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url}
    direct = client_via(environ, test_ca, proxy_loopback=False)
    proxied = client_via(environ, test_ca)
    try:
        await get_json(direct, origin.https_url(0) + "/echo")
        await get_json(direct, origin.http_url + "/echo")
        # Then one through the proxy: once the proxy logged it, it would have logged the
        # others before it.
        await get_json(proxied, origin.https_url(1) + "/echo")
    finally:
        await direct.close()
        await proxied.close()
    await logged(proxy, rf"CONNECT 127.0.0.1:{origin.https_ports[1]} ")
    assert len(proxy.logged(r"Request \(file descriptor")) == 1


# -- misbehaving proxies (scripted, on loopback) ----------------------------------------------


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "403 Forbidden"),
        (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", "502 Bad Gateway"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "did not answer CONNECT with HTTP"),
        (b"", "closed the connection instead of opening a tunnel"),
    ],
)
async def test_proxy_refusing_the_tunnel_is_a_connect_error(
    test_ca: CertAuthority, answer: bytes, words: str
) -> None:
    async with answering_with(answer) as port:
        client = client_via({"HTTPS_PROXY": f"127.0.0.1:{port}"}, test_ca)
        try:
            with pytest.raises(ProxyRefused) as caught:
                await client.request("GET", "https://127.0.0.1:1/echo", headers={})
        finally:
            await client.close()
    assert words in str(caught.value)
    assert f"proxy http://127.0.0.1:{port}" in str(caught.value)


async def test_unsupported_proxy_scheme_fails_requests_instead_of_going_direct(
    origin: Origin, test_ca: CertAuthority
) -> None:
    client = client_via({"HTTPS_PROXY": "socks5://127.0.0.1:1080"}, test_ca)
    try:
        with pytest.raises(ConnectError, match="only http:// proxies"):
            await client.request("GET", origin.https_url() + "/echo", headers={})
    finally:
        await client.close()
    assert origin.peers == []


# -- uvloop (headless mode's loop) ------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not used on Windows")
def test_tunnel_works_on_uvloop(proxy: Tinyproxy, test_ca: CertAuthority) -> None:
    import uvloop

    async def scenario() -> tuple[dict[str, str | None], dict[str, str | None]]:
        async def echo(request: web.Request) -> web.Response:
            return web.json_response({"host": request.headers["Host"]})

        app = web.Application()
        app.router.add_get("/echo", echo)
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=test_ca.server_context())
        await site.start()
        url = f"https://127.0.0.1:{runner.addresses[0][1]}/echo"
        client = client_via({"HTTPS_PROXY": proxy.url}, test_ca)
        try:
            return await get_json(client, url), await get_json(client, url)
        finally:
            await client.close()
            await runner.cleanup()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        first, second = runner.run(scenario())
    assert first == second and (first["host"] or "").startswith("127.0.0.1:")
    proxy.wait_for_log(r"CONNECT 127\.0\.0\.1:\d+ HTTP/1.1")
    assert len(proxy.logged(r"CONNECT 127\.0\.0\.1:\d+ HTTP/1.1")) == 1  # reused
