"""The scripted upstream's broken answers, as the official SDKs meet them: a body cut mid-event,
a stream cut after its finish (whole-looking only when its body ends by the connection's close),
and data that does not parse."""

from __future__ import annotations

from typing import Any

import aiohttp
import anthropic
import httpx2
import openai
import pytest
from google.genai import errors as genai_errors

from tests.fakes.direct_clients import GENAI_SESSION_WARNING, claude, gemini_client, gpt
from tests.fakes.upstream import Reply, ScriptedUpstream

pytestmark = GENAI_SESSION_WARNING

# Any: the SDKs type messages as TypedDicts, which plain literals do not satisfy.
HELLO: Any = [{"role": "user", "content": "Say hello"}]


async def test_cut_answers_make_each_sdk_raise(up: ScriptedUpstream) -> None:
    up.default = Reply.cut()
    async with claude(up) as client:
        # The Anthropic SDK does not wrap a transport error met while iterating a stream.
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
            async with client.messages.stream(model="claude-x", max_tokens=64, messages=HELLO) as s:
                await s.get_final_message()
        with pytest.raises(anthropic.APIConnectionError):
            await client.messages.create(model="claude-x", max_tokens=64, messages=HELLO)
    async with gpt(up) as client:
        with pytest.raises(openai.APIConnectionError):
            async for _ in await client.responses.create(model="gpt-x", input="hi", stream=True):
                pass
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(model="gpt-x", messages=HELLO)
    async with gemini_client(up).aio as client:
        # google-genai uses aiohttp for async calls when it is installed, and lets its errors out.
        seen: list[str] = []
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in await client.models.generate_content_stream(
                model="gemini-x", contents="hi"
            ):
                seen.append(chunk.text or "")
        assert seen == ["FAKE-OK "]
        with pytest.raises(aiohttp.ClientPayloadError):
            await client.models.generate_content(model="gemini-x", contents="hi")
    assert [r.reply.kind for r in up.llm_requests if r.reply] == ["cut"] * 6


async def test_a_stream_cut_after_its_finish_reads_as_whole_only_when_unframed(
    up: ScriptedUpstream,
) -> None:
    # A body delimited by the connection's close ends as cleanly when it is cut: only the last
    # events missing (the usage chunk and [DONE], message_stop) tell. A chunked one breaks.
    up.script(
        Reply.cut(after_finish=True, unframed=True),
        Reply.cut(after_finish=True),
        Reply.cut(after_finish=True, unframed=True),
    )
    usage: Any = {"include_usage": True}
    async with gpt(up) as client:
        chunks = [
            chunk
            async for chunk in await client.chat.completions.create(
                model="gpt-x", messages=HELLO, stream=True, stream_options=usage
            )
        ]
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert all(chunk.usage is None for chunk in chunks)
        with pytest.raises(openai.APIConnectionError):
            async for _ in await client.chat.completions.create(
                model="gpt-x", messages=HELLO, stream=True, stream_options=usage
            ):
                pass
    async with claude(up) as client:
        async with client.messages.stream(model="claude-x", max_tokens=64, messages=HELLO) as s:
            kinds = [event.type async for event in s]
        assert kinds[-1] == "message_delta" and "message_stop" not in kinds
    assert [r.reply.after_finish for r in up.llm_requests if r.reply] == [True] * 3


async def test_malformed_answers_make_each_sdk_raise_a_parse_error(up: ScriptedUpstream) -> None:
    # No SDK maps unparsable data to its own error type: all of them raise a ValueError
    # (json.JSONDecodeError, or genai's UnknownApiResponseError).
    up.default = Reply.malformed()
    async with claude(up) as client:
        with pytest.raises(ValueError):
            await client.messages.create(model="claude-x", max_tokens=64, messages=HELLO)
        with pytest.raises(ValueError):
            async for _ in await client.messages.create(
                model="claude-x", max_tokens=64, messages=HELLO, stream=True
            ):
                pass
    async with gpt(up) as client:
        with pytest.raises(ValueError):
            async for _ in await client.chat.completions.create(
                model="gpt-x", messages=HELLO, stream=True
            ):
                pass
        with pytest.raises(ValueError):
            await client.responses.create(model="gpt-x", input="hi")
    async with gemini_client(up).aio as client:
        with pytest.raises(genai_errors.UnknownApiResponseError):
            async for _ in await client.models.generate_content_stream(
                model="gemini-x", contents="hi"
            ):
                pass
        with pytest.raises(ValueError):
            await client.models.generate_content(model="gemini-x", contents="hi")
