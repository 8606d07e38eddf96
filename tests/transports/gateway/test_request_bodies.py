"""A chat body the gateway cannot read is refused with a 400 naming what is wrong, and nothing
is sent upstream: empty, only whitespace (every kind JSON allows between tokens), not JSON,
JSON that is not an object. A body with whitespace around its object is read as the object."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.gateway.exchange import read_body
from tests.fakes.upstream import ScriptedUpstream


async def post(base_url: str, data: bytes) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base_url + "/v1/chat/completions",
            data=data,
            headers={"Content-Type": "application/json"},
        ) as response,
    ):
        return response.status, await response.text()


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "the request body is empty"),
        (b" \t\r\n\x0b\x0c ", "the request body is empty"),
        (b"{not json", "the request body is not valid JSON"),
        (b"[1, 2]", "the request body must be a JSON object, not list"),
    ],
)
async def test_a_body_the_gateway_cannot_read_is_refused_naming_why(
    gateway: GatewayRuntime, upstream: ScriptedUpstream, data: bytes, said: str
) -> None:
    status, text = await post(gateway.base_url, data)
    assert status == 400, text
    assert said in text
    assert upstream.llm_requests == []


async def test_whitespace_around_the_object_is_read_as_the_object(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    body = b'\n  {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}  \n'
    status, text = await post(gateway.base_url, body)
    assert status == 200, text
    assert [r.path for r in upstream.llm_requests] == ["/v1/chat/completions"]


def _request_with_body(*pieces: bytes, arrived: bool = True, limit: int = 1024) -> Any:
    from unittest import mock

    from aiohttp import StreamReader
    from aiohttp.test_utils import make_mocked_request

    stream = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    for piece in pieces:
        stream.feed_data(piece)
    if arrived:
        stream.feed_eof()
    request = make_mocked_request("POST", "/api/generate", payload=stream, client_max_size=limit)
    return request, stream


async def test_a_second_reader_of_a_body_gets_the_same_bytes() -> None:
    # A body wholly arrived is taken from its stream at once, which leaves the stream at its
    # end: Ollama's generate reads it, then the fill-in-the-middle completion reads it again.
    request, _ = _request_with_body(b'{"model": "m", ', b'"suffix": "}"}')
    first = await read_body(request)
    assert first == (b'{"model": "m", "suffix": "}"}', {"model": "m", "suffix": "}"})
    assert await read_body(request) == first


async def test_a_body_still_arriving_is_read_as_it_comes_and_again_the_same() -> None:
    request, stream = _request_with_body(b'{"model": ', arrived=False)
    reading = asyncio.ensure_future(read_body(request))
    await asyncio.sleep(0)
    stream.feed_data(b'"m"}')
    stream.feed_eof()
    assert await reading == (b'{"model": "m"}', {"model": "m"})
    assert await read_body(request) == (b'{"model": "m"}', {"model": "m"})


async def test_an_arrived_body_over_the_limit_is_refused_as_read_refuses_it() -> None:
    # A body without a length (chunked, or one that decompressed larger) meets no edge check.
    request, _ = _request_with_body(b'{"text": "' + b"x" * 2000 + b'"}', limit=1024)
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        await read_body(request)
