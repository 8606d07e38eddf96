"""The OpenAI Chat Completions dialect's requests, both directions: a body parsed to the neutral
request, a body it cannot read refused naming the field, a neutral request rendered as a body,
and a rendered body parsed back to the same request (less what a render changes on purpose)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.dialects.openai_chat import OpenAIChatDialect
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ImagePart,
    Message,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
)
from tests.engine.gateway.neutral import assistant, user

DIALECT = OpenAIChatDialect()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def test_dialect_satisfies_the_protocol() -> None:
    dialect: Dialect = DIALECT
    assert dialect.name == "openai-chat"


# -- request parsing -------------------------------------------------------------------------

PARSE_CASES = [
    pytest.param(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
        ChatRequest(model="gpt-4o", messages=(user("Hi"),)),
        id="minimal",
    ),
    pytest.param(
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Bonjour"},
                {"role": "user", "content": "Again"},
            ],
            "temperature": 0.2,
            "top_p": 1,
            "max_tokens": 50,
            "stop": "END",
            "user": "u-1",
            "unknown_field": {"ignored": True},
        },
        ChatRequest(
            model="gpt-4o",
            system=(TextPart("Be brief."), TextPart("Use French.")),
            messages=(user("Hi"), assistant("Bonjour"), user("Again")),
            temperature=0.2,
            top_p=1.0,
            max_tokens=50,
            stop=("END",),
            user="u-1",
            left_out=("unknown_field",),
        ),
        id="system-developer-multi-turn-sampling",
    ),
    pytest.param(
        {
            "model": "o3",
            "messages": [{"role": "user", "content": "Think"}],
            "max_completion_tokens": 4000,
            "max_tokens": 10,
            "stop": ["a", "b"],
            "reasoning_effort": "minimal",
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        ChatRequest(
            model="o3",
            messages=(user("Think"),),
            max_tokens=4000,
            stop=("a", "b"),
            reasoning_effort="low",
            stream=True,
            stream_usage=True,
        ),
        id="max-completion-tokens-wins-effort-stream-flags",
    ),
    pytest.param(
        {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,iVBORw0K", "detail": "low"},
                        },
                        {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg"}},
                    ],
                }
            ],
        },
        ChatRequest(
            model="gpt-4o",
            messages=(
                user(
                    "What is this?",
                    ImagePart(media_type="image/png", data="iVBORw0K"),
                    ImagePart(url="https://x.test/cat.jpg"),
                ),
            ),
        ),
        id="images-inline-and-by-url",
    ),
    pytest.param(
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": "Weather in Paris and the time?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {"id": "call_2", "function": {"name": "get_time", "arguments": ""}},
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {
                    "role": "tool",
                    "tool_call_id": "call_2",
                    "content": [{"type": "text", "text": "12:"}, {"type": "text", "text": "00"}],
                },
                {"role": "user", "content": "Thanks"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Weather now",
                        "parameters": WEATHER,
                        "strict": True,
                    },
                },
                {"type": "function", "function": {"name": "get_time"}},
            ],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
        ChatRequest(
            model="gpt-4o",
            messages=(
                user("Weather in Paris and the time?"),
                assistant(
                    ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                    ToolCallPart("call_2", "get_time", "{}"),
                ),
                user(
                    ToolResultPart("call_1", "18C", name="get_weather"),
                    ToolResultPart("call_2", "12:00", name="get_time"),
                ),
                user("Thanks"),
            ),
            tools=(ToolDef("get_weather", "Weather now", WEATHER), ToolDef("get_time")),
            tool_choice="get_weather",
        ),
        id="tools-calls-and-merged-results",
    ),
    pytest.param(
        {
            "model": "deepseek-reasoner",
            "messages": [
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "4", "reasoning_content": "Add them."},
                {"role": "user", "content": "Sure?"},
            ],
            "tool_choice": "required",
            "reasoning_effort": "none",
        },
        ChatRequest(
            model="deepseek-reasoner",
            messages=(user("2+2?"), assistant(ThinkingPart("Add them."), "4"), user("Sure?")),
            tool_choice="required",
        ),
        id="echoed-reasoning-and-string-tool-choice",
    ),
]


@pytest.mark.parametrize(("body", "expected"), PARSE_CASES)
def test_parse_request(body: dict[str, Any], expected: ChatRequest) -> None:
    assert DIALECT.parse_request(body) == expected


def test_parse_request_takes_model_from_the_url_when_the_body_has_none() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}]}
    assert DIALECT.parse_request(body, model="llama3").model == "llama3"


def with_fields(**fields: Any) -> dict[str, Any]:
    """A valid one-message request with `fields` replaced."""
    return {"model": "m", "messages": [{"role": "user", "content": "x"}]} | fields


def with_messages(*messages: Any) -> dict[str, Any]:
    return with_fields(messages=list(messages))


REQUEST_ERRORS = [
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "m"}, "messages"),
    (with_messages(), "messages"),
    (with_messages({"role": "system", "content": "only"}), "messages"),
    (with_messages("hi"), "messages[0]"),
    (with_messages({"content": "x"}), "messages[0].role"),
    (with_messages({"role": "robot", "content": "x"}), "messages[0].role"),
    (with_messages({"role": "user", "content": 3}), "messages[0].content"),
    (
        with_messages({"role": "user", "content": [{"type": "file", "file": {"file_data": 1}}]}),
        "messages[0].content[0].file.file_data",
    ),
    (
        with_messages(
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}
        ),
        "messages[0].content[0].image_url.url",
    ),
    (
        with_messages(
            {"role": "user", "content": [{"type": "image_url", "image_url": "data:image/png,xx"}]}
        ),
        "messages[0].content[0].image_url.url",
    ),
    (
        with_messages(
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]},
        ),
        "messages[1].tool_calls[0].function.name",
    ),
    (with_messages({"role": "tool", "content": "x"}), "messages[0].tool_call_id"),
    (with_fields(max_tokens=0), "max_tokens"),
    (with_fields(max_completion_tokens=True), "max_completion_tokens"),
    (with_fields(temperature="hot"), "temperature"),
    (with_fields(stop=[1]), "stop[0]"),
    (
        with_fields(tools=[{"type": "function", "function": {"name": "f", "parameters": []}}]),
        "tools[0].function.parameters",
    ),
    (with_fields(tool_choice="any"), "tool_choice"),
    (with_fields(tool_choice={"type": "allowed_tools"}), "tool_choice.allowed_tools"),
    (with_fields(tool_choice={"type": "mystery"}), "tool_choice.type"),
    (with_fields(reasoning_effort="big"), "reasoning_effort"),
    (with_fields(stream="yes"), "stream"),
    (with_fields(stream_options={"include_usage": 1}), "stream_options.include_usage"),
    (with_fields(user=7), "user"),
]


@pytest.mark.parametrize(("body", "field"), REQUEST_ERRORS)
def test_parse_request_names_the_bad_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.parse_request(body)
    assert caught.value.message.startswith(f"{field}: ")


# -- request rendering -----------------------------------------------------------------------

RENDER_CASES = [
    pytest.param(
        ChatRequest(model="llama3", messages=(user("Hi"),)),
        {"model": "llama3", "messages": [{"role": "user", "content": "Hi"}]},
        id="minimal",
    ),
    pytest.param(
        ChatRequest(
            model="gpt-4o",
            system=(TextPart("Be brief."), TextPart("Use French.")),
            messages=(
                user("Look", ImagePart(media_type="image/jpeg", data="AAAA")),
                assistant(
                    ThinkingPart("hidden", signature="sig"),
                    "Checking.",
                    ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                ),
                user(ToolResultPart("call_1", "18C", is_error=False), "And tomorrow?"),
            ),
            tools=(ToolDef("get_weather", "Weather now", WEATHER),),
            tool_choice="get_weather",
            max_tokens=100,
            temperature=0.5,
            top_p=0.9,
            stop=("END",),
            stream=True,
            user="u-1",
            reasoning_effort="high",
        ),
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief.\n\nUse French."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Look"},
                        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "user", "content": "And tomorrow?"},
            ],
            "max_tokens": 100,
            "temperature": 0.5,
            "top_p": 0.9,
            "stop": ["END"],
            "reasoning_effort": "high",
            "user": "u-1",
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Weather now",
                        "parameters": WEATHER,
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        id="full",
    ),
    pytest.param(
        ChatRequest(
            model="m",
            messages=(
                assistant(ToolCallPart("c", "f", "{}")),
                user(ImagePart(url="https://x.test/a.png")),
            ),
            tool_choice="none",
        ),
        {
            "model": "m",
            "messages": [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}
                    ],
                },
            ],
            "tool_choice": "none",
        },
        id="tool-call-only-and-image-url",
    ),
]


@pytest.mark.parametrize(("request_", "expected"), RENDER_CASES)
def test_render_request(request_: ChatRequest, expected: dict[str, Any]) -> None:
    assert DIALECT.render_request(request_) == expected


@pytest.mark.parametrize(("body", "request_"), PARSE_CASES)
def test_rendered_request_parses_back_to_the_same_request(
    body: dict[str, Any], request_: ChatRequest
) -> None:
    # What a render changes on purpose: streams always ask for usage, system parts are
    # joined into one system message, and thinking is not sent back upstream.
    expected = dataclasses.replace(
        request_,
        stream_usage=request_.stream,
        system=(TextPart("\n\n".join(p.text for p in request_.system)),) if request_.system else (),
        messages=tuple(
            Message(m.role, tuple(p for p in m.parts if not isinstance(p, ThinkingPart)))
            for m in request_.messages
        ),
        # What was left out on the way in is not in the rendering, so it is not named again.
        left_out=(),
    )
    assert DIALECT.parse_request(DIALECT.render_request(request_)) == expected
