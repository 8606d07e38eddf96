"""The official SDKs' clients of a running gateway, as a user's script makes them, and the
answers a test reads back with them, spelled once.

Each takes the key it sends (any key will do on an open gateway: it uses its own credentials
for the upstream), headers to add to every request and (OpenAI's and Anthropic's) how long a
request may take; none retries, so a test sees each answer as the gateway gave it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types

from llmgw_desktop.shell.runtime import GatewayRuntime

__all__ = [
    "HI",
    "VERTEX_PROJECT",
    "VERTEX_REGION",
    "bedrock_client",
    "chat_refusal",
    "claude_client",
    "claude_stream",
    "gemini_client",
    "gemini_stream_text",
    "openai_client",
    "responses_stream_kinds",
    "vertex_client",
]

ANY_KEY = "unused"


def _timeout(seconds: float | None) -> dict[str, float]:
    """The SDK's `timeout` argument: its own default (ten minutes) where `seconds` is None."""
    return {} if seconds is None else {"timeout": seconds}


def openai_client(
    gateway: GatewayRuntime,
    key: str = ANY_KEY,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=gateway.base_url + "/v1",
        api_key=key,
        default_headers=dict(headers or {}),
        max_retries=0,
        **_timeout(timeout),
    )


def claude_client(
    gateway: GatewayRuntime,
    key: str = ANY_KEY,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=gateway.base_url,
        api_key=key,
        default_headers=dict(headers or {}),
        max_retries=0,
        **_timeout(timeout),
    )


# What a client set up for Vertex names in its URLs (the gateway does not use them).
VERTEX_PROJECT = "my-project"
VERTEX_REGION = "us-east5"


def bedrock_client(
    gateway: GatewayRuntime,
    key: str = ANY_KEY,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> anthropic.AsyncAnthropicBedrock:
    """Anthropic's Bedrock client with the gateway as its runtime endpoint and `key` as a
    Bedrock API key (a bearer token, as Claude Code sends its key past
    `CLAUDE_CODE_SKIP_BEDROCK_AUTH`)."""
    return anthropic.AsyncAnthropicBedrock(
        base_url=gateway.base_url,
        api_key=key,
        aws_region="us-east-1",
        default_headers=dict(headers or {}),
        max_retries=0,
        **_timeout(timeout),
    )


def vertex_client(
    gateway: GatewayRuntime,
    key: str = ANY_KEY,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> anthropic.AsyncAnthropicVertex:
    """Anthropic's Vertex client with the gateway's `/v1` as its base URL and `key` as its
    access token (a bearer token)."""
    return anthropic.AsyncAnthropicVertex(
        base_url=gateway.base_url + "/v1",
        region=VERTEX_REGION,
        project_id=VERTEX_PROJECT,
        access_token=key,
        default_headers=dict(headers or {}),
        max_retries=0,
        **_timeout(timeout),
    )


def gemini_client(
    gateway: GatewayRuntime, key: str = ANY_KEY, *, headers: Mapping[str, str] | None = None
) -> genai.Client:
    options = types.HttpOptions(
        base_url=gateway.base_url, headers=dict(headers or {}) or None, retry_options=None
    )
    return genai.Client(api_key=key, http_options=options)


# -- what a client reads back -----------------------------------------------------------------

HI: Any = [{"role": "user", "content": "hi"}]


async def claude_stream(
    gateway: GatewayRuntime, model: str, *, messages: Any = HI, max_tokens: int = 100
) -> tuple[str, anthropic.types.Message]:
    """An Anthropic client's streamed answer: its text, and the message it accumulates."""
    async with claude_client(gateway).messages.stream(
        model=model, max_tokens=max_tokens, messages=messages
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        return text, await stream.get_final_message()


async def gemini_stream_text(gateway: GatewayRuntime, model: str) -> str:
    """A Gemini client's streamed answer to "hi", joined."""
    stream = await gemini_client(gateway).aio.models.generate_content_stream(
        model=model, contents="hi"
    )
    return "".join([chunk.text or "" async for chunk in stream])


async def responses_stream_kinds(gateway: GatewayRuntime, model: str) -> list[str]:
    """The event types of an OpenAI Responses stream answering "hi", in order."""
    events = await openai_client(gateway).responses.create(model=model, input="hi", stream=True)
    return [event.type async for event in events]


async def chat_refusal(
    gateway: GatewayRuntime, model: str, *, messages: Any = HI
) -> tuple[int, dict[str, Any]]:
    """The status and error body of an OpenAI chat call the gateway refuses (the test fails
    if it answers)."""
    with pytest.raises(openai.APIStatusError) as caught:
        await openai_client(gateway).chat.completions.create(model=model, messages=messages)
    body = caught.value.body
    assert isinstance(body, dict), body
    return caught.value.status_code, body
