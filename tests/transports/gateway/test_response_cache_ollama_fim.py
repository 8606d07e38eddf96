"""The response cache on Ollama's doors and on fill-in-the-middle: a streamed `/api/chat` or
`/api/generate` answer is kept once it completes and a repeat is answered from it, as the chat
door's are (each was counted `unfinished` and never kept: the door closed its stream at
`[DONE]`, before its end); a text completion is never looked up, and says so
(`x-gateway-cache-passed-over: text_completion`, counted under that reason) rather than a bare
`miss`. Driven by the official `ollama` and `openai` Python libraries."""

from __future__ import annotations

from typing import Any

import ollama
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.completions.test_fim import PROMPT, SUFFIX, providers
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import _rows

ON = {"cache.enabled": True}
GREEDY = {"temperature": 0}


@pytest.fixture
async def cached(start_gateway: GatewayFactory, upstream: ScriptedUpstream) -> GatewayRuntime:
    gateway: GatewayRuntime = await start_gateway({**ON, **providers(upstream)})
    return gateway


async def _streamed_chat(gateway: GatewayRuntime, generate: bool) -> list[Any]:
    sdk = ollama.AsyncClient(host=gateway.base_url)
    if generate:
        parts = await sdk.generate(model="gpt-4o", prompt="hi", options=GREEDY, stream=True)
    else:
        messages = [{"role": "user", "content": "hi"}]
        parts = await sdk.chat(model="gpt-4o", messages=messages, options=GREEDY, stream=True)
    return [part async for part in parts]


def _said(parts: list[Any]) -> str:
    return "".join(
        (p.message.content if hasattr(p, "message") else p.response) or "" for p in parts
    )


@pytest.mark.parametrize("generate", [False, True], ids=["chat", "generate"])
async def test_a_streamed_ollama_answer_is_kept_and_a_repeat_answered_from_it(
    cached: GatewayRuntime, upstream: ScriptedUpstream, generate: bool
) -> None:
    first = await _streamed_chat(cached, generate)
    second = await _streamed_chat(cached, generate)
    assert len(upstream.llm_requests) == 1  # the repeat never reached the upstream
    assert _said(second) == _said(first) and _said(first)
    assert second[-1].done and second[-1].eval_count == first[-1].eval_count
    stats = cached.engine.gateway.cache_stats
    assert stats is not None
    assert (stats.lookups, stats.hits, stats.kept) == (2, 1, 1)
    assert "unfinished" not in stats.passed_over
    hit, miss = await _rows(cached, 2)
    assert miss["state"] == hit["state"] == "completed"
    assert hit["cost_usd"] == 0.0
    detail = await cached.engine.recorder_query.detail(hit["id"])
    assert detail is not None and detail.record["route"]["cache"]["hit"] is True


async def test_a_text_completion_says_the_cache_passed_it_over_and_why(
    cached: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = openai_client(cached)
    for _ in range(2):
        answer = await client.completions.with_raw_response.create(
            model="codestral-latest", prompt=PROMPT, suffix=SUFFIX, max_tokens=32, temperature=0
        )
        assert answer.headers["x-gateway-cache"] == "miss"
        assert answer.headers["x-gateway-cache-passed-over"] == "text_completion"
    assert len(upstream.llm_requests) == 2
    stats = cached.engine.gateway.cache_stats
    assert stats is not None and (stats.lookups, stats.hits) == (0, 0)
    assert stats.passed_over == {"text_completion": 2}
    # Ollama's fill-in-the-middle (`/api/generate` with a suffix) is the same kind of call.
    await ollama.AsyncClient(host=cached.base_url).generate(
        model="codestral-latest", prompt=PROMPT, suffix=SUFFIX, options=GREEDY, stream=False
    )
    assert stats.passed_over == {"text_completion": 3}
