"""Same dialect, same bytes; across dialects, translated or said: through the running gateway
with the official SDKs and raw HTTP, against the scripted upstream."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import COUNT_TOKENS_ANSWER, Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client

MESSAGE_ID = re.compile(rb"msg_[A-Za-z0-9_]+")
STREAMED_CLAUDE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 50,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}


async def post(
    gateway: GatewayRuntime, path: str, body: dict[str, Any], **headers: str
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.base_url + path, json=body, headers=headers) as response,
    ):
        return response.status, dict(response.headers), await response.read()


def _json_or_none(data: bytes) -> Any:
    """A whole event's data; None for the half event a cut stream ends with."""
    try:
        return json.loads(data)
    except ValueError:
        return None


async def test_same_dialect_forwards_unknown_fields_headers_and_roles_untouched(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 50,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "mid-conversation"},
            {"role": "user", "content": [{"type": "brand_new_block", "payload": 1}]},
        ],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        "field_from_next_month": {"on": True},
    }
    status, headers, raw = await post(
        gateway,
        "/v1/messages",
        body,
        **{"anthropic-beta": "future-beta-2027-01-01", "x-app": "cli", "X-Caller": "me"},
    )
    assert status == 200, raw
    (seen,) = upstream.llm_requests
    assert seen.body == body  # the very request, model included (it was not renamed)
    assert seen.headers["anthropic-beta"] == "future-beta-2027-01-01"
    assert seen.headers["x-app"] == "cli"
    assert "x-caller" not in seen.headers  # ours, not the upstream's business
    # The answer is the upstream's own, with its request id, plus our route headers.
    assert headers["request-id"] == "req_fake"
    assert headers["x-gateway-provider"] == "anthropic"


async def test_the_clients_credentials_never_reach_the_upstream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    await post(
        gateway,
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        Authorization="Bearer client-secret-token",
        **{"OpenAI-Organization": "org-someone-else", "Cookie": "session=1"},
    )
    (seen,) = upstream.llm_requests
    assert seen.headers["authorization"] != "<redacted 26 chars>"  # not the client's
    assert "openai-organization" not in seen.headers  # the operator's key picks the account
    assert "cookie" not in seen.headers


async def test_a_responses_request_with_previous_response_id(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = openai_client(gateway)
    # To OpenAI: its own state, so it goes through as sent.
    await client.responses.create(model="gpt-5.1", input="and then?", previous_response_id="r1")
    assert upstream.llm_requests[-1].body["previous_response_id"] == "r1"
    # To another provider: refused in the client's envelope, naming the feature and the model.
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(
            model="claude-sonnet-4-6", input="and then?", previous_response_id="r1"
        )
    assert caught.value.code == "untranslatable"
    assert caught.value.body["message"].startswith(  # type: ignore[index]
        "previous_response_id cannot be carried from an OpenAI Responses request to "
        "anthropic/claude-sonnet-4-6 (Anthropic Messages)"
    )
    assert len(upstream.llm_requests) == 1


async def test_chat_with_several_choices(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = openai_client(gateway)
    await client.chat.completions.create(
        model="gpt-4o", n=2, messages=[{"role": "user", "content": "hi"}]
    )
    assert upstream.llm_requests[-1].body["n"] == 2
    with pytest.raises(openai.BadRequestError, match="n > 1 cannot be carried"):
        await client.chat.completions.create(
            model="gemini-2.5-flash", n=2, messages=[{"role": "user", "content": "hi"}]
        )


async def test_what_a_translation_leaves_out_is_said_in_a_notice(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "input": "look it up",
        "tools": [{"type": "web_search"}, {"type": "function", "name": "f", "parameters": {}}],
        "include": ["reasoning.encrypted_content"],
    }
    status, headers, raw = await post(gateway, "/v1/responses", body)
    assert status == 200, raw
    notice = headers["x-gateway-notice"]
    assert notice.startswith("left out for anthropic/claude-sonnet-4-6: ")
    assert "web_search tool (OpenAI's)" in notice and "include (OpenAI's)" in notice
    assert [t["name"] for t in upstream.llm_requests[-1].body["tools"]] == ["f"]
    # The flight recorder keeps the notice with the route.
    (row,) = await gateway.engine.recorder.recent(limit=1)
    assert row["route"]["notices"] == [notice]


async def test_a_fallback_to_another_dialect_after_a_same_dialect_failure(
    start_gateway: Any, upstream: ScriptedUpstream
) -> None:
    # The Claude Code request fails at Anthropic (overloaded); the route falls back to OpenAI,
    # which needs the translation only now.
    gateway = await start_gateway(
        {"gateway.routes": {"claude-sonnet-4-6": {"fallback": ["gpt-4o"]}}}
    )
    upstream.script(Reply.error(529))
    reply = await claude_client(gateway).messages.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=[
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "Be brief."},  # type: ignore[list-item]
        ],
    )
    assert reply.content[0].type == "text"
    first, second = upstream.llm_requests
    assert (first.path, second.path) == ("/v1/messages", "/v1/chat/completions")
    assert [m["role"] for m in second.body["messages"]] == ["user", "system"]


async def test_token_counts_come_from_the_provider_that_owns_the_model(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # An Anthropic client asking about a Gemini model: Gemini counts it.
    status, headers, raw = await post(
        gateway,
        "/v1/messages/count_tokens",
        {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert status == 200, raw
    assert headers["x-gateway-token-count"] == "exact"
    seen = upstream.requests[-1]
    assert seen.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert seen.body["generateContentRequest"]["model"] == "models/gemini-2.5-flash"
    # A Gemini client asking about a Claude model: Anthropic counts it.
    google = gemini_client(gateway)
    counted = await google.aio.models.count_tokens(model="claude-sonnet-4-6", contents="hello")
    assert counted.total_tokens == COUNT_TOKENS_ANSWER
    assert upstream.requests[-1].path == "/v1/messages/count_tokens"
    assert upstream.requests[-1].body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hello"}]}
    ]


async def test_a_same_dialect_stream_is_relayed_byte_for_byte(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    body = STREAMED_CLAUDE
    async with (
        aiohttp.ClientSession() as session,
        session.post(upstream.base_url + "/v1/messages", json=body) as direct,
    ):
        expected = await direct.read()
    status, _, relayed = await post(gateway, "/v1/messages", body)
    assert status == 200
    # Every byte but the message id the fake makes up for each answer.
    assert MESSAGE_ID.sub(b"msg_", relayed) == MESSAGE_ID.sub(b"msg_", expected)


async def test_a_relayed_stream_says_cache_control_once(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # The upstream's stream says `Cache-Control: no-cache` as the gateway's own does: one line.
    body = STREAMED_CLAUDE
    async with (
        aiohttp.ClientSession() as session,
        session.post(upstream.base_url + "/v1/messages", json=body) as direct,
    ):
        assert direct.headers.getall("Cache-Control") == ["no-cache"]
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway.base_url + "/v1/messages", json=body) as relayed,
    ):
        assert relayed.status == 200
        assert relayed.headers.getall("Cache-Control") == ["no-cache"]
        await relayed.read()


async def test_a_cut_responses_stream_numbers_its_closing_error_after_the_last_event(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.cut())
    body = {"model": "gpt-4o", "input": "hi", "stream": True}
    status, _, raw = await post(gateway, "/v1/responses", body)
    assert status == 200
    # The upstream's whole events, each numbered, then its half event, then the gateway's error.
    head, _, error_frame = raw.rpartition(b"event: error\n")
    complete = [
        event["sequence_number"]
        for line in head.split(b"\n")
        if line.startswith(b"data: {") and (event := _json_or_none(line[6:])) is not None
    ]
    error = json.loads(error_frame.split(b"data: ", 1)[1].split(b"\n", 1)[0])
    assert complete == list(range(len(complete))) and complete
    assert error["type"] == "error" and error["code"] == "upstream_stream_broken"
    assert error["sequence_number"] == complete[-1] + 1


async def test_a_same_dialect_stream_cut_midway_ends_with_an_error_event(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.cut())
    body = STREAMED_CLAUDE
    status, _, raw = await post(gateway, "/v1/messages", body)
    assert status == 200
    assert raw.rstrip().endswith(b"}") and b"event: error" in raw
    rows = await gateway.engine.recorder.recent(limit=1)
    assert (rows[0]["state"], rows[0]["error_code"]) == ("failed", "stream_broken")
