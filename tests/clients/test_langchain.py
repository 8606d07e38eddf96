"""LangChain's chat models (`langchain-openai`, `langchain-anthropic`) pointed at the gateway as
their docs show (`base_url`, and the key in `api_key`), on an open and on a locked gateway:
text, a stream, and a tool round trip through `bind_tools`.

`langchain-google-genai` is not here: every release caps google-genai below 3, and the
gateway's own Gemini tests need google-genai 3 (2.x fails under this aiohttp).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from tests.clients.harness import KeyedGateway, script_weather_round_trip
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream

TOOL_OUTPUT = "18 C and sunny in Paris"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"18 C and sunny in {city}"


def openai_chat(gateway: KeyedGateway) -> BaseChatModel:
    return ChatOpenAI(
        model="gpt-4o-mini",
        base_url=gateway.runtime.base_url + "/v1",
        api_key=SecretStr(gateway.key),
    )


def anthropic_chat(gateway: KeyedGateway) -> BaseChatModel:
    return ChatAnthropic(  # type: ignore[call-arg]
        model_name="claude-sonnet-4-6",
        base_url=gateway.runtime.base_url,
        api_key=SecretStr(gateway.key),
    )


chat_model = pytest.mark.parametrize(
    "make", [openai_chat, anthropic_chat], ids=["langchain-openai", "langchain-anthropic"]
)
MakeChat = Callable[[KeyedGateway], BaseChatModel]


@chat_model
async def test_langchain_text(
    keyed_gateway: KeyedGateway, make: MakeChat, upstream: ScriptedUpstream
) -> None:
    reply = await make(keyed_gateway).ainvoke("say hi")
    assert isinstance(reply, AIMessage) and reply.text.startswith(DEFAULT_ANSWER), reply
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0, reply
    assert len(upstream.llm_requests) == 1


@chat_model
async def test_langchain_stream(
    keyed_gateway: KeyedGateway, make: MakeChat, upstream: ScriptedUpstream
) -> None:
    chunks = [chunk async for chunk in make(keyed_gateway).astream("say hi")]
    text = "".join(chunk.text for chunk in chunks)
    assert text.startswith(DEFAULT_ANSWER), chunks
    assert chunks[-1].chunk_position == "last", chunks
    # ChatOpenAI asks for usage in a stream only from OpenAI's own base URL (`stream_usage`).
    if make is anthropic_chat:
        assert any(chunk.usage_metadata for chunk in chunks), chunks
    (request,) = upstream.llm_requests
    assert request.stream


@chat_model
async def test_langchain_tool_round_trip(
    keyed_gateway: KeyedGateway, make: MakeChat, upstream: ScriptedUpstream
) -> None:
    script_weather_round_trip(upstream)
    model = make(keyed_gateway).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    asked = await model.ainvoke([question])
    assert isinstance(asked, AIMessage)
    (call,) = asked.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}, asked
    result: Any = await get_weather.ainvoke(call)
    answer = await model.ainvoke([question, asked, result])
    assert answer.text == "It is sunny.", answer
    _, answered = upstream.llm_requests
    assert TOOL_OUTPUT in answered.raw_body.decode()
