"""Tool definitions, tool calls and tool results across the dialects, through the gateway."""

from __future__ import annotations

import json

from google.genai import types

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
ARGS = {"city": "Paris", "unit": "celsius"}


async def test_openai_tools_on_an_anthropic_upstream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.tool_call("get_weather", ARGS, call_id="toolu_01"))
    reply = await openai_client(gateway).chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[{"type": "function", "function": WEATHER}],
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == ARGS  # type: ignore[union-attr]
    sent = upstream.llm_requests[0].body
    assert sent["tools"][0]["name"] == "get_weather"
    assert sent["tools"][0]["input_schema"] == WEATHER["parameters"]

    # The result goes back as a tool message and arrives as an Anthropic tool_result.
    await openai_client(gateway).chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            choice.message.model_dump(exclude_none=True),  # type: ignore[misc]
            {"role": "tool", "tool_call_id": call.id, "content": "18 C, sunny"},
        ],
        tools=[{"type": "function", "function": WEATHER}],
    )
    second = upstream.llm_requests[1].body["messages"]
    assert second[1]["content"][-1]["type"] == "tool_use"
    result = second[2]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == call.id


async def test_anthropic_streamed_tool_use_from_an_openai_upstream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.tool_call("get_weather", ARGS, text="Checking.", call_id="call_9"))
    async with claude_client(gateway).messages.stream(
        model="gpt-4o",
        max_tokens=200,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[
            {
                "name": WEATHER["name"],
                "description": WEATHER["description"],
                "input_schema": WEATHER["parameters"],
            }
        ],
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    kinds = [block.type for block in final.content]
    assert kinds == ["text", "tool_use"]
    tool = final.content[1]
    assert tool.type == "tool_use" and tool.name == "get_weather" and tool.input == ARGS
    assert upstream.llm_requests[0].body["tools"][0]["function"]["name"] == "get_weather"


async def test_responses_function_call_from_a_gemini_upstream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.tool_call("get_weather", ARGS))
    reply = await openai_client(gateway).responses.create(
        model="gemini-2.5-flash",
        input="weather in Paris?",
        tools=[{"type": "function", **WEATHER}],  # type: ignore[list-item]
    )
    calls = [item for item in reply.output if item.type == "function_call"]
    assert len(calls) == 1
    assert calls[0].name == "get_weather" and json.loads(calls[0].arguments) == ARGS
    declared = upstream.llm_requests[0].body["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"


async def test_gemini_function_call_from_an_anthropic_stream(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.tool_call("get_weather", ARGS, call_id="toolu_7"))
    client = gemini_client(gateway)
    calls = []
    async for chunk in await client.aio.models.generate_content_stream(
        model="claude-sonnet-4-6",
        contents="weather in Paris?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(**WEATHER)])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    ):
        calls += chunk.function_calls or []
    assert [(c.name, c.args) for c in calls] == [("get_weather", ARGS)]
