"""The OpenAI Agents SDK (`openai-agents`) on the gateway, its model provider given a client
with the gateway's base URL and key (`OpenAIProvider(openai_client=AsyncOpenAI(base_url,
api_key))` in the run's `RunConfig`, as its docs show for other endpoints), on an open and on
a locked gateway: a run's text, a streamed run, and an agent that calls a function tool and
answers from its output.

Tracing is off for these runs: by default it uploads traces to OpenAI, which is not reachable
here (and not the gateway's business).
"""

from __future__ import annotations

import pytest
from agents import Agent, OpenAIProvider, RunConfig, Runner, function_tool
from openai import AsyncOpenAI
from openai.types.responses import ResponseTextDeltaEvent

from tests.clients.harness import KeyedGateway, script_weather_round_trip
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream

TOOL_OUTPUT = "18 C and sunny in Paris"
MODEL = "gpt-4o-mini"


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"18 C and sunny in {city}"


def run_config(gateway: KeyedGateway, *, use_responses: bool) -> RunConfig:
    # Its own client rather than the SDK's shared connection pool, which would outlive this
    # test's event loop.
    client = AsyncOpenAI(base_url=gateway.runtime.base_url + "/v1", api_key=gateway.key)
    provider = OpenAIProvider(openai_client=client, use_responses=use_responses)
    return RunConfig(model_provider=provider, tracing_disabled=True)


# The SDK's default is the Responses API; Chat Completions is its other model class.
api = pytest.mark.parametrize("use_responses", [True, False], ids=["responses", "chat"])


@api
async def test_agents_sdk_run_text(
    keyed_gateway: KeyedGateway, use_responses: bool, upstream: ScriptedUpstream
) -> None:
    agent = Agent(name="helper", instructions="Be brief.", model=MODEL)
    result = await Runner.run(
        agent, "say hi", run_config=run_config(keyed_gateway, use_responses=use_responses)
    )
    assert str(result.final_output).startswith(DEFAULT_ANSWER), result
    (request,) = upstream.llm_requests
    assert request.dialect == ("responses" if use_responses else "chat")


@api
async def test_agents_sdk_streamed_run(
    keyed_gateway: KeyedGateway, use_responses: bool, upstream: ScriptedUpstream
) -> None:
    agent = Agent(name="helper", instructions="Be brief.", model=MODEL)
    result = Runner.run_streamed(
        agent, "say hi", run_config=run_config(keyed_gateway, use_responses=use_responses)
    )
    deltas = [
        event.data.delta
        async for event in result.stream_events()
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)
    ]
    assert "".join(deltas).startswith(DEFAULT_ANSWER), deltas
    assert str(result.final_output).startswith(DEFAULT_ANSWER)
    assert result.is_complete
    (request,) = upstream.llm_requests
    assert request.stream


@api
async def test_agents_sdk_function_tool_round_trip(
    keyed_gateway: KeyedGateway, use_responses: bool, upstream: ScriptedUpstream
) -> None:
    script_weather_round_trip(upstream)
    agent = Agent(name="helper", instructions="Use tools.", model=MODEL, tools=[get_weather])
    result = await Runner.run(
        agent,
        "What is the weather in Paris?",
        run_config=run_config(keyed_gateway, use_responses=use_responses),
    )
    assert result.final_output == "It is sunny.", result
    outputs = [item.output for item in result.new_items if item.type == "tool_call_output_item"]
    assert outputs == [TOOL_OUTPUT], result.new_items
    _, answered = upstream.llm_requests
    assert TOOL_OUTPUT in answered.raw_body.decode()
