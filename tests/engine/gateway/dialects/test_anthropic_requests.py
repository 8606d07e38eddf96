"""The Anthropic Messages dialect: requests, answers, streams and errors, both directions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import anthropic.types as at
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types.shared import ErrorResponse
from pydantic import TypeAdapter

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.anthropic.request import DEFAULT_MAX_TOKENS
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolCallDelta,
    ToolCallPart,
    ToolCallStart,
    ToolDef,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.sse import SseParser
from llmgw_desktop.engine.tokens.usage import Usage
from tests.engine.gateway.dialects.event_streams import cut_stream, decode_stream
from tests.engine.gateway.neutral import assistant, user

DIALECT: Dialect = AnthropicDialect()
STREAM_EVENT = TypeAdapter(at.RawMessageStreamEvent)
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


def _body(**fields: Any) -> dict[str, Any]:
    """A minimal valid request body with `fields` on top."""
    return {
        "model": "claude-x",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    } | fields


def _req(**fields: Any) -> ChatRequest:
    base = ChatRequest(
        model="claude-x", messages=(Message("user", (TextPart("hi"),)),), max_tokens=100
    )
    return replace(base, **fields)


# -- request parsing -------------------------------------------------------------------------

PARSE_REQUESTS = [
    ("minimal", _body(), _req()),
    ("system string", _body(system="Be brief."), _req(system=(TextPart("Be brief."),))),
    (
        "system blocks with a cache breakpoint",
        _body(
            system=[
                {"type": "text", "text": "Rules."},
                {"type": "text", "text": "Docs.", "cache_control": {"type": "ephemeral"}},
            ]
        ),
        _req(system=(TextPart("Rules."), TextPart("Docs.", cache=True))),
    ),
    (
        "multi-turn with text blocks",
        _body(
            messages=[
                {"role": "user", "content": [{"type": "text", "text": "2+2?"}]},
                {"role": "assistant", "content": "4"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "and 3+3?", "cache_control": {"type": "ephemeral"}}
                    ],
                },
            ]
        ),
        _req(
            messages=(
                user(TextPart("2+2?")),
                assistant(TextPart("4")),
                user(TextPart("and 3+3?", cache=True)),
            )
        ),
    ),
    (
        "tools, tool calls and tool results",
        _body(
            tools=[
                {"name": "weather", "description": "Weather now", "input_schema": WEATHER_SCHEMA},
                {"name": "noop", "input_schema": {"type": "object"}, "cache_control": {}},
            ],
            tool_choice={"type": "any"},
            messages=[
                {"role": "user", "content": "Weather in Oslo and Rome?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "Two calls.", "signature": "sig=="},
                        {"type": "redacted_thinking", "data": "opaque"},
                        {"type": "text", "text": "Checking."},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "weather",
                            "input": {"city": "Oslo"},
                        },
                        {
                            "type": "tool_use",
                            "id": "toolu_2",
                            "name": "weather",
                            "input": {"city": "Rome"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "content": [
                                {"type": "text", "text": "timeout"},
                                {"type": "text", "text": "retry later"},
                            ],
                            "is_error": True,
                        },
                    ],
                },
            ],
        ),
        _req(
            tools=(
                ToolDef("weather", "Weather now", WEATHER_SCHEMA),
                ToolDef("noop", "", {"type": "object"}),
            ),
            tool_choice="required",
            messages=(
                user(TextPart("Weather in Oslo and Rome?")),
                assistant(
                    ThinkingPart("Two calls.", "sig=="),
                    TextPart("Checking."),
                    ToolCallPart("toolu_1", "weather", '{"city": "Oslo"}'),
                    ToolCallPart("toolu_2", "weather", '{"city": "Rome"}'),
                ),
                user(
                    ToolResultPart("toolu_1", "-3C"),
                    ToolResultPart("toolu_2", "timeout\nretry later", is_error=True),
                ),
            ),
            left_out=("redacted_thinking (readable by Claude only)",),
        ),
    ),
    (
        "images inline and by url, and an image a tool returned",
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [
                                {"type": "text", "text": "screenshot:"},
                                {
                                    "type": "image",
                                    "source": {
                                        "type": "base64",
                                        "media_type": "image/gif",
                                        "data": "R0lG",
                                    },
                                },
                            ],
                        },
                    ],
                }
            ]
        ),
        _req(
            messages=(
                user(
                    ImagePart("image/png", data="iVBO"),
                    ImagePart(url="https://x/y.jpg"),
                    ToolResultPart("t1", "screenshot:"),
                    ImagePart("image/gif", data="R0lG"),
                ),
            )
        ),
    ),
    (
        "sampling, stop, stream and user",
        _body(
            stop_sequences=["END", "###"],
            temperature=0,
            top_p=0.9,
            stream=True,
            metadata={"user_id": "u-42"},
            top_k=5,
            unknown_field={"ignored": True},
        ),
        _req(
            stop=("END", "###"),
            temperature=0.0,
            top_p=0.9,
            top_k=5,
            stream=True,
            stream_usage=True,
            user="u-42",
            # A field the gateway does not know is named in the notice, never dropped silently.
            left_out=("unknown_field",),
        ),
    ),
    ("tool choice auto", _body(tool_choice={"type": "auto"}), _req(tool_choice="auto")),
    ("tool choice none", _body(tool_choice={"type": "none"}), _req(tool_choice="none")),
    (
        "tool choice by name",
        _body(tool_choice={"type": "tool", "name": "weather"}),
        _req(tool_choice="weather"),
    ),
    (
        "thinking budget 1024 is low effort",
        _body(thinking={"type": "enabled", "budget_tokens": 1024}),
        _req(reasoning_effort="low"),
    ),
    (
        "thinking budget 2048 is still low",
        _body(thinking={"type": "enabled", "budget_tokens": 2048}),
        _req(reasoning_effort="low"),
    ),
    (
        "thinking budget 8192 is medium",
        _body(thinking={"type": "enabled", "budget_tokens": 8192}),
        _req(reasoning_effort="medium"),
    ),
    (
        "thinking budget 8193 is high",
        _body(thinking={"type": "enabled", "budget_tokens": 8193}),
        _req(reasoning_effort="high"),
    ),
    ("thinking disabled", _body(thinking={"type": "disabled"}), _req()),
    (
        "adaptive thinking takes output_config.effort",
        _body(thinking={"type": "adaptive"}, output_config={"effort": "max"}),
        _req(reasoning_effort="high"),
    ),
    (
        "adaptive thinking without effort is medium",
        _body(thinking={"type": "adaptive"}),
        _req(reasoning_effort="medium"),
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in PARSE_REQUESTS], ids=[c[0] for c in PARSE_REQUESTS]
)
def test_parse_request_maps_fields_to_neutral_form(
    body: dict[str, Any], expected: ChatRequest
) -> None:
    assert DIALECT.parse_request(body) == expected


def test_parse_request_prefers_model_from_url() -> None:
    assert DIALECT.parse_request(_body(), model="claude-y").model == "claude-y"


PARSE_ERRORS = [
    (_body(max_tokens=True), "max_tokens: expected an integer"),
    (_body(max_tokens="10"), "max_tokens: expected an integer"),
    (_body(max_tokens=0), "max_tokens: expected a positive integer"),
    (_body(model=None), "model: required"),
    (_body(model=7), "model: expected a string"),
    (_body(messages=None), "messages: required"),
    (_body(messages="hi"), "messages: expected a list of messages"),
    (_body(messages=[]), "messages: at least one message is required"),
    (_body(messages=["hi"]), "messages[0]: expected an object"),
    (
        _body(messages=[{"role": "tool", "content": "x"}]),
        "messages[0].role: expected 'user', 'assistant' or 'system'",
    ),
    (
        _body(
            messages=[{"role": "system", "content": [{"type": "image", "source": {"type": "url"}}]}]
        ),
        "messages[0].content[0].source.url: required",
    ),
    (
        _body(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": 3}]),
        "messages[1].content: expected a string or a list of content blocks",
    ),
    (
        _body(messages=[{"role": "user", "content": ["text"]}]),
        "messages[0].content[0]: expected a content block object",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"text": "x"}]}]),
        "messages[0].content[0].type: required",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "messages[0].content[0].text: required",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"type": "document", "source": {}}]}]),
        "messages[0].content[0].source.type: required",
    ),
    (
        _body(
            messages=[
                {"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}
            ]
        ),
        "messages[0].content[0].id: required",
    ),
    (
        _body(
            messages=[
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}],
                }
            ]
        ),
        "messages[0].content[0].input: expected an object",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]),
        "messages[0].content[0].tool_use_id: required",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}],
                }
            ]
        ),
        "messages[0].content[0].is_error: expected a boolean",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t",
                            "content": [{"type": "tool_use", "id": "t", "name": "f"}],
                        }
                    ],
                }
            ]
        ),
        "messages[0].content[0].content[0].type: a tool result holds text, images and documents",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "path", "path": "f"}}],
                }
            ]
        ),
        "messages[0].content[0].source.type: expected 'base64', 'url' or 'file'",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "base64", "data": "x"}}],
                }
            ]
        ),
        "messages[0].content[0].source.media_type: required",
    ),
    (_body(system=5), "system: expected a string or a list of text blocks"),
    (
        _body(system=[{"type": "text", "text": "a"}, {"type": "image"}]),
        "system[1].type: expected 'text'",
    ),
    (_body(temperature="hot"), "temperature: expected a number"),
    (_body(top_p=True), "top_p: expected a number"),
    (_body(stream="yes"), "stream: expected a boolean"),
    (_body(stop_sequences="END"), "stop_sequences: expected a list of strings"),
    (_body(stop_sequences=["END", 1]), "stop_sequences: expected a list of strings"),
    (_body(metadata={"user_id": 9}), "metadata.user_id: expected a string"),
    (_body(tools={"name": "f"}), "tools: expected a list of tools"),
    (_body(tools=[{"name": "f"}]), "tools[0].input_schema: required"),
    (_body(tools=[{"input_schema": {}}]), "tools[0].name: required"),
    (_body(tool_choice="auto"), "tool_choice: expected an object"),
    (
        _body(tool_choice={"type": "required"}),
        "tool_choice.type: expected 'auto', 'any', 'none' or 'tool'",
    ),
    (_body(tool_choice={"type": "tool"}), "tool_choice.name: required"),
    (_body(thinking={"type": "enabled"}), "thinking.budget_tokens: required"),
    (_body(thinking={"type": "on"}), "thinking.type: expected 'enabled', 'adaptive' or 'disabled'"),
]


@pytest.mark.parametrize(("body", "message"), PARSE_ERRORS, ids=[m for _, m in PARSE_ERRORS])
def test_parse_request_rejects_bad_input_naming_the_field(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.parse_request(body)
    assert caught.value.message == message


# -- request rendering -----------------------------------------------------------------------

RENDER_REQUESTS = [
    (
        "default max_tokens when the neutral request has none",
        _req(max_tokens=None),
        {
            "model": "claude-x",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_tokens": DEFAULT_MAX_TOKENS,
        },
    ),
    (
        "system, sampling, stop, tools, tool choice, user, stream",
        _req(
            system=(TextPart("Rules."), TextPart(""), TextPart("Docs.", cache=True)),
            temperature=0.2,
            top_p=0.5,
            stop=("END",),
            tools=(ToolDef("weather", "Weather now", WEATHER_SCHEMA), ToolDef("noop")),
            tool_choice="required",
            user="u-42",
            stream=True,
        ),
        {
            "model": "claude-x",
            "system": [
                {"type": "text", "text": "Rules."},
                {"type": "text", "text": "Docs.", "cache_control": {"type": "ephemeral"}},
            ],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_tokens": 100,
            "temperature": 0.2,
            "top_p": 0.5,
            "stop_sequences": ["END"],
            "tools": [
                {"name": "weather", "description": "Weather now", "input_schema": WEATHER_SCHEMA},
                {"name": "noop", "input_schema": {"type": "object", "properties": {}}},
            ],
            "tool_choice": {"type": "any"},
            "metadata": {"user_id": "u-42"},
            "stream": True,
        },
    ),
    (
        "same-role messages merge and tool results open the user turn",
        _req(
            messages=(
                user(TextPart("Weather?")),
                user(ImagePart("image/png", data="iVBO"), ImagePart(url="https://x/y.jpg")),
                assistant(TextPart(""), ToolCallPart("call.1", "weather", '{"city":"Oslo"}')),
                assistant(ToolCallPart("call_2", "weather", "")),
                user(TextPart("Here:")),
                user(ToolResultPart("call.1", "-3C"), ToolResultPart("call_2", "", is_error=True)),
            ),
            tool_choice="weather",
        ),
        {
            "model": "claude-x",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Weather?"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "call_1",
                            "name": "weather",
                            "input": {"city": "Oslo"},
                        },
                        {"type": "tool_use", "id": "call_2", "name": "weather", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": "-3C"},
                        {"type": "tool_result", "tool_use_id": "call_2", "is_error": True},
                        {"type": "text", "text": "Here:"},
                    ],
                },
            ],
            "max_tokens": 100,
            "tool_choice": {"type": "tool", "name": "weather"},
        },
    ),
    (
        "thinking: budget fits under max_tokens, temperature dropped, unsigned thinking dropped",
        _req(
            reasoning_effort="medium",
            max_tokens=1000,
            temperature=0.3,
            top_p=0.97,
            messages=(
                user(TextPart("hi")),
                assistant(
                    ThinkingPart("from elsewhere"), ThinkingPart("mine", "sig"), TextPart("hello")
                ),
                user(TextPart("more")),
            ),
        ),
        {
            "model": "claude-x",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "mine", "signature": "sig"},
                        {"type": "text", "text": "hello"},
                    ],
                },
                {"role": "user", "content": [{"type": "text", "text": "more"}]},
            ],
            "thinking": {"type": "enabled", "budget_tokens": 8192},
            "max_tokens": 9192,
            "top_p": 0.97,
        },
    ),
    (
        "thinking high with room to spare",
        _req(reasoning_effort="high", max_tokens=32000, top_p=0.5),
        {
            "model": "claude-x",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "thinking": {"type": "enabled", "budget_tokens": 24576},
            "max_tokens": 32000,
        },
    ),
    (
        "thinking low without max_tokens",
        _req(reasoning_effort="low", max_tokens=None),
        {
            "model": "claude-x",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "max_tokens": DEFAULT_MAX_TOKENS,
        },
    ),
    (
        "a forced tool wins over thinking",
        _req(reasoning_effort="high", tool_choice="required", temperature=0.1),
        {
            "model": "claude-x",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_tokens": 100,
            "temperature": 0.1,
            "tool_choice": {"type": "any"},
        },
    ),
]


@pytest.mark.parametrize(
    ("request_", "expected"), [c[1:] for c in RENDER_REQUESTS], ids=[c[0] for c in RENDER_REQUESTS]
)
def test_render_request_builds_anthropic_body(
    request_: ChatRequest, expected: dict[str, Any]
) -> None:
    assert DIALECT.render_request(request_) == expected


# Left out: the image case (rendering moves tool results to the front of the user turn) and
# thinking (rendering raises max_tokens above the budget).
ROUND_TRIPS = [
    c for c in PARSE_REQUESTS if not c[0].startswith("images") and c[2].reasoning_effort is None
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in ROUND_TRIPS], ids=[c[0] for c in ROUND_TRIPS]
)
def test_render_request_parses_back_to_the_same_request(
    body: dict[str, Any], expected: ChatRequest
) -> None:
    # What was left out on the way in is not in the rendering, so it is not named again.
    carried = replace(expected, left_out=())
    assert DIALECT.parse_request(DIALECT.render_request(carried)) == carried


# -- responses -------------------------------------------------------------------------------

USAGE_BODY = {
    "input_tokens": 12,
    "output_tokens": 80,
    "cache_creation_input_tokens": 300,
    "cache_read_input_tokens": 2000,
    "output_tokens_details": {"thinking_tokens": 50},
}
USAGE = Usage(
    input_tokens=12,
    output_tokens=80,
    cache_read_tokens=2000,
    cache_write_tokens=300,
    reasoning_tokens=50,
)

RESPONSES = [
    (
        "text with cache usage",
        {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [{"type": "text", "text": "Hello!"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 12,
                "output_tokens": 3,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 2000,
            },
        },
        ChatResponse(
            "msg_01",
            "claude-x",
            (TextPart("Hello!"),),
            "end_turn",
            Usage(input_tokens=12, output_tokens=3, cache_read_tokens=2000),
        ),
    ),
    (
        "thinking and tool calls with reasoning tokens",
        {
            "id": "msg_02",
            "type": "message",
            "role": "assistant",
            "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "Need weather.", "signature": "c2ln"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": USAGE_BODY,
        },
        ChatResponse(
            "msg_02",
            "claude-x",
            (
                ThinkingPart("Need weather.", "c2ln"),
                TextPart("Let me check."),
                ToolCallPart("toolu_1", "weather", '{"city": "Oslo"}'),
            ),
            "tool_use",
            USAGE,
        ),
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in RESPONSES], ids=[c[0] for c in RESPONSES]
)
def test_parse_response_reads_blocks_stop_and_usage(
    body: dict[str, Any], expected: ChatResponse
) -> None:
    assert DIALECT.parse_response(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in RESPONSES], ids=[c[0] for c in RESPONSES]
)
def test_render_response_round_trips_and_satisfies_the_sdk(
    body: dict[str, Any], expected: ChatResponse
) -> None:
    rendered = DIALECT.render_response(expected)
    at.Message.model_validate(rendered)
    assert DIALECT.parse_response(rendered) == expected
    assert rendered["usage"] == parts_usage(expected.usage)


def parts_usage(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out


def test_parse_response_skips_blocks_without_neutral_form() -> None:
    body = {
        "id": "msg_03",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "redacted_thinking", "data": "x"},
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            {"type": "text", "text": "Done."},
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    assert DIALECT.parse_response(body).parts == (TextPart("Done."),)


STOP_REASONS_IN = [
    ("end_turn", "end_turn"),
    ("max_tokens", "max_tokens"),
    ("tool_use", "tool_use"),
    ("stop_sequence", "stop_sequence"),
    ("refusal", "refusal"),
    ("pause_turn", "end_turn"),
    ("model_context_window_exceeded", "max_tokens"),
    (None, "end_turn"),
]


@pytest.mark.parametrize(("wire", "neutral"), STOP_REASONS_IN)
def test_parse_response_maps_stop_reasons(wire: str | None, neutral: str) -> None:
    body: dict[str, Any] = {"type": "message", "content": [], "stop_reason": wire, "usage": {}}
    assert DIALECT.parse_response(body).stop_reason == neutral


STOP_REASONS_OUT = [
    ("end_turn", "end_turn"),
    ("max_tokens", "max_tokens"),
    ("tool_use", "tool_use"),
    ("stop_sequence", "stop_sequence"),
    ("refusal", "refusal"),
    ("error", "end_turn"),
]


@pytest.mark.parametrize(("neutral", "wire"), STOP_REASONS_OUT)
def test_render_response_maps_stop_reasons(neutral: Any, wire: str) -> None:
    rendered = DIALECT.render_response(ChatResponse("", "m", (), neutral))
    at.Message.model_validate(rendered)
    assert rendered["stop_reason"] == wire
    assert rendered["id"].startswith("msg_")


BAD_RESPONSES = [
    (
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "upstream error: overloaded_error: Overloaded",
    ),
    ({"object": "chat.completion", "choices": []}, "not an Anthropic message"),
    ({"type": "message", "content": "text"}, "not an Anthropic message"),
    ({"type": "message", "content": ["text"]}, "content blocks must be objects"),
]


@pytest.mark.parametrize(("body", "message"), BAD_RESPONSES)
def test_parse_response_rejects_non_answers(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DIALECT.parse_response(body)


# -- stream decoding -------------------------------------------------------------------------

CAPTURED_STREAM = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_01S","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":1200,"cache_read_input_tokens":4000,"output_tokens":1}}}

event: ping
data: {"type": "ping"}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"User wants weather."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Let me "}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"check."}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: content_block_start
data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_01A","name":"weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Os"}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"lo\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":3}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"""  # noqa: E501 (captured frames are kept whole)

CAPTURED_EVENTS: list[StreamEvent] = [
    MessageStart(
        "msg_01S",
        "claude-x",
        Usage(input_tokens=25, output_tokens=1, cache_read_tokens=4000, cache_write_tokens=1200),
    ),
    ThinkingDelta(0, "User wants weather."),
    TextDelta(1, "Let me "),
    TextDelta(1, "check."),
    ToolCallStart(2, "toolu_01A", "weather"),
    ToolCallDelta(2, '{"city": "Os'),
    ToolCallDelta(2, 'lo"}'),
    MessageEnd(
        "tool_use",
        Usage(input_tokens=25, output_tokens=89, cache_read_tokens=4000, cache_write_tokens=1200),
    ),
]


def _sse(*payloads: dict[str, Any]) -> bytes:
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)


START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 500, "output_tokens": 1},
    },
}
TEXT_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}
TEXT_DELTA = {
    "type": "content_block_delta",
    "index": 0,
    "delta": {"type": "text_delta", "text": "ok"},
}
STOP = {"type": "content_block_stop", "index": 0}
DELTA = {
    "type": "message_delta",
    "delta": {"stop_reason": "end_turn"},
    "usage": {"output_tokens": 5},
}
END = {"type": "message_stop"}
START_EVENT = MessageStart(
    "msg_1", "m", Usage(input_tokens=10, output_tokens=1, cache_read_tokens=500)
)

DECODE_CASES = [
    (
        "captured stream with thinking, redacted thinking, text and a tool call",
        CAPTURED_STREAM,
        CAPTURED_EVENTS,
    ),
    (
        "message_delta carrying input and cache tokens too",
        _sse(
            START,
            TEXT_START,
            TEXT_DELTA,
            STOP,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens"},
                "usage": {
                    "output_tokens": 7,
                    "input_tokens": 10,
                    "cache_read_input_tokens": 500,
                    "cache_creation_input_tokens": 40,
                },
            },
            END,
        ),
        [
            START_EVENT,
            TextDelta(0, "ok"),
            MessageEnd(
                "max_tokens",
                Usage(
                    input_tokens=10, output_tokens=7, cache_read_tokens=500, cache_write_tokens=40
                ),
            ),
        ],
    ),
    (
        "message_delta with zeroed input keeps the start's counts",
        _sse(
            START,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 2, "input_tokens": 0, "cache_read_input_tokens": 0},
            },
            END,
        ),
        [
            START_EVENT,
            MessageEnd("end_turn", Usage(input_tokens=10, output_tokens=2, cache_read_tokens=500)),
        ],
    ),
    (
        "frames without event lines, content in the block start",
        b'data: {"type":"message_start","message":{"id":"m1","model":"m","usage":{}}}\n\n'
        b'data: {"type":"content_block_start","index":0,"content_block":'
        b'{"type":"tool_use","id":"t","name":"f","input":{"a":1}}}\n\n'
        b'data: {"type":"content_block_start","index":1,'
        b'"content_block":{"type":"text","text":"hi"}}\n\n'
        b'data: {"type":"message_delta","delta":{"stop_reason":"stop_sequence"},'
        b'"usage":{"output_tokens":3}}\n\n'
        b'data: {"type":"message_stop"}\n\n',
        [
            MessageStart("m1", "m"),
            ToolCallStart(0, "t", "f"),
            ToolCallDelta(0, '{"a": 1}'),
            TextDelta(1, "hi"),
            MessageEnd("stop_sequence", Usage(output_tokens=3)),
        ],
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in DECODE_CASES], ids=[c[0] for c in DECODE_CASES]
)
def test_stream_decoder_yields_neutral_events(raw: bytes, expected: list[StreamEvent]) -> None:
    assert decode_stream(DIALECT, raw) == expected


DECODE_FAILURES = [
    (
        "ended before message_delta",
        _sse(START, TEXT_START, TEXT_DELTA),
        "ended before the message was complete",
    ),
    ("empty stream", b"", "ended before the message was complete"),
    (
        "in-stream error",
        _sse(
            START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        ),
        "upstream error: overloaded_error: Overloaded",
    ),
    ("delta before message_start", _sse(TEXT_START), "content_block_start before message_start"),
    ("delta for a block that never started", _sse(START, TEXT_DELTA), "never started"),
    ("not JSON", b"event: message_start\ndata: {nope\n\n", "not JSON"),
]


@pytest.mark.parametrize(
    ("raw", "message"), [c[1:] for c in DECODE_FAILURES], ids=[c[0] for c in DECODE_FAILURES]
)
def test_stream_decoder_raises_on_broken_streams(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_stream(DIALECT, raw)


def test_a_stream_closed_after_message_delta_without_message_stop_was_cut() -> None:
    # Not taken as complete (no MessageEnd); the usage message_delta reported is kept for the
    # recorder.
    events, cut = cut_stream(DIALECT, _sse(START, TEXT_START, TEXT_DELTA, STOP, DELTA))
    assert events == [START_EVENT, TextDelta(0, "ok")]
    assert cut.usage == Usage(input_tokens=10, output_tokens=5, cache_read_tokens=500)
    assert "before message_stop" in str(cut)


def test_stream_decoder_ignores_frames_after_message_stop() -> None:
    decoder = DIALECT.stream_decoder()
    for payload in (START, DELTA, END):
        decoder.feed((str(payload["type"]), json.dumps(payload)))
    assert decoder.feed(("ping", '{"type":"ping"}')) == []
    assert decoder.close() == []


# -- stream encoding -------------------------------------------------------------------------

ENCODE_EVENTS: list[StreamEvent] = [
    MessageStart(
        "msg_9", "claude-x", Usage(input_tokens=25, cache_read_tokens=4000, cache_write_tokens=1200)
    ),
    ThinkingDelta(0, "Hmm."),
    TextDelta(1, "Let me "),
    TextDelta(1, "check."),
    ToolCallStart(2, "toolu_1", "weather"),
    ToolCallDelta(2, '{"city": '),
    ToolCallDelta(2, '"Oslo"}'),
    ToolCallStart(3, "toolu_2", "weather"),
    ToolCallDelta(3, '{"city": "Rome"}'),
    MessageEnd("tool_use", Usage(output_tokens=89, reasoning_tokens=20)),
]
ENCODE_SEQUENCE = [
    ("message_start", None),
    ("content_block_start", 0),
    ("content_block_delta", 0),
    ("content_block_stop", 0),
    ("content_block_start", 1),
    ("content_block_delta", 1),
    ("content_block_delta", 1),
    ("content_block_stop", 1),
    ("content_block_start", 2),
    ("content_block_delta", 2),
    ("content_block_delta", 2),
    ("content_block_stop", 2),
    ("content_block_start", 3),
    ("content_block_delta", 3),
    ("content_block_stop", 3),
    ("message_delta", None),
    ("message_stop", None),
]
FINAL_USAGE = Usage(
    input_tokens=25,
    output_tokens=89,
    cache_read_tokens=4000,
    cache_write_tokens=1200,
    reasoning_tokens=20,
)


def _encode(events: list[StreamEvent], request: ChatRequest | None = None) -> bytes:
    encoder = DIALECT.stream_encoder(request or _req())
    return b"".join(encoder.encode(e) for e in events) + encoder.close()


def test_stream_encoder_emits_the_vendor_event_sequence() -> None:
    frames = SseParser().feed(_encode(ENCODE_EVENTS))
    payloads = [json.loads(data) for _, data in frames]
    assert [
        (name, p.get("index")) for (name, _), p in zip(frames, payloads, strict=True)
    ] == ENCODE_SEQUENCE
    assert all(name == p["type"] for (name, _), p in zip(frames, payloads, strict=True))
    for payload in payloads:
        STREAM_EVENT.validate_python(payload)
    assert payloads[0]["message"]["usage"] == {
        "input_tokens": 25,
        "output_tokens": 0,
        "cache_creation_input_tokens": 1200,
        "cache_read_input_tokens": 4000,
    }
    assert payloads[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert payloads[-2]["usage"] == {
        "input_tokens": 25,
        "output_tokens": 89,
        "cache_creation_input_tokens": 1200,
        "cache_read_input_tokens": 4000,
        "output_tokens_details": {"thinking_tokens": 20},
    }


def test_stream_encoder_output_accumulates_into_an_sdk_message() -> None:
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for _, data in SseParser().feed(_encode(ENCODE_EVENTS)):
        event = STREAM_EVENT.validate_python(json.loads(data))
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    assert [b.type for b in snapshot.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert snapshot.content[1].text == "Let me check."  # type: ignore[union-attr]
    assert snapshot.content[2].input == {"city": "Oslo"}  # type: ignore[union-attr]
    assert snapshot.stop_reason == "tool_use"
    assert snapshot.usage.cache_read_input_tokens == 4000
    assert snapshot.usage.output_tokens == 89


def test_stream_encoder_output_decodes_back_to_the_same_events() -> None:
    expected = [*ENCODE_EVENTS[:-1], MessageEnd("tool_use", FINAL_USAGE)]
    assert decode_stream(DIALECT, _encode(ENCODE_EVENTS)) == expected


def test_stream_encoder_opens_the_message_when_start_is_missing() -> None:
    raw = _encode(
        [TextDelta(0, "hi"), MessageEnd("end_turn", Usage(input_tokens=3, output_tokens=1))],
        _req(model="claude-z"),
    )
    events = decode_stream(DIALECT, raw)
    assert isinstance(events[0], MessageStart)
    assert events[0].id.startswith("msg_")
    assert events[0].model == "claude-z"
    assert events[1:] == [
        TextDelta(0, "hi"),
        MessageEnd("end_turn", Usage(input_tokens=3, output_tokens=1)),
    ]


def test_stream_encoder_sends_nothing_after_the_end() -> None:
    encoder = DIALECT.stream_encoder(_req())
    encoder.encode(MessageStart("m", "m"))
    encoder.encode(MessageEnd("end_turn"))
    assert encoder.encode(TextDelta(0, "late")) == b""
    assert encoder.close() == b""


def test_stream_encoder_error_is_an_error_event() -> None:
    encoder = DIALECT.stream_encoder(_req())
    encoder.encode(MessageStart("m", "m"))
    raw = encoder.error(529, "provider_error", "Overloaded")
    assert SseParser().feed(raw) == [
        (
            "error",
            '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded",'
            '"code":"provider_error"}}',
        )
    ]
    with pytest.raises(ValueError, match="upstream error: overloaded_error: Overloaded"):
        decode_stream(DIALECT, _encode([MessageStart("m", "m")]) + raw)


# -- errors and token counting ---------------------------------------------------------------

ERRORS = [
    (400, "invalid_request", "invalid_request_error"),
    (401, "auth_required", "authentication_error"),
    (403, "approval_denied", "permission_error"),
    (404, "not_found", "not_found_error"),
    (413, "too_large", "request_too_large"),
    (429, "saturated", "rate_limit_error"),
    (500, "gateway_error", "api_error"),
    (502, "provider_error", "api_error"),
    (503, "provider_unavailable", "api_error"),
    (529, "provider_error", "overloaded_error"),
    (502, "overloaded_error", "overloaded_error"),
]


@pytest.mark.parametrize(("status", "code", "kind"), ERRORS)
def test_render_error_uses_the_anthropic_envelope(status: int, code: str, kind: str) -> None:
    body = DIALECT.render_error(status, code, "went wrong")
    assert body == {"type": "error", "error": {"type": kind, "message": "went wrong", "code": code}}
    if kind != "request_too_large":  # real API type the SDK's literal list does not carry
        ErrorResponse.model_validate(body)
