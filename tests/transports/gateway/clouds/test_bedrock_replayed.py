"""Amazon Bedrock's own answers (tests/fixtures/clouds/bedrock_answers.py) replayed through the
gateway, every request's SigV4 signature checked with botocore: reasoning, tool calls, the
cache usage, and exceptions before and in the middle of a stream."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.fakes.clouds.aws import signature_problem
from tests.fakes.clouds.replay import Canned, ReplayUpstream, Seen
from tests.fixtures.clouds import bedrock_answers as bedrock
from tests.sdk_clients import claude_client, openai_client
from tests.transports.gateway.clouds.conftest import (
    AWS_KEY_ID,
    AWS_REGION,
    AWS_SECRET,
    BEDROCK_MODEL,
)
from tests.transports.gateway.conftest import GatewayFactory

MESSAGES = [{"role": "user", "content": "top song on WZPZ?"}]
STREAM = {"content-type": "application/vnd.amazon.eventstream"}
TOOLS = [
    {
        "name": "top_song",
        "input_schema": {"type": "object", "properties": {"sign": {"type": "string"}}},
    }
]


def _signed(seen: Seen) -> str | None:
    return signature_problem(
        seen.method, seen.url, seen.headers, seen.body, {AWS_KEY_ID: (AWS_SECRET, None)}, AWS_REGION
    )


@pytest.fixture
async def bedrock_replay(monkeypatch: pytest.MonkeyPatch) -> ReplayUpstream:
    async with ReplayUpstream(check=_signed) as up:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        monkeypatch.setenv("AWS_REGION", AWS_REGION)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", up.url)
        yield up


async def test_a_whole_answer_with_reasoning_and_a_tool_call(
    bedrock_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    bedrock_replay.add(Canned(json.dumps(bedrock.WHOLE_ANSWER).encode()))
    gateway = await start_gateway()
    reply = await claude_client(gateway).messages.create(
        model=f"bedrock/{BEDROCK_MODEL}", max_tokens=200, messages=MESSAGES, tools=TOOLS
    )
    kinds = [b.type for b in reply.content]
    assert kinds == ["thinking", "text", "tool_use"]
    assert reply.content[0].signature == "EqoBCkgIARABGAIiQL"  # type: ignore[union-attr]
    assert reply.content[2].input == {"sign": "WZPZ"}  # type: ignore[union-attr]
    assert reply.stop_reason == "tool_use"
    assert reply.usage.input_tokens == 375 and reply.usage.cache_read_input_tokens == 2048
    (seen,) = bedrock_replay.requests
    assert seen.raw_path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"


async def test_a_converse_stream_reaches_an_openai_client_with_its_tool_call_and_usage(
    bedrock_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    bedrock_replay.add(Canned(bedrock.stream_with_reasoning_and_a_tool_call(), headers=STREAM))
    gateway = await start_gateway()
    chunks = await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}",
        messages=MESSAGES,
        tools=[
            {
                "type": "function",
                "function": {"name": "top_song", "parameters": TOOLS[0]["input_schema"]},
            }
        ],  # type: ignore[index]
        stream=True,
        stream_options={"include_usage": True},
    )
    seen = [c async for c in chunks]
    text = "".join(c.choices[0].delta.content or "" for c in seen if c.choices)
    assert text == "I'll look up the top song."
    calls = [tc for c in seen if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].function.name == "top_song"
    assert "".join(tc.function.arguments or "" for tc in calls) == '{"sign": "WZPZ"}'
    assert [c.choices[0].finish_reason for c in seen if c.choices][-1] == "tool_calls"
    usage = seen[-1].usage
    assert usage is not None and usage.prompt_tokens == 375 + 2048
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["state"] == "completed" and row["cache_read_tokens"] == 2048


async def test_a_stream_refused_before_its_answer_falls_back(
    bedrock_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    bedrock_replay.add(
        Canned(bedrock.stream_throttled_at_once(), headers=STREAM),
        Canned(bedrock.stream_with_reasoning_and_a_tool_call(), headers=STREAM),
    )
    gateway = await start_gateway(
        {"gateway.routes": {"work": {"fallback": [f"bedrock/{BEDROCK_MODEL}"]}}}
        | {"gateway.aliases": {"work": "bedrock/amazon.nova-pro-v1:0"}}
    )
    async with claude_client(gateway).messages.stream(
        model="work", max_tokens=200, messages=MESSAGES, tools=TOOLS
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    first, second = bedrock_replay.requests
    assert "nova" in first.path and "claude" in second.path


async def test_an_exception_in_the_middle_of_a_stream_ends_it_with_an_error_event(
    bedrock_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    bedrock_replay.add(Canned(bedrock.stream_broken_midway(), headers=STREAM))
    gateway = await start_gateway()
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with claude_client(gateway).messages.stream(
            model=f"bedrock/{BEDROCK_MODEL}", max_tokens=200, messages=MESSAGES
        ) as stream:
            async for _ in stream.text_stream:
                pass
    assert "modelStreamErrorException" in str(caught.value)
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["error_code"] == "stream_broken"


async def test_model_access_not_granted_is_model_not_enabled(
    bedrock_replay: ReplayUpstream, start_gateway: GatewayFactory
) -> None:
    bedrock_replay.add(
        Canned(
            json.dumps(bedrock.ACCESS_DENIED).encode(),
            status=403,
            headers={
                "content-type": "application/json",
                "x-amzn-ErrorType": "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            },
        )
    )
    gateway = await start_gateway()
    with pytest.raises(openai.PermissionDeniedError) as caught:
        await openai_client(gateway).chat.completions.create(
            model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "model_not_enabled"
    assert "don't have access to the model" in body["message"]
