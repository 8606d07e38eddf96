"""Bedrock's InvokeModel and Vertex's rawPredict as doors onto Messages, through Anthropic's own
Bedrock and Vertex SDKs (as a script set up for either cloud makes them): any model behind
them, the cloud's names of Claude models answered by Anthropic when the gateway has no such
cloud, their streams in each cloud's framing, their token counts, and their refusals in
Anthropic's envelope. (Claude Code itself on these doors: tests/clients/test_claude_code_clouds.py.)
"""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import anthropic
import pytest
from botocore.eventstream import EventStreamBuffer

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import (
    COUNT_TOKENS_ANSWER,
    DEFAULT_ANSWER,
    ScriptedUpstream,
)
from tests.sdk_clients import HI, VERTEX_PROJECT, VERTEX_REGION, bedrock_client, vertex_client

BEDROCK_SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_SONNET = "claude-sonnet-4-5@20250929"
SONNET = "claude-sonnet-4-5-20250929"
VERTEX_MODELS = f"/v1/projects/{VERTEX_PROJECT}/locations/{VERTEX_REGION}/publishers/anthropic"


async def test_bedrock_invoke_on_an_openai_model(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    reply = await bedrock_client(gateway).messages.create(
        model="gpt-4o", max_tokens=50, messages=HI
    )
    assert reply.content[0].type == "text" and reply.content[0].text.startswith(DEFAULT_ANSWER)
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/chat/completions" and seen.body["model"] == "gpt-4o"
    (row,) = await gateway.engine.recorder.recent(limit=1)
    assert (row["provider"], row["state"], row["model"]) == ("openai", "completed", "gpt-4o")


async def test_bedrock_stream_of_a_bedrock_claude_id_reaches_anthropic_with_its_betas(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """Without Bedrock set up here, Claude's Bedrock id is Anthropic's same model; the body's
    `anthropic_beta` goes on as the header, `anthropic_version` not at all."""
    client = bedrock_client(gateway, headers={"anthropic-beta": "claude-code-20250219"})
    async with client.messages.stream(
        model=BEDROCK_SONNET,
        max_tokens=50,
        messages=HI,
        extra_body={"anthropic_beta": ["interleaved-thinking-2025-05-14"]},
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text.startswith(DEFAULT_ANSWER) and final.stop_reason == "end_turn"
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/messages" and seen.body["model"] == SONNET
    assert seen.body["stream"] is True
    assert "anthropic_version" not in seen.body and "anthropic_beta" not in seen.body
    betas = seen.headers["anthropic-beta"].split(",")
    assert betas == ["claude-code-20250219", "interleaved-thinking-2025-05-14"]
    rows = await gateway.engine.recorder.recent(limit=5)
    assert [(r["provider"], r["state"]) for r in rows] == [("anthropic", "completed")]


async def test_the_bedrock_stream_is_awss_event_stream_as_botocore_reads_it(
    gateway: GatewayRuntime,
) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": HI}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway.base_url}/model/gpt-4o/invoke-with-response-stream", json=body
        ) as answer,
    ):
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/vnd.amazon.eventstream"
        buffer = EventStreamBuffer()
        buffer.add_data(await answer.read())
    events = []
    for message in buffer:
        assert message.headers[":event-type"] == "chunk"
        events.append(json.loads(base64.b64decode(json.loads(message.payload)["bytes"])))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds


async def test_vertex_raw_predict_whole_and_streamed(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = vertex_client(gateway)
    whole = await client.messages.create(model="gpt-4o", max_tokens=50, messages=HI)
    assert whole.content[0].type == "text" and whole.content[0].text.startswith(DEFAULT_ANSWER)
    async with client.messages.stream(model=VERTEX_SONNET, max_tokens=50, messages=HI) as stream:
        text = "".join([piece async for piece in stream.text_stream])
    assert text.startswith(DEFAULT_ANSWER)
    openai_call, anthropic_call = upstream.llm_requests
    assert openai_call.path == "/v1/chat/completions"
    assert anthropic_call.path == "/v1/messages" and anthropic_call.body["model"] == SONNET
    assert "anthropic_version" not in anthropic_call.body


async def test_both_clouds_count_tokens(gateway: GatewayRuntime) -> None:
    vertex = await vertex_client(gateway).messages.count_tokens(model=VERTEX_SONNET, messages=HI)
    assert vertex.input_tokens == COUNT_TOKENS_ANSWER
    invoke = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1, "messages": HI}
    encoded = base64.b64encode(json.dumps(invoke).encode()).decode()
    counted = await _post(
        gateway,
        f"/model/{BEDROCK_SONNET}/count-tokens",
        {"input": {"invokeModel": {"body": encoded}}},
    )
    assert counted[0] == 200 and counted[1]["inputTokens"] == COUNT_TOKENS_ANSWER
    assert counted[1]["x_gateway"]["tokenCount"] == "exact"
    on_openai = await _post(
        gateway, "/model/gpt-4o/count-tokens", {"input": {"invokeModel": {"body": encoded}}}
    )
    assert on_openai[0] == 200 and on_openai[1]["inputTokens"] > 0


async def test_refusals_are_in_anthropics_envelope_the_sdks_read(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    with pytest.raises(anthropic.NotFoundError) as unknown:
        await bedrock_client(gateway).messages.create(
            model="no-such-model", max_tokens=5, messages=HI
        )
    assert "unknown model 'no-such-model'" in str(unknown.value)
    with pytest.raises(anthropic.BadRequestError) as betas:
        await bedrock_client(gateway).messages.create(
            model="gpt-4o", max_tokens=5, messages=HI, extra_body={"anthropic_beta": "x"}
        )
    assert "anthropic_beta" in str(betas.value)
    status, body = await _post(gateway, f"{VERTEX_MODELS}/models/gpt-4o:predict", {})
    assert status == 404 and body["type"] == "error" and "rawPredict" in body["error"]["message"]
    status, body = await _post(gateway, f"/model/{BEDROCK_SONNET}/count-tokens", {"input": {}})
    assert status == 400 and "input.invokeModel.body" in body["error"]["message"]
    assert upstream.llm_requests == []


async def test_bedrocks_inference_profiles_are_none_and_need_no_key(
    gateway: GatewayRuntime,
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.base_url}/inference-profiles?type=SYSTEM_DEFINED") as answer,
    ):
        assert (answer.status, await answer.json()) == (200, {"inferenceProfileSummaries": []})


async def _post(gateway: GatewayRuntime, path: str, body: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.base_url + path, json=body) as answer,
    ):
        return answer.status, await answer.json()
