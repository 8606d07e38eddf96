"""A provider's host that takes no connections is rested, so each request does not pay for it
(`engine/gateway/unreachable.py`).

The black hole is real: a loopback listener whose accept queue is full and never drained, so
the kernel drops each new SYN and a connect waits out `gateway.connect_timeout_ms`, as with a
host gone from the network. OpenAI's base URL points at it, with Anthropic as the fallback (the
scripted upstream). Before: every request waited the whole connect timeout, then fell back,
and its attempt said `timeout` ("sent nothing"), though nothing was ever sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.engine.gateway import unreachable
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

FALLBACK_ROUTE = {"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}}
CONNECT_TIMEOUT_MS = 400
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A loopback port that takes no connections and refuses none: its listener's queue is
    full (backlog 0, filled by connections never accepted), so SYNs are dropped."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # Linux takes backlog + 1; the rest wait in SYN-SENT, then drop
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.2)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def ask(gateway: GatewayRuntime) -> tuple[float, int, dict[str, Any]]:
    began = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.base_url + "/v1/chat/completions", json=CHAT) as response,
    ):
        body = await response.json()
        return time.perf_counter() - began, response.status, body


def outcomes(body: dict[str, Any]) -> list[str]:
    return [attempt["outcome"] for attempt in body["x_gateway"]["attempts"]]


async def test_a_black_holed_host_is_rested_after_three_connect_failures_then_tried_again(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    black_hole: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(unreachable, "FIRST_REST_S", 1.5)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{black_hole}/v1")
    gateway = await start_gateway(
        {"gateway.routes": FALLBACK_ROUTE, "gateway.connect_timeout_ms": CONNECT_TIMEOUT_MS}
    )
    # Three requests each wait out the connect timeout, then fall back; each attempt says so.
    for _ in range(unreachable.FAILURES_TO_REST):
        took, status, body = await ask(gateway)
        assert status == 200 and outcomes(body) == ["connect", "ok"], body
        assert took >= CONNECT_TIMEOUT_MS / 1000 * 0.9, took
    failed = [
        r for r in await gateway.engine.recorder.recent(limit=10) if r["provider"] == "openai"
    ]
    assert [r["state"] for r in failed] == ["failed"] * unreachable.FAILURES_TO_REST, failed
    # Rested: the next requests go straight to the fallback, without a connect attempt.
    for _ in range(3):
        took, status, body = await ask(gateway)
        assert status == 200 and outcomes(body) == ["resting", "ok"], body
        assert took < CONNECT_TIMEOUT_MS / 1000 / 2, took
    assert list(gateway.engine.gateway._api.unreachable.rested()) == [
        f"openai http://127.0.0.1:{black_hole}/v1"
    ]
    # Passed over, not asked: no recorder row of an attempt for them.
    assert (
        len(
            [r for r in await gateway.engine.recorder.recent(limit=20) if r["provider"] == "openai"]
        )
        == 3
    )
    # The rest over, the host is tried again (still a black hole: a longer rest follows).
    await asyncio.sleep(1.6)
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
    assert gateway.engine.gateway._api.unreachable.rested() == {}
