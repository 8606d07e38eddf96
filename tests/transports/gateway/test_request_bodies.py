"""A chat body the gateway cannot read is refused with a 400 naming what is wrong, and nothing
is sent upstream: empty, only whitespace (every kind JSON allows between tokens), not JSON,
JSON that is not an object. A body with whitespace around its object is read as the object."""

from __future__ import annotations

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
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
