"""The response cache against a caller who tries to get an answer it should not: an upstream's
error or a cut stream kept as an answer, a hit for a request that differs from the kept one in
what shapes the answer (the project's credentials, the vendor headers sent on, what the client
asked of the stream, what a translation leaves out), or the saved call's own request id. Each
attack sits beside the legitimate repeat that still hits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory, point_providers_at

ON = {"cache.enabled": True}
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]

# How long a scripted stream leaves the gateway to read its first frame before going on.
_PRIMED_S = 0.2

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class OwnUpstream:
    """An OpenAI Chat upstream on loopback whose answers a test writes: each request is
    answered by the next handler (the last one repeats)."""

    def __init__(self) -> None:
        self.handlers: list[Handler] = []
        self.calls = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        handler = self.handlers[min(self.calls, len(self.handlers) - 1)]
        self.calls += 1
        return await handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def own_upstream(
    provider_env: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[OwnUpstream]:
    """Every API provider pointed at an `OwnUpstream` (over the scripted one)."""
    own = OwnUpstream()
    await own.start()
    point_providers_at(own.base_url, monkeypatch)
    yield own
    await own.close()


_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
}


async def _answer(request: web.Request) -> web.StreamResponse:
    return web.json_response(_ANSWER)


async def _error_in_a_200(request: web.Request) -> web.StreamResponse:
    # What OpenAI-compatible routers send when a provider behind them fails: a 200 whose
    # body is the error.
    return web.json_response(
        {"error": {"message": "upstream overloaded, try again", "code": 502}}, status=200
    )


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: bool = False) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body = {**body, "choices": [], "usage": _ANSWER["usage"]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _stream(ends: bool) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(_chunk({"role": "assistant", "content": "Par"}))
        # The gateway's stream begins at its first frame: the rest comes after that.
        await asyncio.sleep(_PRIMED_S)
        await response.write(_chunk({"content": "is"}, finish="stop"))
        if not ends:
            # Cut after the finish reason, before the usage and [DONE]: the chunked body
            # never gets its last chunk.
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(_chunk({}, usage=True))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    return handler


async def _ask(gateway: GatewayRuntime, **extra: Any) -> Any:
    return await openai_client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=QUESTION, temperature=0, **extra
    )


# -- poisoning: what is kept ---------------------------------------------------------------


async def test_an_error_the_upstream_sent_with_a_200_is_not_kept(
    start_gateway: GatewayFactory, own_upstream: OwnUpstream
) -> None:
    own_upstream.handlers = [_error_in_a_200, _answer]
    gateway: GatewayRuntime = await start_gateway(ON)
    first = await _ask(gateway)
    assert "error" in first.http_response.json()
    # The repeat asks the upstream again (and gets the answer), then that answer is kept.
    second = await _ask(gateway)
    assert second.headers["x-gateway-cache"] == "miss"
    assert second.parse().choices[0].message.content == "Paris"
    assert (await _ask(gateway)).headers["x-gateway-cache"] == "hit"
    assert own_upstream.calls == 2
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and stats.passed_over == {"unfinished": 1}


async def _streamed(gateway: GatewayRuntime) -> tuple[str, bytes]:
    async with openai_client(gateway).chat.completions.with_streaming_response.create(
        model="gpt-4o",
        messages=QUESTION,  # type: ignore[arg-type]
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        body = b"".join([piece async for piece in response.iter_bytes()])
        return response.headers["x-gateway-cache"], body


async def test_a_stream_cut_after_its_finish_reason_is_not_kept(
    start_gateway: GatewayFactory, own_upstream: OwnUpstream
) -> None:
    own_upstream.handlers = [_stream(ends=False), _stream(ends=True)]
    gateway: GatewayRuntime = await start_gateway(ON)
    cached, cut = await _streamed(gateway)
    assert cached == "miss" and b"[DONE]" not in cut
    cached, whole = await _streamed(gateway)
    assert cached == "miss" and whole.endswith(b"data: [DONE]\n\n")
    cached, replayed = await _streamed(gateway)
    assert cached == "hit" and replayed == whole
    assert own_upstream.calls == 2
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and stats.passed_over == {"unfinished": 1}


# -- what the key is made of ---------------------------------------------------------------


async def test_a_stream_that_asked_for_usage_is_not_answered_with_one_that_did_not(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    client = openai_client(gateway)

    async def chunks(**extra: Any) -> list[Any]:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=QUESTION, temperature=0, stream=True, **extra
        )
        return [chunk async for chunk in stream]

    without = await chunks()
    assert all(chunk.usage is None for chunk in without)
    # The gateway asks the upstream for usage either way: the same bytes go upstream.
    asked = await chunks(stream_options={"include_usage": True})
    assert asked[-1].usage is not None
    again = await chunks(stream_options={"include_usage": True})
    assert again[-1].usage is not None
    assert len(upstream.llm_requests) == 2


async def test_another_project_is_another_entry(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # A project's requests go out on its own credentials (another account at the vendor).
    gateway: GatewayRuntime = await start_gateway(ON)
    for project, expected in (("alpha", "miss"), ("alpha", "hit"), ("beta", "miss")):
        answer = await _ask(gateway, extra_headers={"X-Project": project})
        assert answer.headers["x-gateway-cache"] == expected
    assert len(upstream.llm_requests) == 2


async def test_another_vendor_beta_header_is_another_entry(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    claude = claude_client(gateway)
    seen = []
    for beta in ("", "", "output-128k-2025-02-19"):
        answer = await claude.messages.with_raw_response.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            extra_body={"temperature": 0},
            extra_headers={"anthropic-beta": beta} if beta else {},
            messages=QUESTION,  # type: ignore[arg-type]
        )
        seen.append(answer.headers["x-gateway-cache"])
    assert seen == ["miss", "hit", "miss"]
    assert len(upstream.llm_requests) == 2


async def test_a_setting_a_translation_leaves_out_is_still_part_of_the_request(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # An OpenAI client asking a Claude model: Anthropic has no `seed`, so both requests go
    # upstream as the same bytes, but they are not the same request.
    gateway: GatewayRuntime = await start_gateway(ON)
    seen = []
    for seed in (1, 1, 2):
        answer = await openai_client(gateway).chat.completions.with_raw_response.create(
            model="claude-sonnet-4-6", messages=QUESTION, temperature=0, seed=seed
        )
        seen.append(answer.headers["x-gateway-cache"])
    assert seen == ["miss", "hit", "miss"]
    assert len(upstream.llm_requests) == 2


async def test_a_hit_does_not_repeat_the_saved_calls_request_id(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    claude = claude_client(gateway)
    answers = []
    for _ in range(2):
        answers.append(
            await claude.messages.with_raw_response.create(
                model="claude-sonnet-4-6",
                max_tokens=64,
                extra_body={"temperature": 0},
                messages=QUESTION,  # type: ignore[arg-type]
            )
        )
    miss, hit = answers
    assert "request-id" in miss.headers
    assert hit.headers["x-gateway-cache"] == "hit" and "request-id" not in hit.headers


async def test_a_request_too_deep_to_write_again_is_answered_and_cached(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # Sent on as its own bytes, a body nested past what the JSON writer takes (it reads
    # deeper than it writes) still goes upstream; its key must not need it written again.
    gateway: GatewayRuntime = await start_gateway(ON)
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    seen = []
    for _ in range(2):
        answer = await _ask(gateway, extra_body={"metadata_deep": deep})
        seen.append(answer.headers["x-gateway-cache"])
    assert seen == ["miss", "hit"]
    assert len(upstream.llm_requests) == 1
