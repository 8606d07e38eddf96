"""`stream_chat`, the chat agent's one turn through the gateway, against a stand-in for the
gateway that answers with chosen bytes: a stream cut mid-chunk and one that ends before
`[DONE]` are the gateway's failure (`upstream_stream_broken`), never half an answer taken for a
whole one; a whole stream is its text."""

from __future__ import annotations

import aiohttp
import pytest

from llmgw_desktop.transports.acp.gateway_chat import GatewayAddress, GatewayRefused, stream_chat
from tests.fakes.loopback import LOOPBACK, answering_with

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
CHUNK = b'data: {"choices":[{"delta":{"content":"half"}}]}\n\n'


def _chunked(*pieces: bytes, end: bool = True) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body + (b"0\r\n\r\n" if end else b"")


async def _texts(raw: bytes) -> list[str]:
    async with answering_with(raw) as port, aiohttp.ClientSession() as http:
        gateway = GatewayAddress(f"http://{LOOPBACK}:{port}", {})
        return [
            t async for t in stream_chat(http, gateway, "m", [{"role": "user", "content": "x"}])
        ]


async def test_a_whole_stream_is_its_text() -> None:
    assert await _texts(_chunked(CHUNK, b"data: [DONE]\n\n")) == ["half"]


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (_chunked(CHUNK, end=False), "cut mid-stream"),
        (_chunked(CHUNK), "ended before it finished"),
    ],
    ids=["cut-mid-chunk", "no-done"],
)
async def test_a_stream_that_stops_early_is_the_gateways_failure(raw: bytes, said: str) -> None:
    with pytest.raises(GatewayRefused) as refused:
        await _texts(raw)
    assert refused.value.code == "upstream_stream_broken"
    assert said in refused.value.message
