"""A hung upstream no longer holds a client for the whole answer timeout (10 minutes).

The scripted fake upstream accepts the request and then sends nothing (its "slow" reply, silent
before the first byte). With no fallback route, a streamed request now ends after the
first-byte limit with a 504 in the client's own dialect; a stream that has begun, and a whole
(non-streamed) answer, keep the longer answer timeout. The gateway runs in this process with
its real HTTP front door; the requests are plain HTTP as any SDK sends them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.config.settings import Settings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, Reply, ScriptedUpstream
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

FIRST_BYTE_MS = 600
HUNG_S = 30.0  # far beyond the limit: only the limit can end the wait
ANSWER_BOUND_S = 5.0  # the limit plus a loaded machine's slack

# (path, body) of one streamed request per dialect, and how its 504 reads.
STREAMED: dict[str, tuple[str, dict[str, Any]]] = {
    "openai": (
        "/v1/chat/completions",
        {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    ),
    "anthropic": (
        "/v1/messages",
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
    ),
    "gemini": (
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
    ),
}


def timeout_error_of(dialect: str, body: dict[str, Any]) -> str:
    """The dialect's own way of saying "gateway timeout"."""
    if dialect == "anthropic":
        assert body["type"] == "error"
        return str(body["error"]["type"])
    if dialect == "gemini":
        assert body["error"]["code"] == 504
        return str(body["error"]["status"])
    return str(body["error"]["code"])


EXPECTED = {
    "openai": "upstream_timeout",
    "anthropic": "timeout_error",
    "gemini": "DEADLINE_EXCEEDED",
}


async def post(gateway: GatewayRuntime, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.base_url + path, json=body) as response,
    ):
        return response.status, await response.read()


def test_the_default_is_two_minutes_and_applies_below_the_answer_timeout() -> None:
    defaults = Settings()
    assert defaults.gateway.first_byte_timeout_ms == 120_000
    assert defaults.gateway.first_byte_timeout_ms < defaults.gateway.upstream_timeout_ms


@pytest.mark.parametrize("dialect", sorted(STREAMED))
async def test_a_stream_that_never_begins_ends_in_a_504_of_the_clients_dialect(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    dialect: str,
) -> None:
    gateway = await start_gateway({"gateway.first_byte_timeout_ms": FIRST_BYTE_MS})
    path, body = STREAMED[dialect]
    upstream.script(Reply.slow(HUNG_S))
    began = time.monotonic()
    status, raw = await post(gateway, path, body)
    took = time.monotonic() - began
    assert status == 504, raw
    error = json.loads(raw)
    assert timeout_error_of(dialect, error) == EXPECTED[dialect], error
    assert "first_byte_timeout_ms" in raw.decode()
    assert FIRST_BYTE_MS / 1000 <= took < ANSWER_BOUND_S, took
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["state"] == "failed" and rows[0]["error_code"] == "upstream_timeout"

    # The legitimate path right after: an upstream that answers streams as before.
    upstream.script(Reply.ok())
    status, raw = await post(gateway, path, body)
    assert status == 200 and DEFAULT_ANSWER in raw.decode(), raw


async def test_a_whole_answer_may_take_longer_than_the_first_byte_limit(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await start_gateway({"gateway.first_byte_timeout_ms": FIRST_BYTE_MS})
    path, body = STREAMED["openai"]
    # A whole answer's status line arrives with the answer: thinking longer is not hanging.
    upstream.script(Reply.slow(FIRST_BYTE_MS / 1000 * 2))
    status, raw = await post(gateway, path, {**body, "stream": False})
    assert status == 200 and DEFAULT_ANSWER in raw.decode(), raw


async def test_a_hung_upstream_falls_back_to_the_next_route_in_time(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await start_gateway(
        {
            "gateway.first_byte_timeout_ms": FIRST_BYTE_MS,
            "gateway.routes": {"gpt-4o": {"fallback": ["claude-sonnet-4-6"]}},
        },
    )
    path, body = STREAMED["openai"]
    upstream.script(Reply.slow(HUNG_S), Reply.ok())
    began = time.monotonic()
    status, raw = await post(gateway, path, body)
    assert status == 200 and DEFAULT_ANSWER in raw.decode(), raw
    assert time.monotonic() - began < ANSWER_BOUND_S
