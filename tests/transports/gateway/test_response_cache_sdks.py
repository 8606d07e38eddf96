"""The response cache through the official SDKs as their users call them (default client
settings), for every dialect the gateway speaks and every upstream behind it: the repeat of a
request never reaches the upstream, and the SDK reads the cached answer (whole, streamed, through
its stream helpers, parsed into a pydantic model, with tool calls) exactly as it read the first:
same text, tool calls, usage, stop reason, ids and events in order. Only the gateway's own
`x_gateway` object differs, as it describes each request.

Greedy requests (temperature 0) are cached by default; a client that leaves temperature out
(LangChain's default) is cached with `cache.sampled`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import httpx
import openai
import pydantic
from google.genai import types

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

ON = {"cache.enabled": True}
# One upstream of each dialect: OpenAI, Anthropic, Gemini (every pair but one is translated).
TARGETS = ("gpt-4o", "claude-sonnet-4-6", "gemini-2.5-flash")
ROW_TIMEOUT_S = 5.0
# The anthropic SDK of this version no longer names `temperature`; the API still takes it.
GREEDY = {"temperature": 0}
WEATHER_CALL = Reply.tool_call("get_weather", {"city": "Paris"}, text="Let me check.")
_CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CHAT_TOOL: Any = {"type": "function", "function": {"name": "get_weather", "parameters": _CITY}}
RESPONSES_TOOL: Any = {"type": "function", "name": "get_weather", "parameters": _CITY}
CLAUDE_TOOL: Any = {"name": "get_weather", "input_schema": _CITY}

Ask = Callable[[], Awaitable[Any]]


class Capital(pydantic.BaseModel):
    city: str
    country: str


def _question(name: str) -> list[Any]:
    """A question of its own for each scenario, so each has its own cache entry."""
    return [{"role": "user", "content": f"{name}: what is the capital of France?"}]


def _parsed(value: Any) -> Any:
    """What an SDK made of an answer, as plain data, without what differs by design: the
    gateway's `x_gateway` (this request's id and billing) and google-genai's copy of the HTTP
    response's headers."""
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {
            k: _parsed(v) for k, v in value.items() if k not in ("x_gateway", "sdk_http_response")
        }
    if isinstance(value, list | tuple):
        return [_parsed(v) for v in value]
    return value


async def _answered_twice(
    gateway: GatewayRuntime, upstream: ScriptedUpstream, ask: Ask, *, reply: Reply | None = None
) -> Any:
    """Ask twice: the first is the upstream's answer, the second the cache's, and the SDK made
    the same of both; what it made."""
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None
    if reply is not None:
        upstream.script(reply)
    calls, hits = len(upstream.llm_requests), stats.hits
    first = _parsed(await ask())
    second = _parsed(await ask())
    assert len(upstream.llm_requests) == calls + 1, "the repeat reached the upstream"
    assert stats.hits == hits + 1
    assert second == first
    return second


async def _hit_rows(gateway: GatewayRuntime, count: int) -> list[dict[str, Any]]:
    """The rows of the last `count` hits (each request after a miss), once ended."""
    async with asyncio.timeout(ROW_TIMEOUT_S):
        while True:
            rows = await gateway.engine.recorder.recent(limit=2 * count)
            if len(rows) == 2 * count and all(r["state"] != "started" for r in rows):
                break
            await asyncio.sleep(0.05)
    hits = [r for r in rows if r["route"].get("cache")]
    assert len(hits) == count
    for row in hits:
        assert row["state"] == "completed" and row["cost_usd"] == 0.0
        assert row["route"]["attempts"][-1]["outcome"] == "cache_hit"
    return hits


# -- OpenAI Chat Completions ------------------------------------------------------------------


async def test_openai_chat_sdk_reads_a_cached_answer_as_the_first(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    for model in TARGETS:
        await _chat_twice(gateway, upstream, model)
    await _hit_rows(gateway, 7 * len(TARGETS))


async def _chat_twice(gateway: GatewayRuntime, upstream: ScriptedUpstream, model: str) -> None:
    """Each way the openai SDK asks Chat Completions, twice."""
    completions = openai_client(gateway).chat.completions

    def ask(name: str, **extra: Any) -> Ask:
        async def create() -> Any:
            return await completions.create(
                model=model, messages=_question(name), temperature=0, **extra
            )

        return create

    async def streamed(name: str, **extra: Any) -> Any:
        stream = await ask(name, stream=True, **extra)()
        return [chunk async for chunk in stream]

    async def helper(name: str, **extra: Any) -> Any:
        async with completions.stream(
            model=model, messages=_question(name), temperature=0, **extra
        ) as stream:
            events = [event.type async for event in stream]
            return events, await stream.get_final_completion()

    async def parse() -> Any:
        answer = await completions.parse(
            model=model, messages=_question("parse"), temperature=0, response_format=Capital
        )
        return answer, answer.choices[0].message.parsed

    whole = await _answered_twice(gateway, upstream, ask("whole"))
    assert whole["choices"][0]["finish_reason"] == "stop" and whole["usage"]["total_tokens"]
    chunks = await _answered_twice(gateway, upstream, lambda: streamed("bare"))
    assert all(chunk["usage"] is None for chunk in chunks)
    usage = {"stream_options": {"include_usage": True}}
    chunks = await _answered_twice(gateway, upstream, lambda: streamed("usage", **usage))
    assert chunks[-1]["usage"]["total_tokens"]
    events, final = await _answered_twice(gateway, upstream, lambda: helper("helper"))
    assert "content.done" in events and final["choices"][0]["message"]["content"]
    _, capital = await _answered_twice(gateway, upstream, parse)
    assert set(capital) == {"city", "country"}
    tools = {"tools": [CHAT_TOOL]}
    called = await _answered_twice(gateway, upstream, ask("tool", **tools), reply=WEATHER_CALL)
    assert called["choices"][0]["finish_reason"] == "tool_calls"
    events, final = await _answered_twice(
        gateway, upstream, lambda: helper("tool-stream", **tools), reply=WEATHER_CALL
    )
    (call,) = final["choices"][0]["message"]["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert "tool_calls.function.arguments.done" in events


# -- OpenAI Responses -------------------------------------------------------------------------


async def test_openai_responses_sdk_reads_a_cached_answer_as_the_first(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    for model in TARGETS:
        await _responses_twice(gateway, upstream, model)
    await _hit_rows(gateway, 4 * len(TARGETS))


async def _responses_twice(gateway: GatewayRuntime, upstream: ScriptedUpstream, model: str) -> None:
    """Each way the openai SDK asks Responses, twice."""
    responses = openai_client(gateway).responses

    async def create(name: str) -> Any:
        return await responses.create(model=model, input=_question(name), temperature=0)

    async def streamed(name: str) -> Any:
        stream = await responses.create(
            model=model, input=_question(name), temperature=0, stream=True
        )
        return [event async for event in stream]

    async def helper(name: str, **extra: Any) -> Any:
        async with responses.stream(
            model=model, input=_question(name), temperature=0, **extra
        ) as stream:
            events = [event.type async for event in stream]
            return events, await stream.get_final_response()

    whole = await _answered_twice(gateway, upstream, lambda: create("whole"))
    assert whole["status"] == "completed" and whole["usage"]["total_tokens"]
    events = await _answered_twice(gateway, upstream, lambda: streamed("stream"))
    assert events[0]["type"] == "response.created"
    assert events[-1]["type"] == "response.completed"
    events, final = await _answered_twice(gateway, upstream, lambda: helper("helper"))
    assert final["output"][0]["content"][0]["text"]
    events, final = await _answered_twice(
        gateway, upstream, lambda: helper("tool", tools=[RESPONSES_TOOL]), reply=WEATHER_CALL
    )
    (call,) = [item for item in final["output"] if item["type"] == "function_call"]
    assert call["name"] == "get_weather" and call["call_id"]
    assert "response.function_call_arguments.done" in events


# -- Anthropic Messages -----------------------------------------------------------------------


async def test_anthropic_sdk_reads_a_cached_answer_as_the_first(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    for model in TARGETS:
        await _messages_twice(gateway, upstream, model)
    await _hit_rows(gateway, 4 * len(TARGETS))


async def _messages_twice(gateway: GatewayRuntime, upstream: ScriptedUpstream, model: str) -> None:
    """Each way the anthropic SDK asks Messages, twice."""
    messages = claude_client(gateway).messages

    async def create(name: str, **extra: Any) -> Any:
        return await messages.create(
            model=model, max_tokens=64, messages=_question(name), extra_body=GREEDY, **extra
        )

    async def streamed(name: str, **extra: Any) -> Any:
        async with messages.stream(
            model=model, max_tokens=64, messages=_question(name), extra_body=GREEDY, **extra
        ) as stream:
            events = [event async for event in stream]
            return events, await stream.get_final_message()

    whole = await _answered_twice(gateway, upstream, lambda: create("whole"))
    assert whole["stop_reason"] == "end_turn" and whole["usage"]["output_tokens"]
    events, final = await _answered_twice(gateway, upstream, lambda: streamed("stream"))
    assert events[-1]["type"] == "message_stop" and final["content"][0]["text"]
    tools = {"tools": [CLAUDE_TOOL]}
    called = await _answered_twice(
        gateway, upstream, lambda: create("tool", **tools), reply=WEATHER_CALL
    )
    assert called["stop_reason"] == "tool_use"
    events, final = await _answered_twice(
        gateway, upstream, lambda: streamed("tool-stream", **tools), reply=WEATHER_CALL
    )
    assert final["content"][-1]["input"] == {"city": "Paris"}


# -- Gemini -----------------------------------------------------------------------------------


async def test_gemini_sdk_reads_a_cached_answer_as_the_first(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    for model in TARGETS:
        await _gemini_twice(gateway, upstream, model)
    await _hit_rows(gateway, 2 * len(TARGETS))


async def _gemini_twice(gateway: GatewayRuntime, upstream: ScriptedUpstream, model: str) -> None:
    """Each way google-genai asks Gemini, twice."""
    models = gemini_client(gateway).aio.models
    greedy = types.GenerateContentConfig(temperature=0)

    async def whole() -> Any:
        return await models.generate_content(
            model=model, contents="whole: the capital of France?", config=greedy
        )

    async def streamed() -> Any:
        stream = await models.generate_content_stream(
            model=model, contents="stream: the capital of France?", config=greedy
        )
        return [chunk async for chunk in stream]

    answer = await _answered_twice(gateway, upstream, whole)
    assert answer["candidates"][0]["finish_reason"] == "STOP"
    chunks = await _answered_twice(gateway, upstream, streamed)
    assert chunks[-1]["usage_metadata"]["total_token_count"]


# -- what else the SDKs do by default ---------------------------------------------------------


async def test_sync_sdk_clients_read_a_cached_answer_as_the_first(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    gpt = openai.OpenAI(base_url=gateway.base_url + "/v1", api_key="unused", max_retries=0)
    claude = anthropic.Anthropic(base_url=gateway.base_url, api_key="unused", max_retries=0)

    def chat() -> Any:  # the sync clients block: each runs on a thread of its own
        with gpt.chat.completions.stream(
            model="gpt-4o", messages=_question("sync"), temperature=0
        ) as stream:
            return [event.type for event in stream], stream.get_final_completion()

    def claude_stream() -> Any:
        with claude.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=_question("sync"), extra_body=GREEDY
        ) as stream:
            return [event.type for event in stream], stream.get_final_message()

    for sync in (chat, claude_stream):
        await _answered_twice(gateway, upstream, lambda sync=sync: asyncio.to_thread(sync))


async def test_a_client_sending_no_cache_gets_fresh_answers_in_every_dialect(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(ON)
    fresh = {"Cache-Control": "no-cache"}
    gpt, claude = openai_client(gateway, headers=fresh), claude_client(gateway, headers=fresh)
    gemini = gemini_client(gateway, headers=fresh).aio.models
    greedy = types.GenerateContentConfig(temperature=0)

    async def asks() -> None:
        stream = await gpt.chat.completions.create(
            model="gpt-4o", messages=_question("fresh"), temperature=0, stream=True
        )
        assert [chunk async for chunk in stream]
        await gpt.responses.create(model="gpt-4o", input="fresh", temperature=0)
        async with claude.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=_question("fresh"), extra_body=GREEDY
        ) as answer:
            await answer.get_final_message()
        await gemini.generate_content(model="gemini-2.5-flash", contents="fresh", config=greedy)

    await asks()
    await asks()
    assert len(upstream.llm_requests) == 8
    stats = gateway.engine.gateway.cache_stats
    assert stats is not None and stats.hits == 0 and stats.kept == 8


async def test_langchain_chat_models_read_a_cached_answer_as_the_first(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    from langchain_anthropic import ChatAnthropic
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    # LangChain sends no temperature by default: a sampled request, cached when allowed.
    gateway: GatewayRuntime = await start_gateway({**ON, "cache.sampled": True})
    key = SecretStr("unused")
    chat_models = (
        ChatOpenAI(model="gpt-4o", base_url=gateway.base_url + "/v1", api_key=key),
        ChatAnthropic(  # type: ignore[call-arg]
            model_name="claude-sonnet-4-6", base_url=gateway.base_url, api_key=key
        ),
    )
    for chat_model in chat_models:

        async def invoke(chat_model: Any = chat_model) -> Any:
            return _without_run_id(await chat_model.ainvoke("invoke: the capital of France?"))

        async def stream(chat_model: Any = chat_model) -> Any:
            chunks = chat_model.astream("stream: the capital of France?")
            return [_without_run_id(chunk) async for chunk in chunks]

        message = await _answered_twice(gateway, upstream, invoke)
        assert message["content"] and message["usage_metadata"]["total_tokens"]
        assert await _answered_twice(gateway, upstream, stream)


def _without_run_id(message: Any) -> Any:
    """A LangChain message without the id LangChain gives each run (`lc_run--...`)."""
    return message.model_copy(update={"id": None})


async def test_responses_and_gemini_streams_are_replayed_byte_for_byte(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # The openai and anthropic SDKs' Chat and Messages streams: test_response_cache.py.
    gateway: GatewayRuntime = await start_gateway(ON)
    responses = openai_client(gateway).responses.with_streaming_response
    sse = {"contents": [{"parts": [{"text": "sse"}]}], "generationConfig": GREEDY}
    array = {"contents": [{"parts": [{"text": "array"}]}], "generationConfig": GREEDY}
    url = gateway.base_url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    async with httpx.AsyncClient() as client:
        asks = {
            "responses": lambda: responses.create(
                model="gpt-4o", input="bytes", temperature=0, stream=True
            ),
            # google-genai asks for server-sent events; without `alt=sse` it is a JSON array.
            "gemini sse": lambda: client.stream("POST", url + "?alt=sse", json=sse),
            "gemini array": lambda: client.stream("POST", url, json=array),
        }
        for name, ask in asks.items():
            seen = []
            for _ in range(2):
                async with ask() as response:
                    # httpx names it aiter_bytes, the openai SDK's wrapper iter_bytes.
                    pieces = getattr(response, "aiter_bytes", response.iter_bytes)()
                    body = b"".join([piece async for piece in pieces])
                    seen.append((response.headers["x-gateway-cache"], body))
            assert [cache for cache, _ in seen] == ["miss", "hit"], name
            assert seen[0][1] == seen[1][1], name
    assert len(upstream.llm_requests) == 3


# -- findings ---------------------------------------------------------------------------------


async def test_an_anthropic_beta_request_is_not_answered_from_one_without_the_beta(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # A beta changes how the model answers (interleaved thinking, a longer context or output,
    # tool-call encoding); it goes upstream as a header, outside the body.
    gateway: GatewayRuntime = await start_gateway(ON)
    claude = claude_client(gateway)
    ask: Any = {"model": "claude-sonnet-4-6", "max_tokens": 64, "extra_body": GREEDY}
    await claude.messages.create(messages=_question("beta"), **ask)
    beta = claude.beta.messages.with_raw_response
    answers = []
    for _ in range(2):
        answer = await beta.create(
            messages=_question("beta"), betas=["interleaved-thinking-2025-05-14"], **ask
        )
        answers.append(answer.headers["x-gateway-cache"])
    assert answers == ["miss", "hit"]
    without, with_beta = upstream.llm_requests
    assert "anthropic-beta" not in without.headers
    assert with_beta.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"


async def test_a_cached_answer_does_not_name_the_upstream_request_that_made_it(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    # The SDKs surface the vendor's request id (`_request_id`) for support tickets and logs; a
    # hit made no vendor request, and the id belongs to another one.
    gateway: GatewayRuntime = await start_gateway(ON)
    claude, gpt = claude_client(gateway), openai_client(gateway)
    for _ in range(2):
        message = await claude.messages.create(
            model="claude-sonnet-4-6", max_tokens=64, messages=_question("id"), extra_body=GREEDY
        )
        chat = await gpt.chat.completions.create(
            model="gpt-4o", messages=_question("id"), temperature=0
        )
        gemini = await gemini_client(gateway).aio.models.generate_content(
            model="gemini-2.5-flash", contents="id", config={"temperature": 0}
        )
    assert message._request_id is None and chat._request_id is None
    assert gemini.sdk_http_response is not None and gemini.sdk_http_response.headers is not None
    assert "x-request-id" not in gemini.sdk_http_response.headers
    assert len(upstream.llm_requests) == 3
