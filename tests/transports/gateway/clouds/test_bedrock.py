"""Amazon Bedrock through the gateway: Converse and ConverseStream signed with SigV4 by botocore
(the fake checks every signature with botocore itself), credentials from the standard AWS chain,
Bedrock API keys and key pools, and every client dialect on top, tools, images, cache points
and the usage Bedrock reports (cache reads and writes) included."""

from __future__ import annotations

import base64
from pathlib import Path

import anthropic
import openai
import pytest
from aiohttp import web

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.clouds.aws import signature_problem
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    DEFAULT_ANSWER,
    Reply,
    ScriptedUpstream,
)
from tests.sdk_clients import (
    chat_refusal,
    claude_client,
    claude_stream,
    gemini_stream_text,
    openai_client,
    responses_stream_kinds,
)
from tests.transports.gateway.clouds.conftest import (
    AWS_KEY_ID,
    AWS_REGION,
    AWS_SECRET,
    BEDROCK_MODEL,
    assert_secret_kept,
)
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import _rows
from tests.waiting import until

MESSAGES = [{"role": "user", "content": "hi"}]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def verifier(keys: dict[str, tuple[str, str | None]], bearer: set[str] | None = None):  # type: ignore[no-untyped-def]
    """The fake's check: a botocore-verified SigV4 signature, or one of `bearer`'s API keys."""

    def verify(request: web.Request, body: bytes) -> str | None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        given = headers.get("authorization", "")
        if given.startswith("Bearer ") and bearer is not None:
            return None if given.removeprefix("Bearer ") in bearer else "unknown API key"
        return signature_problem(request.method, str(request.url), headers, body, keys, AWS_REGION)

    return verify


@pytest.fixture
def aws_env(upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a botocore user has set: keys in the environment, a region, and the endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", upstream.base_url)
    upstream.verify = verifier({AWS_KEY_ID: (AWS_SECRET, None)})


async def test_an_anthropic_client_reaches_bedrock_signed_and_keeps_the_cache_usage(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    reply = await claude_client(gateway).messages.create(
        model=f"bedrock/{BEDROCK_MODEL}",
        max_tokens=64,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                    {"type": "text", "text": "what is this?"},
                ],
            }
        ],
    )
    assert reply.content[0].type == "text" and reply.content[0].text.startswith(DEFAULT_ANSWER)
    assert reply.usage.input_tokens == ANTHROPIC_INPUT_TOKENS
    assert reply.usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert reply.usage.cache_creation_input_tokens == ANTHROPIC_CACHE_CREATION_TOKENS
    (seen,) = upstream.llm_requests
    assert seen.path == f"/model/{BEDROCK_MODEL}/converse"
    assert seen.body["system"] == [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}]
    image, text = seen.body["messages"][0]["content"]
    assert text == {"text": "what is this?"}
    assert image == {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert seen.body["inferenceConfig"]["maxTokens"] == 64
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["provider"] == "bedrock" and rows[0]["state"] == "completed"
    assert rows[0]["cache_write_tokens"] == ANTHROPIC_CACHE_CREATION_TOKENS
    # Priced as the Claude model the Bedrock id is.
    assert rows[0]["cost_usd"] is not None and rows[0]["cost_usd"] > 0


async def test_every_client_dialect_streams_from_converse_stream(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    text, final = await claude_stream(gateway, f"bedrock/{BEDROCK_MODEL}", max_tokens=64)
    assert text.startswith(DEFAULT_ANSWER)
    assert final.usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    assert final.usage.output_tokens == ANTHROPIC_OUTPUT_TOKENS
    chunks = await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    seen = [c async for c in chunks]
    assert "".join(c.choices[0].delta.content or "" for c in seen if c.choices).startswith(
        DEFAULT_ANSWER
    )
    usage = seen[-1].usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == ANTHROPIC_CACHE_READ_TOKENS
    kinds = await responses_stream_kinds(gateway, f"bedrock/{BEDROCK_MODEL}")
    assert kinds[-1] == "response.completed"
    assert (await gemini_stream_text(gateway, f"bedrock/{BEDROCK_MODEL}")).startswith(
        DEFAULT_ANSWER
    )
    assert {r.path for r in upstream.llm_requests} == {f"/model/{BEDROCK_MODEL}/converse-stream"}
    assert all(
        r.headers["accept"] == "application/vnd.amazon.eventstream" for r in upstream.llm_requests
    )


async def test_a_tool_round_trip_in_openai_chat_over_converse(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    upstream.script(
        Reply.tool_call("get_weather", {"city": "Paris"}), Reply.ok("Sunny.", verbatim=True)
    )
    client = openai_client(gateway)
    first = await client.chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES, tools=[TOOL], stream=False
    )
    (call,) = first.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and call.function.arguments == '{"city": "Paris"}'
    assert first.choices[0].finish_reason == "tool_calls"
    second = await client.chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}",
        tools=[TOOL],
        messages=[
            *MESSAGES,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "22C and sunny"},
        ],
    )
    assert second.choices[0].message.content == "Sunny."
    sent = upstream.llm_requests[-1].body
    assert sent["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert sent["messages"][1]["content"][0]["toolUse"]["input"] == {"city": "Paris"}
    result = sent["messages"][2]["content"][0]["toolResult"]
    assert result["toolUseId"] == call.id and result["content"] == [{"text": "22C and sunny"}]


async def test_a_streamed_tool_call_reaches_an_anthropic_client(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    upstream.script(Reply.tool_call("get_weather", {"city": "Paris"}))
    async with claude_client(gateway).messages.stream(
        model=f"bedrock/{BEDROCK_MODEL}",
        max_tokens=64,
        messages=MESSAGES,
        tools=[{"name": "get_weather", "input_schema": TOOL["function"]["parameters"]}],  # type: ignore[index]
    ) as stream:
        final = await stream.get_final_message()
    (use,) = [b for b in final.content if b.type == "tool_use"]
    assert use.name == "get_weather" and use.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


async def test_a_converse_stream_ended_after_message_stop_without_its_metadata_is_cut(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    # The usage comes with the metadata, after messageStop: a body ended by the connection's
    # close there was taken as a whole answer of 0 tokens (and kept as one by the cache).
    upstream.script(Reply.cut(after_finish=True, unframed=True))
    with pytest.raises(anthropic.APIStatusError, match="upstream stream broke"):
        await claude_stream(gateway, f"bedrock/{BEDROCK_MODEL}", max_tokens=64)
    (row,) = await _rows(gateway, 1)
    assert (row["state"], row["error_code"]) == ("failed", "stream_broken")
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0  # at its estimate


async def test_credentials_from_a_profile_and_the_region_from_its_config(
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
) -> None:
    aws = isolated_env / "aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        f"[work]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"
        "aws_session_token = session-token-of-the-profile\n"
    )
    (aws / "config").write_text(f"[profile work]\nregion = {AWS_REGION}\n")
    monkeypatch.setenv("AWS_PROFILE", "work")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", upstream.base_url)
    upstream.verify = verifier({AWS_KEY_ID: (AWS_SECRET, "session-token-of-the-profile")})
    gateway = await start_gateway()
    reply = await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
    )
    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")


async def test_a_bedrock_api_key_goes_as_a_bearer_token(
    upstream: ScriptedUpstream, start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_key = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxlLWtleQ=="
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", api_key)
    monkeypatch.setenv("AWS_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", upstream.base_url)
    upstream.verify = verifier({}, bearer={api_key})
    gateway = await start_gateway()
    await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
    )
    assert len(upstream.llm_requests) == 1
    (row,) = await gateway.engine.recorder.recent(limit=5)
    assert row["state"] == "completed"


async def test_a_pool_of_two_accounts_moves_on_when_one_is_throttled(
    upstream: ScriptedUpstream, start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    second_id, second_secret = "AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
    monkeypatch.setenv("AWS_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", upstream.base_url)
    upstream.verify = verifier({AWS_KEY_ID: (AWS_SECRET, None), second_id: (second_secret, None)})
    upstream.script(Reply.error(429, "Too many requests, please wait before trying again."))
    gateway = await start_gateway(
        {
            "gateway.providers": {
                "bedrock": {
                    "api_keys": [f"{AWS_KEY_ID}:{AWS_SECRET}", f"{second_id}:{second_secret}"]
                }
            }
        }
    )
    reply = await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
    )
    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
    first, second = upstream.llm_requests
    assert first.secrets != second.secrets  # each signed with its own account
    rows = await gateway.engine.recorder.recent(limit=5)
    assert [r["state"] for r in rows[::-1]][-1] == "completed"


@pytest.mark.parametrize(
    ("status", "message", "code", "http"),
    [
        (429, "Too many requests, please wait before trying again.", "rate_limited", 429),
        (
            403,
            "You don't have access to the model with the specified model ID.",
            "model_not_enabled",
            403,
        ),
        (400, "The provided model identifier is invalid.", "model_not_enabled", 403),
    ],
)
async def test_bedrock_errors_become_our_codes_with_its_message(
    status: int,
    message: str,
    code: str,
    http: int,
    aws_env: None,
    upstream: ScriptedUpstream,
    gateway: GatewayRuntime,
) -> None:
    upstream.by_dialect["bedrock"] = Reply.error(status, message)
    with pytest.raises(anthropic.APIStatusError) as caught:
        await claude_client(gateway).messages.create(
            model=f"bedrock/{BEDROCK_MODEL}", max_tokens=20, messages=MESSAGES
        )
    assert caught.value.status_code == http
    assert message in caught.value.message
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["error_code"] == code


async def test_a_used_up_quota_moves_on_and_is_quota_exceeded(
    aws_env: None, upstream: ScriptedUpstream, start_gateway: GatewayFactory
) -> None:
    upstream.by_dialect["bedrock"] = Reply.error(400, "The service quota of tokens is used up.")
    gateway = await start_gateway(
        {"gateway.routes": {f"bedrock/{BEDROCK_MODEL}": {"fallback": ["claude-sonnet-4-6"]}}}
    )
    # Another target serves (Bedrock's 400 for a quota is not the request's fault) ...
    reply = await openai_client(gateway).chat.completions.create(
        model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
    )
    assert DEFAULT_ANSWER in (reply.choices[0].message.content or "")
    assert [r.dialect for r in upstream.llm_requests] == ["bedrock", "anthropic"]
    # ... and alone, the client is told the quota is used up, in Bedrock's words.
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client(gateway).chat.completions.create(
            model="bedrock/amazon.nova-pro-v1:0", messages=MESSAGES
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "quota_exceeded"
    assert "quota of tokens is used up" in body["message"]


async def test_without_a_region_the_client_is_told_to_set_aws_region(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    status, body = await chat_refusal(gateway, f"bedrock/{BEDROCK_MODEL}")
    assert status == 400 and body["code"] == "cloud_not_configured"
    assert "AWS_REGION" in body["message"]


async def test_without_credentials_the_client_is_told_what_to_set(
    start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", AWS_REGION)
    for name in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    gateway = await start_gateway()
    with pytest.raises(anthropic.APIStatusError) as caught:
        await claude_client(gateway).messages.create(
            model=f"bedrock/{BEDROCK_MODEL}", max_tokens=20, messages=MESSAGES
        )
    assert caught.value.status_code == 400
    assert (
        "AWS_PROFILE" in caught.value.message and "AWS_BEARER_TOKEN_BEDROCK" in caught.value.message
    )


async def test_aws_secrets_reach_neither_the_log_nor_the_recorder(
    aws_env: None,
    upstream: ScriptedUpstream,
    start_gateway: GatewayFactory,
    debug_log: pytest.LogCaptureFixture,
    isolated_env: Path,
) -> None:
    upstream.by_dialect["bedrock"] = Reply.error(403, f"The secret {AWS_SECRET} was refused")
    gateway = await start_gateway({"recorder.capture.providers": ["*"]})
    _, body = await chat_refusal(gateway, f"bedrock/{BEDROCK_MODEL}")
    await assert_secret_kept(AWS_SECRET, gateway, body, debug_log.text, isolated_env)


async def test_a_cloud_has_its_switch_and_its_health_like_any_api_provider(
    aws_env: None, upstream: ScriptedUpstream, gateway: GatewayRuntime
) -> None:
    engine = gateway.engine
    switches = {s.gateway_id: s for s in engine.providers.states()}
    assert {"azure", "bedrock", "vertex"} <= switches.keys()
    assert (
        switches["bedrock"].display_name == "Amazon Bedrock" and switches["bedrock"].kind == "api"
    )
    upstream.by_dialect["bedrock"] = Reply.error(500, "Internal server error")
    for _ in range(3):
        with pytest.raises(openai.APIStatusError):
            await openai_client(gateway).chat.completions.create(
                model=f"bedrock/{BEDROCK_MODEL}", messages=MESSAGES
            )
    # The health view is fed by the recorder's finish events, as the tray's is.
    await until(lambda: engine.provider_health.of("bedrock").calls >= 3, "the calls counted")
    assert engine.provider_health.of("bedrock").state == "failing"
    # Switched off from the tray: the next request is refused without being sent.
    engine.providers.set_enabled(LOCAL_CALLER, switches["bedrock"].id, False)
    sent = len(upstream.llm_requests)
    _, body = await chat_refusal(gateway, f"bedrock/{BEDROCK_MODEL}")
    assert body["code"] == "provider_disabled"
    assert len(upstream.llm_requests) == sent
