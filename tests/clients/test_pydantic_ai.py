"""pydantic-ai's agents on the gateway, each model's provider given the gateway's base URL and
key (`OpenAIProvider(base_url, api_key)`, `AnthropicProvider(base_url, api_key)`, as its docs
show for other endpoints), on an open and on a locked gateway: a run's text, a streamed run,
and a tool the agent calls and answers from.

Its Google model is not here: pydantic-ai's `google` extra caps google-genai below 3, and the
gateway's own Gemini tests need google-genai 3.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic_ai import Agent
from pydantic_ai.messages import ToolReturnPart
from pydantic_ai.models import Model
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

from tests.clients.harness import KeyedGateway, script_weather_round_trip
from tests.fakes.upstream import DEFAULT_ANSWER, Dialect, ScriptedUpstream

TOOL_OUTPUT = "18 C and sunny in Paris"


def chat(gateway: KeyedGateway) -> Model:
    provider = OpenAIProvider(base_url=gateway.runtime.base_url + "/v1", api_key=gateway.key)
    return OpenAIChatModel("gpt-4o-mini", provider=provider)


def responses(gateway: KeyedGateway) -> Model:
    provider = OpenAIProvider(base_url=gateway.runtime.base_url + "/v1", api_key=gateway.key)
    return OpenAIResponsesModel("gpt-4o-mini", provider=provider)


def anthropic(gateway: KeyedGateway) -> Model:
    provider = AnthropicProvider(base_url=gateway.runtime.base_url, api_key=gateway.key)
    return AnthropicModel("claude-sonnet-4-6", provider=provider)


MakeModel = Callable[[KeyedGateway], Model]
DIALECTS: dict[MakeModel, Dialect] = {chat: "chat", responses: "responses", anthropic: "anthropic"}
model = pytest.mark.parametrize("make", list(DIALECTS), ids=lambda make: make.__name__)


@model
async def test_pydantic_ai_run_text(
    keyed_gateway: KeyedGateway, make: MakeModel, upstream: ScriptedUpstream
) -> None:
    result = await Agent(make(keyed_gateway)).run("say hi")
    assert result.output.startswith(DEFAULT_ANSWER), result
    assert result.usage.output_tokens > 0
    (request,) = upstream.llm_requests
    assert request.dialect == DIALECTS[make]


@model
async def test_pydantic_ai_streamed_run(
    keyed_gateway: KeyedGateway, make: MakeModel, upstream: ScriptedUpstream
) -> None:
    async with Agent(make(keyed_gateway)).run_stream("say hi") as result:
        pieces = [piece async for piece in result.stream_text(delta=True)]
    assert "".join(pieces).startswith(DEFAULT_ANSWER), pieces
    assert result.usage.output_tokens > 0
    (request,) = upstream.llm_requests
    assert request.stream


@model
async def test_pydantic_ai_tool_round_trip(
    keyed_gateway: KeyedGateway, make: MakeModel, upstream: ScriptedUpstream
) -> None:
    script_weather_round_trip(upstream)
    agent = Agent(make(keyed_gateway))

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"18 C and sunny in {city}"

    result = await agent.run("What is the weather in Paris?")
    assert result.output == "It is sunny.", result
    returned = [
        part.content
        for message in result.all_messages()
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]
    assert returned == [TOOL_OUTPUT], result.all_messages()
    _, answered = upstream.llm_requests
    assert TOOL_OUTPUT in answered.raw_body.decode()
