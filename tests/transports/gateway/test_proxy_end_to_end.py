"""A whole gateway behind a corporate-style proxy: the `openai` SDK calls the gateway, which
reaches an https OpenAI upstream (test CA) through tinyproxy with a CONNECT tunnel.

The upstream is on loopback, which the gateway always reaches directly unless
`gateway.proxy_loopback` says otherwise: here it does, so the proxy path is the one a remote
API would take.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.network_fixtures import CertAuthority, Tinyproxy, make_test_ca, running_tinyproxy
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory


@pytest.fixture
def test_ca(tmp_path: Path) -> CertAuthority:
    return make_test_ca(tmp_path)


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    with running_tinyproxy(tmp_path) as running:
        yield running


@pytest.fixture
async def tls_upstream(test_ca: CertAuthority) -> AsyncIterator[ScriptedUpstream]:
    upstream = ScriptedUpstream()
    await upstream.start(ssl_context=test_ca.server_context())
    try:
        yield upstream
    finally:
        await upstream.close()


async def test_openai_sdk_answer_comes_back_through_proxy_and_tls(
    start_gateway: GatewayFactory,
    tls_upstream: ScriptedUpstream,
    proxy: Tinyproxy,
    test_ca: CertAuthority,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_upstream.base_url.startswith("https://127.0.0.1:")
    monkeypatch.setenv("OPENAI_BASE_URL", tls_upstream.base_url + "/v1")
    # The lowercase names win over the uppercase ones, so a developer's own must not linger.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("https_proxy", proxy.url)
    gateway = await start_gateway(
        {"gateway.ca_bundle": str(test_ca.ca_file), "gateway.proxy_loopback": True}
    )
    async with openai_client(gateway) as client:
        reply = await client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
        )
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "And of Italy?"}], stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
    assert DEFAULT_ANSWER in streamed
    extra = reply.model_extra or {}
    assert extra["x_gateway"]["resolvedProvider"] == "openai"
    assert extra["x_gateway"]["fallbackUsed"] is False
    assert [r.path for r in tls_upstream.llm_requests] == ["/v1/chat/completions"] * 2
    port = tls_upstream.base_url.rsplit(":", 1)[1]
    await asyncio.to_thread(proxy.wait_for_log, rf"CONNECT 127\.0\.0\.1:{port} HTTP/1.1")
