"""The Anthropic Messages dialect's requests, both directions: a body parsed to the neutral
request, a neutral request rendered as a body, and a rendered body parsed back to the same
request.

A body the dialect refuses is in test_anthropic_request_errors.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.anthropic.request import DEFAULT_MAX_TOKENS
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ImagePart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
)
from tests.engine.gateway.dialects.anthropic_support import _body, _req
from tests.engine.gateway.neutral import assistant, user

DIALECT: Dialect = AnthropicDialect()
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


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
