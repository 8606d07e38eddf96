"""Azure OpenAI's own answers (tests/fixtures/clouds/azure_answers.py) replayed through the
gateway: its content-filter results, its choice-less first stream chunk, its error shapes, each
reaching clients of every dialect with the right code and Azure's message kept."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.fakes.clouds.replay import Canned, ReplayUpstream
from tests.fixtures.clouds import azure_answers as azure
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.clouds.conftest import (
    AZURE_KEY,
)
from tests.transports.gateway.conftest import GatewayFactory

MESSAGES = [{"role": "user", "content": "capital of France?"}]
SSE = {"content-type": "text/event-stream"}


@pytest.fixture
async def azure_replay(monkeypatch: pytest.MonkeyPatch) -> ReplayUpstream:
    async with ReplayUpstream() as up:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", up.url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
        monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
        yield up


async def test_a_whole_answer_with_filter_results_reaches_an_anthropic_client(
    azure_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    azure_replay.add(Canned(json.dumps(azure.CHAT_ANSWER).encode()))
    gateway = await start_gateway()
    reply = await claude_client(gateway).messages.create(
        model="azure/prod-4o", max_tokens=20, messages=MESSAGES
    )
    assert reply.content[0].type == "text" and reply.content[0].text == "Paris."
    assert reply.usage.cache_read_input_tokens == 1024
    assert reply.usage.input_tokens == 1200 - 1024


async def test_azure_stream_with_its_filter_chunk_first_is_translated_and_passed_through(
    azure_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    azure_replay.add(
        Canned(azure.chat_stream(), headers=SSE), Canned(azure.chat_stream(), headers=SSE)
    )
    gateway = await start_gateway()
    async with claude_client(gateway).messages.stream(
        model="azure/prod-4o", max_tokens=20, messages=MESSAGES
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Paris." and final.usage.cache_read_input_tokens == 1024
    # An OpenAI client gets Azure's own chunks, the filter results included.
    chunks = await openai_client(gateway).chat.completions.create(
        model="azure/prod-4o", messages=MESSAGES, stream=True
    )
    seen = [chunk async for chunk in chunks]
    assert (seen[0].model_extra or {}).get("prompt_filter_results")
    assert "".join(c.choices[0].delta.content or "" for c in seen if c.choices) == "Paris."
    rows = await gateway.engine.recorder.recent(limit=5)
    assert all(r["cache_read_tokens"] == 1024 for r in rows)


async def test_the_content_filter_is_content_filtered_with_azures_message(
    azure_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    body = json.dumps(azure.CONTENT_FILTER_ERROR).encode()
    azure_replay.add(Canned(body, status=400), Canned(body, status=400))
    gateway = await start_gateway()
    with pytest.raises(anthropic.BadRequestError) as caught:
        await claude_client(gateway).messages.create(
            model="azure/prod-4o", max_tokens=20, messages=MESSAGES
        )
    assert "content management policy" in caught.value.message
    # An OpenAI client gets Azure's own body, its filter details included.
    with pytest.raises(openai.BadRequestError) as relayed:
        await openai_client(gateway).chat.completions.create(
            model="azure/prod-4o", messages=MESSAGES
        )
    assert relayed.value.code == "content_filter"
    rows = await gateway.engine.recorder.recent(limit=5)
    assert {r["error_code"] for r in rows} == {"content_filtered"}
    assert len(azure_replay.requests) == 2  # a filtered prompt is not tried again elsewhere


async def test_a_missing_deployment_is_model_not_enabled(
    azure_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    azure_replay.add(Canned(json.dumps(azure.DEPLOYMENT_NOT_FOUND).encode(), status=404))
    gateway = await start_gateway()
    with pytest.raises(anthropic.NotFoundError) as caught:
        await claude_client(gateway).messages.create(
            model="azure/gone", max_tokens=20, messages=MESSAGES
        )
    assert "deployment for this resource does not exist" in caught.value.message
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["error_code"] == "model_not_enabled"


async def test_throttling_falls_back_and_then_says_rate_limited_with_retry_after(
    azure_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    limited = Canned(
        json.dumps(azure.RATE_LIMIT_ERROR).encode(),
        status=429,
        headers={"content-type": "application/json", "retry-after": "6"},
    )
    azure_replay.add(limited)
    gateway = await start_gateway()
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client(gateway).chat.completions.create(
            model="azure/prod-4o", messages=MESSAGES
        )
    assert caught.value.response.headers["retry-after"] == "6"
    assert "exceeded token rate limit" in str(caught.value.body)
