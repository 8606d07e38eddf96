"""The response cache through the official openai and anthropic SDKs: an exact repeat is
answered without the upstream (whole, and a stream replayed byte for byte), anything else
misses, the request's own opt-out, the TTL, no principal gets another's answer, and budgets
and key scopes still apply before a cached answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import openai
import pytest

from llmgw_desktop.engine.api import KeyScope, KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream import openai_chat as openai_chat_fake
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

ON = {"cache.enabled": True}
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
OPERATOR_TOKEN = "operator-token-0123456789-abcdefghijkl"
ROW_TIMEOUT_S = 5.0
# The anthropic SDK of this version no longer names `temperature`; the API still takes it.
GREEDY = {"temperature": 0}


async def _ask(gateway: GatewayRuntime, **extra: Any) -> Any:
    """One greedy OpenAI Chat request; the raw response (headers and parsed body)."""
    return await openai_client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=QUESTION, temperature=0, **extra
    )


async def _rows(gateway: GatewayRuntime, count: int) -> list[dict[str, Any]]:
    """The newest `count` recorder rows once they have ended, newest first."""
    async with asyncio.timeout(ROW_TIMEOUT_S):
        while True:
            rows = await gateway.engine.recorder.recent(limit=count)
            if len(rows) == count and all(r["state"] != "started" for r in rows):
                return rows
            await asyncio.sleep(0.05)


async def test_a_repeat_is_answered_from_the_cache_without_the_upstream(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    first = await _ask(gateway)
    second = await _ask(gateway)
    assert first.headers["x-gateway-cache"] == "miss"
    assert second.headers["x-gateway-cache"] == "hit"
    assert len(upstream.llm_requests) == 1
    one, two = first.parse(), second.parse()
    # The same answer (the upstream's id included), with this request's own x_gateway.
    assert two.id == one.id and two.choices[0].message.content == one.choices[0].message.content
    assert two.usage == one.usage
    x_one, x_two = one.model_extra["x_gateway"], two.model_extra["x_gateway"]
    assert x_two["requestId"] == second.headers["x-gateway-request-id"] != x_one["requestId"]
    assert x_two["attempts"] == [{"target": "openai/gpt-4o", "key": "", "outcome": "cache_hit"}]
    hit, miss = await _rows(gateway, 2)
    assert hit["id"] == second.headers["x-gateway-request-id"]
    assert hit["state"] == "completed" and hit["cost_usd"] == 0.0
    assert hit["input_tokens"] == 0 and hit["output_tokens"] == 0
    detail = await gateway.engine.recorder_query.detail(hit["id"])
    assert detail is not None
    saved = detail.record["route"]["cache"]
    assert saved["hit"] is True and saved["savedUsd"] == pytest.approx(miss["cost_usd"])
    assert saved["savedTokens"] > 0
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and stats.hits == 1 and stats.lookups == 2


async def test_a_changed_request_misses(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    await _ask(gateway)
    other_question = await openai_client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "And of Italy?"}], temperature=0
    )
    other_setting = await _ask(gateway, max_tokens=5)
    other_model = await openai_client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=QUESTION, temperature=0
    )
    for answer in (other_question, other_setting, other_model):
        assert answer.headers["x-gateway-cache"] == "miss"
    assert len(upstream.llm_requests) == 4


async def test_the_cache_is_off_by_default(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    first, second = await _ask(gateway), await _ask(gateway)
    assert "x-gateway-cache" not in first.headers and "x-gateway-cache" not in second.headers
    assert len(upstream.llm_requests) == 2
    assert gateway.engine.gateway.cache_stats is None


async def test_a_sampled_request_is_cached_only_when_the_operator_says_so(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    for temperature in ({}, {"temperature": 0.7}):
        for _ in range(2):
            answer = await openai_client(gateway).chat.completions.with_raw_response.create(
                model="gpt-4o", messages=QUESTION, **temperature
            )
            assert answer.headers["x-gateway-cache"] == "miss"
    assert len(upstream.llm_requests) == 4


async def test_a_sampled_request_is_cached_when_the_operator_says_so(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    sampled: GatewayRuntime = await start_gateway({**ON, "cache.sampled": True})
    for expected in ("miss", "hit"):
        answer = await openai_client(sampled).chat.completions.with_raw_response.create(
            model="gpt-4o", messages=QUESTION
        )
        assert answer.headers["x-gateway-cache"] == expected


@pytest.mark.parametrize("directive", ["no-cache", "no-store", "max-age=0, no-store"])
async def test_cache_control_keeps_a_request_from_cached_answers(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, directive: str
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    await _ask(gateway)
    fresh = await _ask(gateway, extra_headers={"Cache-Control": directive})
    assert fresh.headers["x-gateway-cache"] == "miss"
    assert len(upstream.llm_requests) == 2
    # no-cache still keeps the fresh answer; no-store keeps nothing. Either way the next
    # plain repeat is a hit (on the first answer, or the fresh one).
    assert (await _ask(gateway)).headers["x-gateway-cache"] == "hit"
    assert len(upstream.llm_requests) == 2


async def test_an_entry_past_its_ttl_misses(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({**ON, "cache.ttl_s": 60})
    cache = gateway.engine.gateway.cache
    assert cache is not None
    now = [1_000_000.0]
    cache.store.clock = lambda: now[0]
    await _ask(gateway)
    now[0] += 59
    assert (await _ask(gateway)).headers["x-gateway-cache"] == "hit"
    now[0] += 2
    assert (await _ask(gateway)).headers["x-gateway-cache"] == "miss"
    assert len(upstream.llm_requests) == 2


async def _streamed_twice(
    open_stream: Callable[[], AbstractAsyncContextManager[Any]], upstream: ScriptedUpstream
) -> bytes:
    """The same stream asked for twice: a miss the upstream answers, then a hit replayed byte
    for byte without asking it again; the bytes."""
    seen: list[tuple[str, bytes]] = []
    for _ in range(2):
        async with open_stream() as response:
            body = b"".join([piece async for piece in response.iter_bytes()])
            seen.append((response.headers["x-gateway-cache"], body))
    (miss, first), (hit, second) = seen
    assert (miss, hit) == ("miss", "hit")
    assert second == first
    assert len(upstream.llm_requests) == 1
    return second


async def test_openai_stream_is_replayed_byte_for_byte(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    replayed = await _streamed_twice(
        lambda: openai_client(gateway).chat.completions.with_streaming_response.create(
            model="gpt-4o",
            messages=QUESTION,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        ),
        upstream,
    )
    assert b"data: [DONE]" in replayed
    # And the SDK reads the replay as it read the stream.
    stream = await openai_client(gateway).chat.completions.create(
        model="gpt-4o",
        messages=QUESTION,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage is not None and len(upstream.llm_requests) == 1


async def test_anthropic_stream_is_replayed_byte_for_byte(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    claude = claude_client(gateway)
    replayed = await _streamed_twice(
        lambda: claude.messages.with_streaming_response.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            extra_body=GREEDY,
            messages=QUESTION,  # type: ignore[arg-type]
            stream=True,
        ),
        upstream,
    )
    assert b"message_stop" in replayed
    # A whole answer to the same question is another entry (a stream is not a whole answer).
    answers = []
    for expected in ("miss", "hit"):
        answer = await claude.messages.with_raw_response.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            extra_body=GREEDY,
            messages=QUESTION,  # type: ignore[arg-type]
        )
        assert answer.headers["x-gateway-cache"] == expected
        answers.append(answer)
    whole, again = answers
    parsed_again, parsed_whole = await again.parse(), await whole.parse()
    assert parsed_again.content[0].text == parsed_whole.content[0].text  # type: ignore[union-attr]
    assert len(upstream.llm_requests) == 2


async def _keys(gateway: GatewayRuntime, *specs: KeySpec) -> list[openai.AsyncOpenAI]:
    made = []
    for spec in specs:
        key = await gateway.engine.keys.create(OPERATOR, spec)
        made.append(openai_client(gateway, key.secret))
    return made


async def test_no_principal_gets_another_principals_cached_answer(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({**ON, "http.auth_token": OPERATOR_TOKEN})
    alice, bob = await _keys(gateway, KeySpec(name="alice"), KeySpec(name="bob"))
    for who, expected in ((alice, "miss"), (alice, "hit"), (bob, "miss"), (bob, "hit")):
        answer = await who.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=QUESTION, temperature=0
        )
        assert answer.headers["x-gateway-cache"] == expected
    assert len(upstream.llm_requests) == 2


async def test_a_shared_cache_still_keeps_a_key_to_its_scope(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {**ON, "cache.shared": True, "http.auth_token": OPERATOR_TOKEN}
    )
    wide, narrow, other = await _keys(
        gateway,
        KeySpec(name="wide"),
        KeySpec(name="narrow", scope=KeyScope.of(models=["gpt-4o-mini"])),
        KeySpec(name="other"),
    )
    await wide.chat.completions.create(model="gpt-4o", messages=QUESTION, temperature=0)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await narrow.chat.completions.create(model="gpt-4o", messages=QUESTION, temperature=0)
    assert refused.value.body["code"] == "outside_key_scope"  # type: ignore[index]
    # Shared, so another principal allowed the model is answered from the first one's entry.
    again = await other.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=QUESTION, temperature=0
    )
    assert again.headers["x-gateway-cache"] == "hit"
    assert len(upstream.llm_requests) == 1


async def test_a_used_up_hard_budget_refuses_a_cached_answer(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Room for the first call's hold (its body at a token a byte and 256 tokens of output:
    # about 362), which the scripted upstream's usage (1,009 tokens) then uses up.
    monkeypatch.setattr(openai_chat_fake, "OPENAI_PROMPT_TOKENS", 1000)
    budget = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 400}]
    gateway: GatewayRuntime = await start_gateway({**ON, "budgets": budget})
    await _ask(gateway)
    await _rows(gateway, 1)  # its tokens counted
    with pytest.raises(openai.APIStatusError) as refused:
        await _ask(gateway)
    assert refused.value.status_code == 402
    assert refused.value.response.headers["x-gateway-cache"] == "miss"
    assert len(upstream.llm_requests) == 1


async def test_a_route_or_principal_not_opted_in_is_not_cached(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {**ON, "cache.routes": ["gpt-4o-mini"], "cache.principals": ["local"]}
    )
    for model, expected in (("gpt-4o", "miss"), ("gpt-4o", "miss"), ("gpt-4o-mini", "miss")):
        answer = await openai_client(gateway).chat.completions.with_raw_response.create(
            model=model, messages=QUESTION, temperature=0
        )
        assert answer.headers["x-gateway-cache"] == expected
    mini = await openai_client(gateway).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=QUESTION, temperature=0
    )
    assert mini.headers["x-gateway-cache"] == "hit"
    assert len(upstream.llm_requests) == 3


async def test_no_store_on_a_second_cache_control_line_is_honoured(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    body = {"model": "gpt-4o", "messages": QUESTION, "temperature": 0}
    headers = [("Cache-Control", "max-age=0"), ("Cache-Control", "no-store")]
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(
                gateway.base_url + "/v1/chat/completions", json=body, headers=headers
            ) as response:
                assert response.status == 200
                assert response.headers["x-gateway-cache"] == "miss"
    # Nothing was kept: a plain repeat asks the upstream.
    assert (await _ask(gateway)).headers["x-gateway-cache"] == "miss"
    assert len(upstream.llm_requests) == 3


async def test_no_store_is_honoured_by_the_native_generate_route(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({**ON, "cache.sampled": True})
    async with aiohttp.ClientSession() as session:
        for directive, expected in (("", "miss"), ("", "hit"), ("no-cache", "miss")):
            async with session.post(
                gateway.base_url + "/v1/generate",
                json={"model": "gpt-4o", "prompt": "What is the capital of France?"},
                headers={"Cache-Control": directive} if directive else {},
            ) as response:
                assert response.status == 200
                assert response.headers["x-gateway-cache"] == expected
    assert len(upstream.llm_requests) == 2


async def test_a_provider_check_always_asks_the_provider(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # Sampled answers cached: the probe (no temperature) would be a repeat.
    gateway: GatewayRuntime = await start_gateway({**ON, "cache.sampled": True})
    for _ in range(2):
        result = await gateway.engine.providers.probe("openai", "gpt-4o")
        assert result.ok
    assert len(upstream.llm_requests) == 2


async def test_a_hard_dollar_budget_still_lets_an_answer_that_ended_by_itself_be_kept(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # Under a hard dollar budget a request that names no output limit is sent one (what its
    # hold paid for). The answer ended by itself ("stop"), so the limit did not shape it: kept.
    # Before, no such answer was ever kept, so a team's default clients never hit.
    budget = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 100}]
    gateway: GatewayRuntime = await start_gateway({**ON, "budgets": budget})
    first, second = await _ask(gateway), await _ask(gateway)
    assert "max_completion_tokens" in upstream.llm_requests[0].body  # the budget's limit
    assert first.headers["x-gateway-cache"] == "miss"
    assert second.headers["x-gateway-cache"] == "hit"
    assert len(upstream.llm_requests) == 1
