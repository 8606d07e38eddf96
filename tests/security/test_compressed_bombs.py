"""Issue 37, item 4: a hostile upstream's compressed answer is decoded within the answer cap.

A provider answering gzip that inflates a thousandfold raised the gateway's memory by 600 to
1,000 MiB with 12 answers at once, against a 32 MiB answer cap: the HTTP client inflated each
piece as it arrived, whole, before anything counted it. It now keeps the body compressed and
decodes it as it is read, 256 KiB at a time (`engine/gateway/http_client/body_decoder.py`),
so the cap
counts decoded bytes. Here 12 answers at once (six whole, six streamed) each inflate from about
128 KiB to 128 MiB under a 4 MiB cap: each is refused with the cap named, and the process's
resident memory (sampled while they run) grows by about what 12 capped answers hold. Beside
them, a gzip answer of ordinary size is decoded and served.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

MIB = 1024 * 1024
CAP = 4 * MIB
AT_ONCE = 12
INFLATED = 128 * MIB
# Growth allowed: each answer's capped bytes and a decoded piece, plus the interpreter's noise.
ALLOWED = AT_ONCE * (CAP + MIB) + 48 * MIB
PAGE = os.sysconf("SC_PAGE_SIZE")

ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "small"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def _bomb(prefix: bytes) -> bytes:
    """`prefix` and then INFLATED bytes of spaces, gzipped (about a thousandth the size)."""
    compressor = gzip.compress(prefix + b" " * INFLATED, compresslevel=9)
    return compressor


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {
        "whole": _bomb(b'{"id": "x", "choices": [], "pad": "'),
        "stream": _bomb(b"data: "),
        "small": gzip.compress(json.dumps(ANSWER).encode()),
    }


@pytest.fixture
async def hostile(bombs: dict[str, bytes]) -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        kind = "stream" if body.get("stream") else body["messages"][0]["content"]
        content_type = "text/event-stream" if kind == "stream" else "application/json"
        return web.Response(
            body=bombs[kind],
            headers={"Content-Encoding": "gzip", "Content-Type": content_type},
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


def _resident() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE


@contextmanager
def _peak_growth() -> Iterator[list[int]]:
    """The most the resident memory grew over its start while the block ran (in [0])."""
    start, peak, done = _resident(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            peak[0] = max(peak[0], _resident() - start)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak[0] = max(peak[0], _resident() - start)


async def _chat(gateway: GatewayRuntime, content: str, *, stream: bool = False) -> tuple[int, str]:
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": content}],
        "stream": stream,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + "/v1/chat/completions", json=body) as answer,
    ):
        return answer.status, await answer.text()


async def test_twelve_bombs_at_once_stay_within_the_cap_and_a_small_gzip_answer_is_served(
    start_gateway: GatewayFactory,  # noqa: F811
    hostile: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", hostile)
    gateway: GatewayRuntime = await start_gateway(
        {"gateway.max_answer_bytes": CAP, "gateway.max_sse_event_bytes": CAP}
    )
    # The legitimate path first: an ordinary gzip answer, decoded.
    status, text = await _chat(gateway, "small")
    assert status == 200, text
    assert json.loads(text)["choices"][0]["message"]["content"] == "small"
    with _peak_growth() as peak:
        answers = await asyncio.gather(
            *(_chat(gateway, "whole") for _ in range(AT_ONCE // 2)),
            *(_chat(gateway, "whole", stream=True) for _ in range(AT_ONCE // 2)),
        )
    whole, streamed = answers[: AT_ONCE // 2], answers[AT_ONCE // 2 :]
    for status, text in whole:
        assert status == 502 and "gateway.max_answer_bytes" in text, text[:300]
    for status, text in streamed:
        assert (status == 502 and "max_sse_event_bytes" in text) or (
            status == 200 and "max_sse_event_bytes" in text
        ), text[:300]
    print(f"resident memory grew {peak[0] / MIB:.0f} MiB")
    assert peak[0] <= ALLOWED, f"resident memory grew {peak[0] / MIB:.0f} MiB"
    # And the gateway still serves.
    assert (await _chat(gateway, "small"))[0] == 200
