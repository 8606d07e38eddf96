"""Record what the official SDKs send in their default settings, as fixtures.

    python -m tests.clients.capture_sdks     # re-record every SDK's fixtures

`capture.py` does this for the vendor CLIs; this does it for the Python SDKs, each call made as
its users write it, directly against the scripted upstream (no gateway in between), and kept
under `tests/fixtures/clients/sdks/<sdk>.json` in the same form (`capture.normalised`).

`test_sdk_fixtures.py` records them again and compares the shape of each request with the
fixture, and checks that asking the same thing twice sends the same bytes twice: the response
cache (`engine/response_cache/`) keys a request by its bytes, and a field that changed from one
call to the next (a fresh id, a timestamp) would make every repeat a miss.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
import pydantic
from google import genai
from google.genai import types

from tests.clients.capture import FIXTURES, Scenario, normalised
from tests.fakes.upstream import Reply, ScriptedUpstream

SDK_FIXTURES = FIXTURES / "sdks"
_CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
_QUESTION: Any = [{"role": "user", "content": "What is the capital of France?"}]


class Capital(pydantic.BaseModel):
    city: str
    country: str


@dataclass(frozen=True)
class SdkCall:
    """One way an SDK is used: its dialect, and the call, made against `base_url`."""

    sdk: str
    name: str
    dialect: str
    call: Callable[[str], Awaitable[Any]]

    @property
    def scenario(self) -> Scenario:
        return Scenario(self.sdk, self.name, self.dialect, ())


def _openai(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


def _claude(base_url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=base_url, api_key="unused", max_retries=0)


def _gemini(base_url: str) -> genai.Client:
    return genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=base_url))


async def _chat_helper(base_url: str) -> None:
    async with _openai(base_url).chat.completions.stream(
        model="gpt-4o", messages=_QUESTION, temperature=0
    ) as stream:
        await stream.get_final_completion()


async def _chat_parse(base_url: str) -> None:
    await _openai(base_url).chat.completions.parse(
        model="gpt-4o", messages=_QUESTION, temperature=0, response_format=Capital
    )


async def _chat_tools(base_url: str) -> None:
    tool: Any = {"type": "function", "function": {"name": "get_weather", "parameters": _CITY}}
    stream = await _openai(base_url).chat.completions.create(
        model="gpt-4o", messages=_QUESTION, temperature=0, tools=[tool], stream=True
    )
    await stream.close()


async def _responses_helper(base_url: str) -> None:
    tool: Any = {"type": "function", "name": "get_weather", "parameters": _CITY}
    async with _openai(base_url).responses.stream(
        model="gpt-4o", input="What is the capital of France?", temperature=0, tools=[tool]
    ) as stream:
        await stream.get_final_response()


async def _messages_stream(base_url: str) -> None:
    tool: Any = {"name": "get_weather", "input_schema": _CITY}
    async with _claude(base_url).messages.stream(
        model="claude-sonnet-4-6", max_tokens=64, messages=_QUESTION, tools=[tool]
    ) as stream:
        await stream.get_final_message()


async def _gemini_stream(base_url: str) -> None:
    stream = await _gemini(base_url).aio.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents="What is the capital of France?",
        config=types.GenerateContentConfig(temperature=0),
    )
    async for _ in stream:
        pass


CALLS = (
    SdkCall("openai-python", "chat-stream-helper", "openai-chat", _chat_helper),
    SdkCall("openai-python", "chat-parse", "openai-chat", _chat_parse),
    SdkCall("openai-python", "chat-tools-stream", "openai-chat", _chat_tools),
    SdkCall("openai-python", "responses-stream-helper", "openai-responses", _responses_helper),
    SdkCall("anthropic-python", "messages-stream-tools", "anthropic", _messages_stream),
    SdkCall("google-genai", "generate-content-stream", "gemini", _gemini_stream),
)


async def capture_sdk(call: SdkCall) -> list[dict[str, Any]]:
    """Make `call` twice against a fresh scripted upstream; both requests, normalised."""
    async with ScriptedUpstream(Reply.ok("Paris.", verbatim=True)) as upstream:
        for _ in range(2):
            await call.call(upstream.base_url)
        return [normalised(r, call.scenario) | {"raw": r.raw_body} for r in upstream.requests]


def fixture_path(sdk: str) -> Path:
    return SDK_FIXTURES / f"{sdk}.json"


def load_sdk_fixture(sdk: str) -> list[dict[str, Any]]:
    return list(json.loads(fixture_path(sdk).read_text(encoding="utf-8")))


async def _record_all() -> None:
    by_sdk: dict[str, list[dict[str, Any]]] = {}
    for call in CALLS:
        first, _ = await capture_sdk(call)
        first.pop("raw")
        by_sdk.setdefault(call.sdk, []).append(first)
    SDK_FIXTURES.mkdir(parents=True, exist_ok=True)
    for sdk, requests in by_sdk.items():
        text = json.dumps(requests, indent=1, ensure_ascii=False) + "\n"
        fixture_path(sdk).write_text(text, "utf-8")
        print(f"{fixture_path(sdk).relative_to(FIXTURES.parents[1])}: {len(requests)} requests")


if __name__ == "__main__":
    asyncio.run(_record_all())
