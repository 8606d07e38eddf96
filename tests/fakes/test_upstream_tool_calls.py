"""Tool-call answers from the scripted upstream parse in each official SDK, JSON and streamed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.genai import types as genai_types

from tests.fakes.direct_clients import (
    GENAI_SESSION_WARNING,
    claude,
    gemini_client,
    gpt,
)
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    DEFAULT_CALL_ID,
    GEMINI_CACHED_TOKENS,
    OPENAI_CACHED_TOKENS,
    OPENAI_PROMPT_TOKENS,
    Reply,
    ScriptedUpstream,
    ToolCall,
)

pytestmark = GENAI_SESSION_WARNING

# Any: the SDKs type messages and tools as TypedDicts, which plain literals do not satisfy.
WEATHER: Any = [{"role": "user", "content": "Weather in Paris?"}]
# Quotes, non-ASCII and nesting, so argument fragments that split them badly would show.
ARGS: dict[str, Any] = {"city": "Paris", "days": 3, "units": ["c"], "note": 'naïve "quoted"'}
CALL_ID = "toolu_fake_42"
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
ANTHROPIC_TOOLS: Any = [
    {"name": "get_weather", "description": "Forecast", "input_schema": PARAMETERS}
]
CHAT_TOOLS: Any = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Forecast", "parameters": PARAMETERS},
    }
]
RESPONSES_TOOLS: Any = [
    {"type": "function", "name": "get_weather", "description": "Forecast", "parameters": PARAMETERS}
]
GEMINI_CONFIG = genai_types.GenerateContentConfig(
    tools=[
        genai_types.Tool(
            function_declarations=[
                genai_types.FunctionDeclaration(
                    name="get_weather", description="Forecast", parameters_json_schema=PARAMETERS
                )
            ]
        )
    ]
)


def weather_call(text: str = "") -> Reply:
    return Reply.tool_call("get_weather", ARGS, text=text, call_id=CALL_ID)


# ---------------------------------------------------------------------- the reply itself


def test_tool_call_reply_keeps_a_copy_of_the_arguments() -> None:
    args: dict[str, Any] = {"city": "Paris", "tags": ["a"]}
    reply = Reply.tool_call("get_weather", args)
    args["tags"].append("changed later")

    assert reply.kind == "tool_call"
    assert reply.text == ""
    assert reply.call == ToolCall("get_weather", {"city": "Paris", "tags": ["a"]}, DEFAULT_CALL_ID)
    assert reply.call.arguments_json == '{"city":"Paris","tags":["a"]}'
    # Replies stay hashable even though the arguments are a dict.
    assert len({reply, Reply.tool_call("get_weather", {"city": "Paris", "tags": ["a"]})}) == 1


def test_tool_call_reply_refuses_arguments_json_cannot_carry() -> None:
    with pytest.raises(TypeError):
        Reply.tool_call("get_weather", {"when": object()})


# ---------------------------------------------------------------------- Anthropic


async def test_anthropic_answer_has_text_then_tool_use(up: ScriptedUpstream) -> None:
    up.script(weather_call("Let me check."))
    async with claude(up) as client:
        message = await client.messages.create(
            model="claude-x", max_tokens=64, messages=WEATHER, tools=ANTHROPIC_TOOLS
        )

    text, tool_use = message.content
    assert text.type == "text"
    assert text.text == "Let me check."
    assert tool_use.type == "tool_use"
    assert (tool_use.id, tool_use.name, tool_use.input) == (CALL_ID, "get_weather", ARGS)
    assert message.stop_reason == "tool_use"
    assert message.usage.cache_read_input_tokens == ANTHROPIC_CACHE_READ_TOKENS
    # What tools the client offered is plain to see in the recorded body.
    assert up.llm_requests[0].body["tools"] == ANTHROPIC_TOOLS


async def test_anthropic_stream_builds_the_tool_input_from_json_deltas(
    up: ScriptedUpstream,
) -> None:
    up.script(weather_call())
    async with (
        claude(up) as client,
        client.messages.stream(
            model="claude-x", max_tokens=64, messages=WEATHER, tools=ANTHROPIC_TOOLS
        ) as stream,
    ):
        events = [event async for event in stream]
        message = await stream.get_final_message()

    [tool_use] = message.content
    assert tool_use.type == "tool_use"
    assert (tool_use.id, tool_use.name, tool_use.input) == (CALL_ID, "get_weather", ARGS)
    assert message.stop_reason == "tool_use"
    fragments = [e.partial_json for e in events if e.type == "input_json"]
    assert len(fragments) >= 2
    assert json.loads("".join(fragments)) == ARGS
    start = next(e for e in events if e.type == "message_start")
    assert start.message.usage.cache_creation_input_tokens == ANTHROPIC_CACHE_CREATION_TOKENS
    assert message.usage.output_tokens == ANTHROPIC_OUTPUT_TOKENS


async def test_anthropic_stream_with_text_opens_a_text_block_first(up: ScriptedUpstream) -> None:
    up.script(weather_call("Let me check."))
    async with (
        claude(up) as client,
        client.messages.stream(
            model="claude-x", max_tokens=64, messages=WEATHER, tools=ANTHROPIC_TOOLS
        ) as stream,
    ):
        deltas = [text async for text in stream.text_stream]
        message = await stream.get_final_message()

    assert "".join(deltas) == "Let me check."
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[1].type == "tool_use"
    assert message.content[1].input == ARGS


async def test_anthropic_text_answers_the_tool_result(up: ScriptedUpstream) -> None:
    up.script(weather_call(), Reply.ok("Sunny", verbatim=True))
    async with claude(up) as client:
        first = await client.messages.create(
            model="claude-x", max_tokens=64, messages=WEATHER, tools=ANTHROPIC_TOOLS
        )
        result: Any = {"type": "tool_result", "tool_use_id": CALL_ID, "content": "22C"}
        history: Any = [
            *WEATHER,
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in first.content],
            },
            {"role": "user", "content": [result]},
        ]
        second = await client.messages.create(
            model="claude-x", max_tokens=64, messages=history, tools=ANTHROPIC_TOOLS
        )

    assert second.content[0].type == "text"
    assert second.content[0].text == "Sunny"
    assert second.stop_reason == "end_turn"
    assert up.llm_requests[1].body["messages"][2]["content"] == [result]


# ---------------------------------------------------------------------- OpenAI Chat


async def test_chat_answer_carries_tool_calls_and_null_content(up: ScriptedUpstream) -> None:
    up.script(weather_call())
    async with gpt(up) as client:
        completion = await client.chat.completions.create(
            model="gpt-x", messages=WEATHER, tools=CHAT_TOOLS
        )

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert (call.id, call.function.name) == (CALL_ID, "get_weather")
    assert json.loads(call.function.arguments) == ARGS
    assert up.llm_requests[0].body["tools"] == CHAT_TOOLS


async def test_chat_stream_accumulates_text_and_tool_call(up: ScriptedUpstream) -> None:
    up.script(weather_call("Let me check."))
    async with (
        gpt(up) as client,
        client.chat.completions.stream(
            model="gpt-x",
            messages=WEATHER,
            tools=CHAT_TOOLS,
            stream_options={"include_usage": True},
        ) as stream,
    ):
        events = [event async for event in stream]
        completion = await stream.get_final_completion()

    chunks = [e.chunk for e in events if e.type == "chunk"]
    fragments = [
        delta.function.arguments
        for c in chunks
        if c.choices
        for delta in c.choices[0].delta.tool_calls or []
        if delta.function and delta.function.arguments
    ]
    assert len(fragments) >= 2
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == OPENAI_PROMPT_TOKENS
    message = completion.choices[0].message
    assert message.content == "Let me check."
    [call] = message.tool_calls or []
    assert call.type == "function"
    assert (call.id, call.function.name) == (CALL_ID, "get_weather")
    assert json.loads(call.function.arguments) == ARGS
    assert completion.choices[0].finish_reason == "tool_calls"


async def test_chat_stream_without_usage_request_has_no_usage_chunk(
    up: ScriptedUpstream,
) -> None:
    up.script(weather_call())
    async with gpt(up) as client:
        stream = await client.chat.completions.create(
            model="gpt-x", messages=WEATHER, tools=CHAT_TOOLS, stream=True
        )
        chunks = [chunk async for chunk in stream]

    assert all(c.usage is None and c.choices for c in chunks)
    opening = chunks[1].choices[0].delta.tool_calls
    assert opening is not None
    assert opening[0].index == 0
    assert opening[0].id == CALL_ID
    assert opening[0].function is not None
    assert (opening[0].function.name, opening[0].function.arguments) == ("get_weather", "")


async def test_chat_text_answers_the_tool_result(up: ScriptedUpstream) -> None:
    up.script(weather_call(), Reply.ok("Sunny", verbatim=True))
    async with gpt(up) as client:
        first = await client.chat.completions.create(
            model="gpt-x", messages=WEATHER, tools=CHAT_TOOLS
        )
        result: Any = {"role": "tool", "tool_call_id": CALL_ID, "content": "22C"}
        history: Any = [*WEATHER, first.choices[0].message.model_dump(exclude_none=True), result]
        second = await client.chat.completions.create(
            model="gpt-x", messages=history, tools=CHAT_TOOLS
        )

    assert second.choices[0].message.content == "Sunny"
    assert second.choices[0].message.tool_calls is None
    assert second.choices[0].finish_reason == "stop"
    assert up.llm_requests[1].body["messages"][-1] == result


# ---------------------------------------------------------------------- OpenAI Responses


async def test_responses_answer_has_message_then_function_call(up: ScriptedUpstream) -> None:
    up.script(weather_call("Let me check."))
    async with gpt(up) as client:
        response = await client.responses.create(
            model="gpt-x", input="Weather in Paris?", tools=RESPONSES_TOOLS
        )

    assert response.status == "completed"
    assert response.output_text == "Let me check."
    message, call = response.output
    assert message.type == "message"
    assert call.type == "function_call"
    assert call.id is not None and call.id.startswith("fc_")
    assert (call.call_id, call.name, call.status) == (CALL_ID, "get_weather", "completed")
    assert json.loads(call.arguments) == ARGS
    assert up.llm_requests[0].body["tools"] == RESPONSES_TOOLS


async def test_responses_stream_sends_argument_deltas_in_sequence(up: ScriptedUpstream) -> None:
    up.script(weather_call())
    async with (
        gpt(up) as client,
        client.responses.stream(
            model="gpt-x", input="Weather in Paris?", tools=RESPONSES_TOOLS
        ) as stream,
    ):
        events = [event async for event in stream]
        response = await stream.get_final_response()

    kinds = [event.type for event in events]
    deltas = kinds.count("response.function_call_arguments.delta")
    assert deltas >= 2
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * deltas,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    added = events[2]
    assert added.type == "response.output_item.added"
    assert added.item.type == "function_call"
    assert added.item.arguments == ""
    [call] = response.output
    assert call.type == "function_call"
    assert (call.call_id, call.name) == (CALL_ID, "get_weather")
    assert json.loads(call.arguments) == ARGS
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == OPENAI_CACHED_TOKENS


async def test_responses_stream_with_text_puts_the_call_second(up: ScriptedUpstream) -> None:
    up.script(weather_call("Let me check."))
    async with gpt(up) as client:
        stream = await client.responses.create(
            model="gpt-x", input="Weather in Paris?", tools=RESPONSES_TOOLS, stream=True
        )
        events = [event async for event in stream]

    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    arguments = "".join(
        e.delta for e in events if e.type == "response.function_call_arguments.delta"
    )
    assert text == "Let me check."
    assert json.loads(arguments) == ARGS
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == arguments
    assert done.output_index == 1
    final = events[-1]
    assert final.type == "response.completed"
    assert [item.type for item in final.response.output] == ["message", "function_call"]


async def test_responses_text_answers_the_tool_result(up: ScriptedUpstream) -> None:
    up.script(weather_call(), Reply.ok("Sunny", verbatim=True))
    async with gpt(up) as client:
        first = await client.responses.create(
            model="gpt-x", input="Weather in Paris?", tools=RESPONSES_TOOLS
        )
        result: Any = {"type": "function_call_output", "call_id": CALL_ID, "output": "22C"}
        items: Any = [*WEATHER, *(i.model_dump(exclude_none=True) for i in first.output), result]
        second = await client.responses.create(model="gpt-x", input=items, tools=RESPONSES_TOOLS)

    assert second.output_text == "Sunny"
    assert [item.type for item in second.output] == ["message"]
    assert up.llm_requests[1].body["input"][-1] == result


# ---------------------------------------------------------------------- Gemini


async def test_gemini_answer_has_text_then_function_call(up: ScriptedUpstream) -> None:
    up.script(weather_call("Let me check."))
    async with gemini_client(up).aio as client:
        response = await client.models.generate_content(
            model="gemini-x", contents="Weather in Paris?", config=GEMINI_CONFIG
        )

    [call] = response.function_calls or []
    assert (call.name, call.args) == ("get_weather", ARGS)
    # The Gemini API sends no call id; clients match results by name.
    assert call.id is None
    candidate = (response.candidates or [])[0]
    assert candidate.finish_reason == genai_types.FinishReason.STOP
    assert candidate.content is not None
    assert [part.text for part in candidate.content.parts or []] == ["Let me check.", None]
    tools = up.llm_requests[0].body["tools"]
    assert tools[0]["functionDeclarations"][0]["name"] == "get_weather"


async def test_gemini_stream_ends_with_the_function_call_chunk(up: ScriptedUpstream) -> None:
    up.script(weather_call("Let me check."))
    async with gemini_client(up).aio as client:
        stream = await client.models.generate_content_stream(
            model="gemini-x", contents="Weather in Paris?", config=GEMINI_CONFIG
        )
        chunks = [chunk async for chunk in stream]

    *text_chunks, last = chunks
    assert "".join(c.text or "" for c in text_chunks) == "Let me check."
    assert all(c.usage_metadata is None for c in text_chunks)
    [call] = last.function_calls or []
    assert (call.name, call.args) == ("get_weather", ARGS)
    assert (last.candidates or [])[0].finish_reason == genai_types.FinishReason.STOP
    assert last.usage_metadata is not None
    assert last.usage_metadata.cached_content_token_count == GEMINI_CACHED_TOKENS


async def test_gemini_stream_of_a_lone_call_is_one_chunk(up: ScriptedUpstream) -> None:
    up.script(weather_call())
    async with gemini_client(up).aio as client:
        stream = await client.models.generate_content_stream(
            model="gemini-x", contents="Weather in Paris?", config=GEMINI_CONFIG
        )
        [chunk] = [chunk async for chunk in stream]

    [call] = chunk.function_calls or []
    assert (call.name, call.args) == ("get_weather", ARGS)
    assert chunk.usage_metadata is not None


async def test_gemini_text_answers_the_function_response(up: ScriptedUpstream) -> None:
    up.script(weather_call(), Reply.ok("Sunny", verbatim=True))
    async with gemini_client(up).aio as client:
        first = await client.models.generate_content(
            model="gemini-x", contents="Weather in Paris?", config=GEMINI_CONFIG
        )
        call_content = (first.candidates or [])[0].content
        assert call_content is not None
        result = genai_types.Part.from_function_response(
            name="get_weather", response={"forecast": "22C"}
        )
        history: Any = [
            genai_types.Content(role="user", parts=[genai_types.Part(text="Weather in Paris?")]),
            call_content,
            genai_types.Content(role="user", parts=[result]),
        ]
        second = await client.models.generate_content(
            model="gemini-x", contents=history, config=GEMINI_CONFIG
        )

    assert second.text == "Sunny"
    assert second.function_calls is None
    sent = up.llm_requests[1].body["contents"]
    assert sent[1]["parts"][0]["functionCall"] == {"name": "get_weather", "args": ARGS}
    assert sent[2]["parts"][0]["functionResponse"]["response"] == {"forecast": "22C"}
