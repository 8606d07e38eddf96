from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.dialects.openai_chat import OpenAIChatDialect
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
from llmgw_desktop.engine.tokens.usage import Usage
from tests.engine.gateway.dialects.event_streams import cut_stream, decode_stream, frames
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


# -- responses -------------------------------------------------------------------------------

CACHED_USAGE = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 256,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def completion(message: dict[str, Any], finish: str | None, usage: Any = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_123",
    }


def answer(*parts: Any, stop: str = "end_turn", usage: Usage | None = None) -> ChatResponse:
    return ChatResponse(
        id="chatcmpl-abc",
        model="gpt-4o-2024-08-06",
        parts=tuple(TextPart(p) if isinstance(p, str) else p for p in parts),
        stop_reason=stop,  # type: ignore[arg-type]
        usage=usage or Usage(),
    )


RESPONSE_CASES = [
    pytest.param(
        completion(
            {"role": "assistant", "content": "Hello!", "refusal": None, "annotations": []},
            "stop",
            CACHED_USAGE,
        ),
        answer("Hello!", usage=Usage(86, 300, cache_read_tokens=1920, reasoning_tokens=256)),
        id="text-cached-and-reasoning-usage",
    ),
    pytest.param(
        completion(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            "tool_calls",
            {"prompt_tokens": 80, "completion_tokens": 17, "total_tokens": 97},
        ),
        answer(
            ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
            stop="tool_use",
            usage=Usage(80, 17),
        ),
        id="tool-call",
    ),
    pytest.param(
        completion(
            {
                "role": "assistant",
                "content": "4",
                "reasoning_content": "2 and 2 make 4.",
            },
            "length",
            {
                "prompt_tokens": 30,
                "completion_tokens": 10,
                "total_tokens": 40,
                "prompt_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 15},
            },
        ),
        answer(
            ThinkingPart("2 and 2 make 4."),
            "4",
            stop="max_tokens",
            usage=Usage(5, 10, cache_read_tokens=10, cache_write_tokens=15),
        ),
        id="reasoning-content-length-cache-writes",
    ),
    pytest.param(
        completion(
            {
                "role": "assistant",
                "content": "",
                "reasoning": "Ollama style.",
                "tool_calls": [{"id": "c9", "function": {"name": "f", "arguments": {"a": 1}}}],
            },
            "stop",
            {"prompt_tokens": 12, "completion_tokens": 3, "prompt_cache_hit_tokens": 8},
        ),
        answer(
            ThinkingPart("Ollama style."),
            ToolCallPart("c9", "f", '{"a":1}'),
            stop="tool_use",
            usage=Usage(4, 3, cache_read_tokens=8),
        ),
        id="compatible-server-quirks",
    ),
    pytest.param(
        completion({"role": "assistant", "content": None, "refusal": "I can't."}, "stop"),
        answer("I can't.", stop="refusal"),
        id="refusal",
    ),
    pytest.param(
        completion({"role": "assistant", "content": "blocked"}, "content_filter"),
        answer("blocked", stop="refusal"),
        id="content-filter",
    ),
]


@pytest.mark.parametrize(("body", "expected"), RESPONSE_CASES)
def test_parse_response(body: dict[str, Any], expected: ChatResponse) -> None:
    assert DIALECT.parse_response(body) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"error": {"message": "bad key", "type": "invalid_request_error"}}, "bad key"),
        ({"object": "list", "data": []}, "object"),
        ({"object": "chat.completion", "choices": []}, "choices"),
        ({"choices": [{"index": 0}]}, "message"),
        (
            completion({"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}, "stop"),
            "function name",
        ),
    ],
)
def test_parse_response_rejects_what_is_not_a_completion(body: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DIALECT.parse_response(body)


RENDERED_RESPONSES = [
    answer("Hello!", usage=Usage(86, 300, cache_read_tokens=1920, reasoning_tokens=256)),
    answer(
        ThinkingPart("Let me see."),
        "Calling.",
        ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
        ToolCallPart("call_2", "get_time", "{}"),
        stop="tool_use",
        usage=Usage(10, 20, cache_read_tokens=30, cache_write_tokens=40),
    ),
    answer("cut", stop="max_tokens"),
    answer("no", stop="refusal"),
]


@pytest.mark.parametrize("response", RENDERED_RESPONSES)
def test_rendered_response_is_a_valid_completion_that_parses_back(
    response: ChatResponse,
) -> None:
    body = DIALECT.render_response(response)
    ChatCompletion.model_validate(body)
    assert DIALECT.parse_response(json.loads(json.dumps(body))) == response


def test_render_response_usage_and_message_shape() -> None:
    body = DIALECT.render_response(RENDERED_RESPONSES[1])
    assert body["object"] == "chat.completion"
    assert body["usage"] == {
        "prompt_tokens": 80,
        "completion_tokens": 20,
        "total_tokens": 100,
        "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 40},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Calling."
    assert choice["message"]["reasoning_content"] == "Let me see."
    assert [c["function"]["name"] for c in choice["message"]["tool_calls"]] == [
        "get_weather",
        "get_time",
    ]


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("error", "stop"),
    ],
)
def test_stop_reasons_render_as_finish_reasons(stop: str, finish: str) -> None:
    body = DIALECT.render_response(answer("x", stop=stop))
    assert body["choices"][0]["finish_reason"] == finish


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
        ("something_new", "end_turn"),
    ],
)
def test_finish_reasons_parse_as_stop_reasons(finish: str | None, stop: str) -> None:
    body = completion({"role": "assistant", "content": "x"}, finish)
    assert DIALECT.parse_response(body).stop_reason == stop


# -- stream decoding -------------------------------------------------------------------------


def sse(*payloads: dict[str, Any] | str) -> bytes:
    return b"".join(
        f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n".encode() for p in payloads
    )


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-B9",
        "object": "chat.completion.chunk",
        "created": 1727000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_1",
        "choices": choices,
    } | extra


STREAM_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 40,
    "total_tokens": 1240,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
TOOL_STREAM: list[dict[str, Any] | str] = [
    chunk({"role": "assistant", "content": "", "refusal": None}, usage=None),
    chunk({"content": "Let me"}, usage=None),
    chunk({"content": " check."}, usage=None),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        usage=None,
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}, usage=None),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"Paris"}'}}]}, usage=None),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                }
            ]
        },
        usage=None,
    ),
    chunk({}, "tool_calls", usage=None),
    chunk(usage=STREAM_USAGE),
    "[DONE]",
]
TOOL_EVENTS: list[StreamEvent] = [
    MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06"),
    TextDelta(0, "Let me"),
    TextDelta(0, " check."),
    ToolCallStart(1, "call_a", "get_weather"),
    ToolCallDelta(1, '{"ci'),
    ToolCallDelta(1, 'ty":"Paris"}'),
    ToolCallStart(2, "call_b", "get_time"),
    ToolCallDelta(2, "{}"),
    MessageEnd("tool_use", Usage(176, 40, cache_read_tokens=1024)),
]

USAGE_9_4 = {"prompt_tokens": 9, "completion_tokens": 4}

DECODE_CASES = [
    pytest.param(sse(*TOOL_STREAM), TOOL_EVENTS, id="text-then-tools-usage-after-finish"),
    pytest.param(
        sse(
            chunk(usage=None, choices=[], prompt_filter_results=[]),  # Azure's opening chunk
            chunk({"role": "assistant"}),
            chunk({"reasoning_content": "Hmm"}),
            chunk({"reasoning_content": "..."}),
            chunk({"content": "Done"}),
            chunk(
                {},
                "length",
                usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
            ),
            "[DONE]",
        ),
        [
            MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06"),
            ThinkingDelta(0, "Hmm"),
            ThinkingDelta(0, "..."),
            TextDelta(1, "Done"),
            MessageEnd("max_tokens", Usage(9, 4)),
        ],
        id="reasoning-then-text-usage-on-finish-chunk",
    ),
    pytest.param(
        sse(
            chunk(
                {"role": "assistant", "content": "Hi"},
                usage={"prompt_tokens": 50, "prompt_tokens_details": {"cached_tokens": 40}},
            ),
            chunk({"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]}),
            chunk({"content": "after"}),
            chunk({}, "stop", usage={"prompt_tokens": 0, "completion_tokens": 7}),
            "[DONE]",
        ),
        [
            MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06", Usage(10, 0, cache_read_tokens=40)),
            TextDelta(0, "Hi"),
            ToolCallStart(1, "c1", "f"),
            ToolCallDelta(1, "{}"),
            TextDelta(2, "after"),
            MessageEnd("tool_use", Usage(10, 7, cache_read_tokens=40)),
        ],
        id="start-usage-kept-index-less-tool-call-stop-after-tools",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), DECODE_CASES)
def test_stream_decode(raw: bytes, expected: list[StreamEvent]) -> None:
    assert decode_stream(DIALECT, raw) == expected


def test_a_stream_closed_after_its_finish_chunk_without_done_or_usage_was_cut() -> None:
    # A body delimited by the connection's close ends as cleanly when it is cut: without
    # `[DONE]`, and without the usage chunk it was asked for, the answer is not taken as
    # complete (no MessageEnd): what was lost is its count.
    events, cut = cut_stream(
        DIALECT, sse(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"))
    )
    assert events == [MessageStart("chatcmpl-B9", "gpt-4o-2024-08-06"), TextDelta(0, "Hi")]
    assert cut.usage == Usage() and "before [DONE]" in str(cut)


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param(
            [chunk({}, "stop", usage={"prompt_tokens": 9, "completion_tokens": 4})],
            id="usage-on-the-finish-chunk",  # some servers send it there
        ),
        pytest.param(
            [chunk({}, "stop"), {**chunk({}), "choices": [], "usage": USAGE_9_4}],
            id="usage-chunk-after-the-finish",
        ),
    ],
)
def test_a_stream_whose_usage_came_after_its_finish_is_whole_without_done(
    ending: list[dict[str, Any]],
) -> None:
    # Only `[DONE]` is missing (a server that leaves it out, or a cut just before it): the
    # answer and its count are whole.
    events = decode_stream(DIALECT, sse(chunk({"role": "assistant", "content": "Hi"}), *ending))
    assert events[-1] == MessageEnd("end_turn", Usage(9, 4))


def test_a_stream_that_ends_with_done_without_usage_is_complete() -> None:
    # Servers that ignore `stream_options.include_usage` send no usage chunk: not a cut.
    raw = sse(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"), "[DONE]")
    assert decode_stream(DIALECT, raw)[-1] == MessageEnd("end_turn")


def test_decoder_ignores_frames_after_done_and_close_owes_nothing() -> None:
    decoder = DIALECT.stream_decoder()
    for payload in TOOL_STREAM:
        decoder.feed((None, payload if isinstance(payload, str) else json.dumps(payload)))
    assert decoder.feed((None, json.dumps(chunk({"content": "late"})))) == []
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (sse(chunk({"role": "assistant", "content": "Hi"})), "finish_reason"),
        (b"", "before any chunk"),
        (sse("[DONE]"), "before any chunk"),
        (sse("not json"), "not a chat completion chunk"),
        (
            sse(
                chunk({"content": "Hi"}),
                {"error": {"message": "overloaded", "type": "server_error", "code": None}},
            ),
            "overloaded",
        ),
    ],
)
def test_stream_decode_failures(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_stream(DIALECT, raw)


# -- stream encoding -------------------------------------------------------------------------


def encode(events: list[StreamEvent], request: ChatRequest) -> bytes:
    encoder = DIALECT.stream_encoder(request)
    return b"".join(encoder.encode(e) for e in events) + encoder.close() + encoder.close()


def frames_of(raw: bytes) -> list[str]:
    return [data for _, data in frames(raw)]


STREAMED = ChatRequest(model="gpt-4o", messages=(user("Hi"),), stream=True, stream_usage=True)
ENCODE_EVENTS: list[StreamEvent] = [
    MessageStart("chatcmpl-X", "gpt-4o"),
    ThinkingDelta(0, "Plan."),
    TextDelta(1, "Let me"),
    TextDelta(1, " check."),
    ToolCallStart(2, "call_a", "get_weather"),
    ToolCallDelta(2, '{"city":'),
    ToolCallDelta(2, '"Paris"}'),
    ToolCallStart(3, "call_b", "get_time"),
    ToolCallDelta(3, "{}"),
    MessageEnd("tool_use", Usage(176, 40, cache_read_tokens=1024, cache_write_tokens=5)),
]


def test_stream_encode_sends_openai_chunks_in_order() -> None:
    frames = frames_of(encode(ENCODE_EVENTS, STREAMED))
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    for c in chunks:
        ChatCompletionChunk.model_validate(c)
        assert (c["id"], c["object"], c["model"]) == (
            "chatcmpl-X",
            "chat.completion.chunk",
            "gpt-4o",
        )
    deltas = [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks[:-1]]
    assert deltas == [
        ({"role": "assistant", "content": "", "refusal": None}, None),
        ({"reasoning_content": "Plan."}, None),
        ({"content": "Let me"}, None),
        ({"content": " check."}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, None),
        ({}, "tool_calls"),
    ]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 1205,
        "completion_tokens": 40,
        "total_tokens": 1245,
        "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def test_stream_encode_without_include_usage_has_no_usage_chunk() -> None:
    request = dataclasses.replace(STREAMED, stream_usage=False)
    chunks = [json.loads(f) for f in frames_of(encode(ENCODE_EVENTS, request))[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all("usage" not in c for c in chunks)


@pytest.mark.parametrize(
    "events",
    [
        pytest.param(ENCODE_EVENTS, id="thinking-text-tools"),
        pytest.param(TOOL_EVENTS, id="captured-stream"),
        pytest.param(
            [MessageStart("chatcmpl-Y", "m"), TextDelta(0, "Hi"), MessageEnd("max_tokens")],
            id="text-only",
        ),
    ],
)
def test_encoded_stream_decodes_back_to_the_same_events(events: list[StreamEvent]) -> None:
    assert decode_stream(DIALECT, encode(events, STREAMED)) == events


def test_encoder_refuses_events_out_of_order() -> None:
    encoder = DIALECT.stream_encoder(STREAMED)
    with pytest.raises(ValueError, match="before MessageStart"):
        encoder.encode(TextDelta(0, "x"))
    encoder.encode(MessageStart("id", "m"))
    with pytest.raises(ValueError, match="no ToolCallStart"):
        encoder.encode(ToolCallDelta(4, "{}"))


# -- errors ----------------------------------------------------------------------------------

ERROR_CASES = [
    (400, "invalid_request", "messages[2].content: expected a string", "invalid_request_error"),
    (401, "auth_required", "bad key", "authentication_error"),
    (403, "approval_denied", "denied", "permission_error"),
    (404, "not_found", "no such model", "not_found_error"),
    (413, "too_large", "body too large", "invalid_request_error"),
    (429, "rate_limited", "slow down", "rate_limit_error"),
    (500, "gateway_error", "boom", "server_error"),
    (502, "provider_error", "upstream died", "api_error"),
    (503, "provider_unavailable", "paused", "api_error"),
]


@pytest.mark.parametrize(("status", "code", "message", "kind"), ERROR_CASES)
def test_render_error_envelope(status: int, code: str, message: str, kind: str) -> None:
    param = "messages[2].content" if status == 400 else None
    assert DIALECT.render_error(status, code, message) == {
        "error": {"message": message, "type": kind, "param": param, "code": code}
    }


def test_in_stream_error_is_a_data_frame_the_decoder_reports() -> None:
    encoder = DIALECT.stream_encoder(STREAMED)
    raw = encoder.encode(MessageStart("id", "m")) + encoder.error(502, "provider_error", "died")
    error = json.loads(frames_of(raw)[-1])
    assert error == {
        "error": {"message": "died", "type": "api_error", "param": None, "code": "provider_error"}
    }
    with pytest.raises(ValueError, match="died"):
        decode_stream(DIALECT, raw)
