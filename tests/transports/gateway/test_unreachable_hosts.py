"""A provider's host that takes no connections is rested, so each request does not pay for it
(`engine/gateway/http_client/unreachable.py`).

The black hole is real (`tests/fakes/black_hole.py`): a loopback listener whose accept queue is
full and never drained, so the kernel drops each new SYN and a connect waits out
`gateway.connect_timeout_ms`, as with a host gone from the network. OpenAI's base URL points at
it, with Anthropic as the fallback (the scripted upstream). Before: every request waited the
whole connect timeout, then fell back, and its attempt said `timeout` ("sent nothing"), though
nothing was ever sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from llmgw_desktop.engine.backoff import Backoff
from llmgw_desktop.engine.gateway.http_client import unreachable
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clock import Clock
from tests.fakes.black_hole import BlackHole
from tests.fakes.black_hole import black_hole as black_hole_at
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

FALLBACK_ROUTE = {"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}}
CONNECT_TIMEOUT_MS = 400
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    """A loopback port that takes no connections and refuses none."""
    with black_hole_at() as hole:
        yield hole


async def ask(gateway: GatewayRuntime) -> tuple[float, int, dict[str, Any]]:
    began = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.base_url + "/v1/chat/completions", json=CHAT) as response,
    ):
        body = await response.json()
        return time.perf_counter() - began, response.status, body


async def _openai_in(
    black_hole: BlackHole,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
    *,
    rest_s: float,
    clock: Clock | None = None,
) -> GatewayRuntime:
    """A gateway whose OpenAI host is `black_hole` (Anthropic the fallback), resting `rest_s`
    at first (measured by `clock`, where given)."""
    monkeypatch.setattr(unreachable, "REST", Backoff(rest_s, unreachable.REST.longest_s))
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{black_hole.port}/v1")
    return await start_gateway(
        {"gateway.routes": FALLBACK_ROUTE, "gateway.connect_timeout_ms": CONNECT_TIMEOUT_MS},
        monotonic=clock,
    )


def outcomes(body: dict[str, Any]) -> list[str]:
    return [attempt["outcome"] for attempt in body["x_gateway"]["attempts"]]


async def test_a_black_holed_host_is_rested_after_three_connect_failures_then_tried_again(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    black_hole: BlackHole,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    gateway = await _openai_in(black_hole, start_gateway, monkeypatch, rest_s=1.5, clock=clock)
    # Three requests each wait out the connect timeout, then fall back; each attempt says so.
    for _ in range(unreachable.FAILURES_TO_REST):
        took, status, body = await ask(gateway)
        assert status == 200 and outcomes(body) == ["connect", "ok"], body
        assert took >= CONNECT_TIMEOUT_MS / 1000 * 0.9, took
    failed = [
        r for r in await gateway.engine.recorder.recent(limit=10) if r["provider"] == "openai"
    ]
    assert [r["state"] for r in failed] == ["failed"] * unreachable.FAILURES_TO_REST, failed
    # Rested: the next requests go straight to the fallback, without a connect attempt (the
    # attempt says `resting`; no time bound: a loaded run stalls an answer past any small one).
    for _ in range(3):
        _took, status, body = await ask(gateway)
        assert status == 200 and outcomes(body) == ["resting", "ok"], body
    assert [(h.provider, h.origin) for h in gateway.engine.gateway.unreachable.rested()] == [
        ("openai", f"http://127.0.0.1:{black_hole.port}")
    ]
    # Passed over, not asked: no recorder row of an attempt for them.
    assert (
        len(
            [r for r in await gateway.engine.recorder.recent(limit=20) if r["provider"] == "openai"]
        )
        == 3
    )
    # The rest over, the host is tried again (still a black hole: a longer rest follows).
    clock.advance(1.6)
    took, status, body = await ask(gateway)
    assert outcomes(body) == ["connect", "ok"], body
    _, _, body = await ask(gateway)
    assert outcomes(body) == ["resting", "ok"], body


async def test_answers_that_fail_never_rest_a_host(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """What a caller sends can make an upstream answer 500 or 429, never fail to connect:
    failing answers, however many, leave the host to be asked (no caller rests it for all)."""
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    upstream.script(*[r for _ in range(6) for r in (Reply.error(500), Reply.ok())])
    for _ in range(6):
        _, status, body = await ask(gateway)
        assert status == 200 and outcomes(body) == ["500", "ok"], body
    assert gateway.engine.gateway.unreachable.rested() == []


async def test_an_answer_that_fails_ends_the_connect_failures_in_a_row(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """A 500 is an answer: a connection was made, so the connect failures before it no longer
    count toward a rest (docs/providers.md: "one connection made ends it")."""
    gateway = await start_gateway({"gateway.routes": FALLBACK_ROUTE})
    hosts = gateway.engine.gateway.unreachable
    base_url = upstream.base_url + "/v1"  # OpenAI's, as `point_providers_at` sets it
    for _ in range(unreachable.FAILURES_TO_REST - 1):
        hosts.failed("openai", base_url, "connection refused")
    upstream.script(Reply.error(500), Reply.ok())
    _, status, body = await ask(gateway)
    assert status == 200 and outcomes(body) == ["500", "ok"], body
    hosts.failed("openai", base_url, "connection refused")  # one, not three, in a row now
    assert hosts.rested() == []


async def _get(gateway: GatewayRuntime, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway.base_url + path) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json(content_type=None)


async def _rest_openai(gateway: GatewayRuntime) -> None:
    """Three requests whose OpenAI attempt cannot connect: its host rests."""
    for _ in range(unreachable.FAILURES_TO_REST):
        _, status, body = await ask(gateway)
        assert status == 200 and outcomes(body) == ["connect", "ok"], body


async def test_a_resting_host_shows_on_health_by_provider_only_and_in_detail_to_the_user(
    start_gateway: GatewayFactory, black_hole: BlackHole, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/health` (anyone on this machine) names the provider resting, never its base URL or
    what the URL carries; the process health (the local user) says where, how long and why,
    with the base URL's origin only (no user, password, path or query); `/v1/providers` says
    it fails, resting, and for how long."""
    secret = "hole-secret-4242"  # no key shape: it must be left out, not only masked
    where = f"127.0.0.1:{black_hole.port}"
    base_url = f"http://alice-{secret}:{secret}@{where}/v1/{secret}-path?key={secret}"
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    gateway = await start_gateway(
        {"gateway.routes": FALLBACK_ROUTE, "gateway.connect_timeout_ms": CONNECT_TIMEOUT_MS}
    )
    await _rest_openai(gateway)

    health = await _get(gateway, "/health")
    assert health["providers"]["resting"] == ["openai"]
    assert "openai" in health["providers"]["failing"]
    public = json.dumps(health)
    assert secret not in public and str(black_hole.port) not in public, public
    assert "127.0.0.1" not in public and "connect" not in public, public

    [host] = gateway.engine.process_health()["restingHosts"]
    assert host["provider"] == "openai"
    assert host["origin"] == f"http://{where}"
    assert host["failuresInARow"] == unreachable.FAILURES_TO_REST
    assert 0 < host["secondsLeft"] <= unreachable.REST.first_s
    assert host["lastError"].startswith(f"cannot connect to openai at http://{where}: "), host
    assert secret not in json.dumps(gateway.engine.process_health())

    listing = await _get(gateway, "/v1/providers")
    [openai_entry] = [p for p in listing["providers"] if p["id"] == "openai"]
    record = openai_entry["health"]
    assert (record["state"], record["source"]) == ("failing", "resting")
    assert 0 < record["restingSeconds"] <= unreachable.REST.first_s
    assert record["reason"].startswith("unreachable: no connection could be made 3 times")
    # Where it is, shown to the local user: origin and path, never the user, password or query.
    assert openai_entry["baseUrl"] == f"http://{where}/v1/{secret}-path"


async def test_a_rested_host_is_cleared_once_its_rest_ends_and_a_connection_is_made(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    black_hole: BlackHole,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = await _openai_in(black_hole, start_gateway, monkeypatch, rest_s=1.0)
    await _rest_openai(gateway)
    assert (await _get(gateway, "/health"))["providers"]["resting"] == ["openai"]
    # The host comes back: the same port, carried to the scripted upstream.
    upstream_port = urlsplit(upstream.base_url).port
    assert upstream_port is not None
    await black_hole.open_to(upstream_port)
    try:
        await asyncio.sleep(unreachable.REST.first_s + 0.1)
        assert (await _get(gateway, "/health"))["providers"]["resting"] == []
        assert gateway.engine.process_health()["restingHosts"] == []
        _, status, body = await ask(gateway)
        assert status == 200 and outcomes(body) == ["ok"], body  # OpenAI answered
        assert gateway.engine.gateway.unreachable.rested() == []
        health = gateway.engine.providers.health("openai")
        assert health.rest is None and health.source != "resting"
    finally:
        await black_hole.close()
