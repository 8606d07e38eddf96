from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming
from pydantic import TypeAdapter

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.dialects.openai_responses import OpenAIResponsesDialect
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    MessageEnd,
    MessageStart,
    StopReason,
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
from tests.engine.gateway.dialects.event_streams import decode_stream, frames
from tests.engine.gateway.neutral import assistant, user

DIALECT = OpenAIResponsesDialect()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
STREAM_EVENT = TypeAdapter(ResponseStreamEvent)
CREATE_PARAMS = TypeAdapter(ResponseCreateParamsNonStreaming)


def msg(role: str, content: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content}


def test_dialect_satisfies_the_protocol() -> None:
    dialect: Dialect = DIALECT
    assert dialect.name == "openai-responses"


# -- request parsing -------------------------------------------------------------------------

PARSE_CASES = [
    pytest.param(
        {"model": "gpt-5", "input": "Hi", "instructions": "Be brief."},
        ChatRequest(model="gpt-5", messages=(user("Hi"),), system=(TextPart("Be brief."),)),
        id="string-input-and-instructions",
    ),
    pytest.param(
        {
            "model": "gpt-5",
            "instructions": "Be brief.",
            "input": [
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": "Hi"},
                msg("user", [{"type": "input_text", "text": "there"}]),
                msg("assistant", [{"type": "output_text", "text": "Bonjour", "annotations": []}]),
                {"role": "system", "content": [{"type": "input_text", "text": "No emoji."}]},
                msg("user", "Bye"),
            ],
        },
        ChatRequest(
            model="gpt-5",
            # An instruction in the middle of the conversation keeps its place.
            messages=(
                user("Hi", "there"),
                assistant("Bonjour"),
                Message("system", (TextPart("No emoji."),)),
                user("Bye"),
            ),
            system=(TextPart("Be brief."), TextPart("Answer in French.")),
        ),
        id="multi-turn-merges-roles-and-keeps-system-in-place",
    ),
    pytest.param(
        {
            "model": "gpt-5",
            "input": [
                msg("user", "Weather in Paris and Rome?"),
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "x"}],
                },
                msg("assistant", "Checking."),
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "get_weather",
                    "arguments": '{"city":"Paris"}',
                    "id": "fc_1",
                    "status": "completed",
                },
                {
                    "type": "function_call",
                    "call_id": "call_2",
                    "name": "get_weather",
                    "arguments": '{"city":"Rome"}',
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
                {
                    "type": "function_call_output",
                    "call_id": "call_2",
                    "output": [{"type": "input_text", "text": "21C"}],
                },
                msg("user", "Thanks"),
            ],
        },
        ChatRequest(
            model="gpt-5",
            messages=(
                user("Weather in Paris and Rome?"),
                assistant(
                    "Checking.",
                    ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                    ToolCallPart("call_2", "get_weather", '{"city":"Rome"}'),
                ),
                user(ToolResultPart("call_1", "18C"), ToolResultPart("call_2", "21C"), "Thanks"),
            ),
            left_out=("reasoning items (OpenAI's)",),
        ),
        id="tool-calls-and-results-merge-into-turns",
    ),
    pytest.param(
        {
            "model": "gpt-5",
            "input": [
                msg(
                    "user",
                    [
                        {"type": "input_text", "text": "What is this?"},
                        {
                            "type": "input_image",
                            "image_url": "data:image/png;base64,iVBORw0K",
                            "detail": "high",
                        },
                        {"type": "input_image", "image_url": "https://example.com/cat.jpg"},
                    ],
                )
            ],
        },
        ChatRequest(
            model="gpt-5",
            messages=(
                user(
                    "What is this?",
                    ImagePart(media_type="image/png", data="iVBORw0K"),
                    ImagePart(url="https://example.com/cat.jpg"),
                ),
            ),
        ),
        id="images-by-data-url-and-http-url",
    ),
    pytest.param(
        {
            "model": "gpt-5",
            "input": "Weather?",
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Look it up.",
                    "parameters": WEATHER,
                    "strict": True,
                },
                {"type": "function", "name": "now"},
            ],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "max_output_tokens": 512,
            "temperature": 0.2,
            "top_p": 1,
            "reasoning": {"effort": "high", "summary": "auto"},
            "stream": True,
            "user": "u-42",
            "store": True,
            "metadata": {"ignored": "yes"},
        },
        ChatRequest(
            model="gpt-5",
            messages=(user("Weather?"),),
            tools=(ToolDef("get_weather", "Look it up.", WEATHER), ToolDef("now")),
            tool_choice="get_weather",
            max_tokens=512,
            temperature=0.2,
            top_p=1.0,
            stream=True,
            stream_usage=True,
            user="u-42",
            reasoning_effort="high",
            left_out=(
                "store (responses are not stored)",
                "metadata (OpenAI's)",
                "reasoning.summary",
            ),
        ),
        id="tools-and-settings",
    ),
    pytest.param(
        {
            "model": "gpt-5",
            "input": "x",
            "tool_choice": "required",
            "reasoning": {"effort": "minimal"},
        },
        ChatRequest(
            model="gpt-5", messages=(user("x"),), tool_choice="required", reasoning_effort="low"
        ),
        id="required-tool-choice-minimal-effort",
    ),
    pytest.param(
        {
            "model": "gpt-5",
            "input": "x",
            "tool_choice": "none",
            "reasoning": {"effort": "none"},
            "stream": False,
        },
        ChatRequest(model="gpt-5", messages=(user("x"),), tool_choice="none"),
        id="no-tools-no-reasoning-no-stream",
    ),
]


@pytest.mark.parametrize(("body", "expected"), PARSE_CASES)
def test_parse_request(body: dict[str, Any], expected: ChatRequest) -> None:
    assert DIALECT.parse_request(body) == expected


REJECT_CASES = [
    pytest.param(
        {"model": "m", "input": "x", "previous_response_id": "resp_1"},
        "previous_response_id: the earlier turns are stored at OpenAI",
        id="previous-response-id",
    ),
    pytest.param(
        {"model": "m", "input": "x", "conversation": "conv_1"}, "conversation:", id="conversation"
    ),
    pytest.param({"input": "x"}, "model:", id="no-model"),
    pytest.param({"model": "m"}, "input: required", id="no-input"),
    pytest.param({"model": "m", "input": 3}, "input: expected a string or a list", id="bad-input"),
    pytest.param({"model": "m", "input": ["hi"]}, "input[0]: expected an object", id="bad-item"),
    pytest.param({"model": "m", "input": [msg("tool", "x")]}, "input[0].role:", id="bad-role"),
    pytest.param(
        {"model": "m", "input": [msg("user", "a"), msg("user", 7)]},
        "input[1].content: expected a string or a list of parts",
        id="bad-content",
    ),
    pytest.param(
        {"model": "m", "input": [msg("user", [{"type": "input_file", "file_id": "f"}])]},
        "a file by file_id: OpenAI's Files API is OpenAI's own",
        id="file-part",
    ),
    pytest.param(
        {"model": "m", "input": [msg("user", [{"type": "input_image", "file_id": "f"}])]},
        "an image by file_id",
        id="image-by-file-id",
    ),
    pytest.param(
        {"model": "m", "input": [msg("user", [{"type": "input_image", "image_url": "data:x"}])]},
        "input[0].content[0].image_url: expected a base64 data URL",
        id="bad-data-url",
    ),
    pytest.param(
        {"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
        "input[0].call_id: required string",
        id="call-without-call-id",
    ),
    pytest.param(
        {"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": 5}]},
        "input[0].output: expected a string or a list",
        id="bad-tool-output",
    ),
    pytest.param(
        {"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]},
        "input item type 'item_reference': it points at an item stored at OpenAI",
        id="item-reference",
    ),
    pytest.param(
        {"model": "m", "input": "x", "tools": [{"type": "function", "function": {"name": "f"}}]},
        "tools[0].name: required",
        id="chat-style-tool",
    ),
    pytest.param(
        {
            "model": "m",
            "input": "x",
            "tools": [{"type": "function", "name": "f", "parameters": []}],
        },
        "tools[0].parameters:",
        id="bad-parameters",
    ),
    pytest.param(
        {"model": "m", "input": "x", "tool_choice": "any"}, "tool_choice:", id="tool-choice"
    ),
    pytest.param(
        {"model": "m", "input": "x", "max_output_tokens": "9"},
        "max_output_tokens:",
        id="max-tokens-string",
    ),
    pytest.param(
        {"model": "m", "input": "x", "max_output_tokens": 0},
        "max_output_tokens:",
        id="max-tokens-zero",
    ),
    pytest.param(
        {"model": "m", "input": "x", "temperature": True}, "temperature:", id="temperature"
    ),
    pytest.param({"model": "m", "input": "x", "top_p": "1"}, "top_p:", id="top-p"),
    pytest.param(
        {"model": "m", "input": "x", "reasoning": {"effort": "huge"}},
        "reasoning.effort:",
        id="effort",
    ),
    pytest.param({"model": "m", "input": "x", "stream": "yes"}, "stream:", id="stream"),
    pytest.param(
        {"model": "m", "input": "x", "instructions": ["a"]}, "instructions:", id="instructions"
    ),
]


@pytest.mark.parametrize(("body", "message"), REJECT_CASES)
def test_parse_request_rejects_naming_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.parse_request(body)
    assert caught.value.message.startswith(message)


# -- request rendering -----------------------------------------------------------------------

RENDER_CASES = [
    pytest.param(
        ChatRequest(
            model="gpt-5",
            system=(TextPart("Be brief."), TextPart("No emoji.")),
            messages=(
                user("Look", ImagePart(media_type="image/png", data="AAAA")),
                assistant(
                    ThinkingPart("private", signature="sig"),
                    "Checking.",
                    ToolCallPart("call_1", "get_weather", '{"city":"Paris"}'),
                ),
                user(ToolResultPart("call_1", "18C"), "Thanks", ImagePart(url="https://x/y.png")),
            ),
            tools=(ToolDef("get_weather", "Look it up.", WEATHER),),
            tool_choice="get_weather",
            max_tokens=100,
            temperature=0.5,
            top_p=0.9,
            stop=("END",),
            stream=True,
            user="u-1",
            reasoning_effort="medium",
        ),
        {
            "model": "gpt-5",
            "instructions": "Be brief.\n\nNo emoji.",
            "input": [
                msg(
                    "user",
                    [
                        {"type": "input_text", "text": "Look"},
                        {
                            "type": "input_image",
                            "image_url": "data:image/png;base64,AAAA",
                            "detail": "auto",
                        },
                    ],
                ),
                msg("assistant", "Checking."),
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "get_weather",
                    "arguments": '{"city":"Paris"}',
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
                msg(
                    "user",
                    [
                        {"type": "input_text", "text": "Thanks"},
                        {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
                    ],
                ),
            ],
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Look it up.",
                    "parameters": WEATHER,
                    "strict": False,
                }
            ],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "max_output_tokens": 100,
            "temperature": 0.5,
            "top_p": 0.9,
            "reasoning": {"effort": "medium"},
            "stream": True,
            "user": "u-1",
        },
        id="full",
    ),
    pytest.param(
        ChatRequest(model="gpt-5", messages=(user("Hi"),), tool_choice="auto"),
        {
            "model": "gpt-5",
            "input": [msg("user", [{"type": "input_text", "text": "Hi"}])],
            "tool_choice": "auto",
        },
        id="minimal",
    ),
]


@pytest.mark.parametrize(("request_", "expected"), RENDER_CASES)
def test_render_request(request_: ChatRequest, expected: dict[str, Any]) -> None:
    body = DIALECT.render_request(request_)
    assert body == expected
    CREATE_PARAMS.validate_python({k: v for k, v in body.items() if k != "stream"})


def test_render_then_parse_request_round_trips() -> None:
    original = ChatRequest(
        model="gpt-5",
        system=(TextPart("Be brief."),),
        messages=(
            user("Weather?", ImagePart(media_type="image/jpeg", data="/9j/")),
            assistant("Checking.", ToolCallPart("c1", "get_weather", '{"city":"Paris"}')),
            user(ToolResultPart("c1", "18C")),
        ),
        tools=(ToolDef("get_weather", "Look it up.", WEATHER),),
        tool_choice="required",
        max_tokens=64,
        temperature=0.0,
        stream=True,
        stream_usage=True,
        reasoning_effort="low",
    )
    assert DIALECT.parse_request(DIALECT.render_request(original)) == original


# -- whole responses -------------------------------------------------------------------------


def response_body(output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "resp_123",
        "object": "response",
        "created_at": 1_700_000_000,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "model": "gpt-5-2025-08-07",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 1200,
            "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 256},
            "total_tokens": 1500,
        },
        **extra,
    }


TEXT_ITEM = {
    "id": "msg_1",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hello.", "annotations": []}],
}
CALL_ITEM = {
    "id": "fc_1",
    "type": "function_call",
    "status": "completed",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city":"Paris"}',
}
REASONING_ITEM = {
    "id": "rs_1",
    "type": "reasoning",
    "summary": [{"type": "summary_text", "text": "Plan."}],
}
CACHED_USAGE = Usage(
    input_tokens=176, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=256
)

PARSE_RESPONSE_CASES = [
    pytest.param(
        response_body([REASONING_ITEM, TEXT_ITEM]),
        ChatResponse(
            "resp_123",
            "gpt-5-2025-08-07",
            (ThinkingPart("Plan."), TextPart("Hello.")),
            "end_turn",
            CACHED_USAGE,
        ),
        id="text-with-reasoning-and-cache",
    ),
    pytest.param(
        response_body([TEXT_ITEM, CALL_ITEM]),
        ChatResponse(
            "resp_123",
            "gpt-5-2025-08-07",
            (TextPart("Hello."), ToolCallPart("call_1", "get_weather", '{"city":"Paris"}')),
            "tool_use",
            CACHED_USAGE,
        ),
        id="function-call-is-tool-use",
    ),
    pytest.param(
        response_body(
            [{"id": "rs_2", "type": "reasoning", "summary": []}, TEXT_ITEM],
            status="incomplete",
            incomplete_details={"reason": "max_output_tokens"},
        ),
        ChatResponse(
            "resp_123", "gpt-5-2025-08-07", (TextPart("Hello."),), "max_tokens", CACHED_USAGE
        ),
        id="incomplete-is-max-tokens",
    ),
    pytest.param(
        response_body([], status="incomplete", incomplete_details={"reason": "content_filter"}),
        ChatResponse("resp_123", "gpt-5-2025-08-07", (), "refusal", CACHED_USAGE),
        id="content-filter-is-refusal",
    ),
    pytest.param(
        response_body([{**TEXT_ITEM, "content": [{"type": "refusal", "refusal": "I can't."}]}]),
        ChatResponse(
            "resp_123", "gpt-5-2025-08-07", (TextPart("I can't."),), "refusal", CACHED_USAGE
        ),
        id="refusal-part",
    ),
    pytest.param(
        response_body(
            [TEXT_ITEM],
            usage={
                "input_tokens": 5000,
                "output_tokens": 10,
                "total_tokens": 5010,
                "input_tokens_details": {"cached_tokens": 3000, "cache_write_tokens": 1500},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        ),
        ChatResponse(
            "resp_123",
            "gpt-5-2025-08-07",
            (TextPart("Hello."),),
            "end_turn",
            Usage(500, 10, 3000, 1500),
        ),
        id="cache-writes-are-not-input",
    ),
]


@pytest.mark.parametrize(("body", "expected"), PARSE_RESPONSE_CASES)
def test_parse_response(body: dict[str, Any], expected: ChatResponse) -> None:
    Response.model_validate(body)  # the fixtures are real Responses answers
    assert DIALECT.parse_response(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"object": "chat.completion", "choices": []}, id="chat-completion"),
        pytest.param({"error": {"message": "boom"}, "object": "error"}, id="error-envelope"),
        pytest.param({"id": "resp_1", "object": "response"}, id="no-output"),
        pytest.param([], id="not-an-object"),
    ],
)
def test_parse_response_rejects_other_bodies(body: Any) -> None:
    with pytest.raises(ValueError, match="not an OpenAI Responses answer"):
        DIALECT.parse_response(body)


RENDER_RESPONSE_CASES = [
    pytest.param(
        ChatResponse(
            "msg_01",
            "claude-x",
            (ThinkingPart("Plan."), TextPart("Hi.")),
            "end_turn",
            Usage(10, 20, 1000, 200, 5),
        ),
        "completed",
        None,
        {
            "input_tokens": 1210,
            "input_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 200},
            "output_tokens": 20,
            "output_tokens_details": {"reasoning_tokens": 5},
            "total_tokens": 1230,
        },
        id="text-usage-with-cache-writes",
    ),
    pytest.param(
        ChatResponse(
            "resp_abc", "gpt-5", (ToolCallPart("c1", "f", "{}"),), "tool_use", Usage(3, 4)
        ),
        "completed",
        None,
        {
            "input_tokens": 3,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 4,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 7,
        },
        id="tool-call",
    ),
    pytest.param(
        ChatResponse("x", "m", (TextPart("Hel"),), "max_tokens", Usage(1, 2)),
        "incomplete",
        {"reason": "max_output_tokens"},
        None,
        id="max-tokens-is-incomplete",
    ),
    pytest.param(
        ChatResponse("x", "m", (), "refusal", Usage(1, 2)),
        "incomplete",
        {"reason": "content_filter"},
        None,
        id="refusal-is-content-filter",
    ),
    pytest.param(
        ChatResponse("x", "m", (), "error", Usage(1, 0)),
        "failed",
        None,
        None,
        id="error-is-failed",
    ),
]


@pytest.mark.parametrize(("response", "status", "incomplete", "usage"), RENDER_RESPONSE_CASES)
def test_render_response(
    response: ChatResponse, status: str, incomplete: Any, usage: dict[str, Any] | None
) -> None:
    body = DIALECT.render_response(response)
    Response.model_validate(body)
    assert body["object"] == "response" and body["id"].startswith("resp_")
    assert (body["status"], body["incomplete_details"]) == (status, incomplete)
    assert "output_text" not in body
    if usage is not None:
        assert body["usage"] == usage
    back = DIALECT.parse_response(body)
    assert dataclasses.replace(back, id=response.id) == response


def test_render_response_item_shapes() -> None:
    response = ChatResponse(
        "resp_keep",
        "gpt-5",
        (ThinkingPart("Plan."), TextPart("Hi."), ToolCallPart("call_9", "f", '{"a":1}')),
        "tool_use",
    )
    body = DIALECT.render_response(response)
    reasoning, message, call = body["output"]
    assert body["id"] == "resp_keep"
    assert reasoning["id"].startswith("rs_") and reasoning["summary"] == [
        {"type": "summary_text", "text": "Plan."}
    ]
    assert message["id"].startswith("msg_")
    assert {k: v for k, v in message.items() if k != "id"} == {
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hi.", "annotations": []}],
    }
    assert call["id"].startswith("fc_")
    assert {k: v for k, v in call.items() if k != "id"} == {
        "type": "function_call",
        "status": "completed",
        "call_id": "call_9",
        "name": "f",
        "arguments": '{"a":1}',
    }


# -- errors ----------------------------------------------------------------------------------

ERROR_CASES = [
    pytest.param(
        400,
        "invalid_request",
        "tools[1].type: 'web_search' is not supported",
        "invalid_request_error",
        "tools[1].type",
        id="bad-request-names-param",
    ),
    pytest.param(401, "auth_required", "no key", "authentication_error", None, id="auth"),
    pytest.param(429, "saturated", "busy", "rate_limit_error", None, id="rate-limit"),
    pytest.param(502, "provider_error", "upstream: x", "server_error", None, id="upstream"),
]


@pytest.mark.parametrize(("status", "code", "message", "kind", "param"), ERROR_CASES)
def test_render_error(status: int, code: str, message: str, kind: str, param: str | None) -> None:
    assert DIALECT.render_error(status, code, message) == {
        "error": {"message": message, "type": kind, "param": param, "code": code}
    }


# -- stream decoding -------------------------------------------------------------------------


def sse(*payloads: dict[str, Any]) -> bytes:
    """Events as OpenAI writes them: `event:` then `data:`, sequence numbers from 0."""
    out = b""
    for n, payload in enumerate(payloads):
        data = json.dumps({"type": payload["type"], "sequence_number": n, **payload})
        out += f"event: {payload['type']}\ndata: {data}\n\n".encode()
    return out


SHELL = {
    "id": "resp_abc",
    "object": "response",
    "created_at": 1,
    "model": "gpt-5-mini",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}
FINAL_USAGE = {
    "input_tokens": 1200,
    "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
    "output_tokens": 80,
    "output_tokens_details": {"reasoning_tokens": 48},
    "total_tokens": 1280,
}
WHERE_RS = {"item_id": "rs_1", "output_index": 0, "summary_index": 0}
WHERE_MSG = {"item_id": "msg_1", "output_index": 1, "content_index": 0}
WHERE_FC = {"item_id": "fc_1", "output_index": 2}
CAPTURED = sse(
    {"type": "response.created", "response": {**SHELL, "status": "in_progress", "usage": None}},
    {"type": "response.in_progress", "response": {**SHELL, "status": "in_progress"}},
    {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": {"id": "rs_1", "type": "reasoning", "summary": []},
    },
    {
        "type": "response.reasoning_summary_part.added",
        **WHERE_RS,
        "part": {"type": "summary_text", "text": ""},
    },
    {"type": "response.reasoning_summary_text.delta", **WHERE_RS, "delta": "Thinking about"},
    {"type": "response.reasoning_summary_text.delta", **WHERE_RS, "delta": " weather"},
    {"type": "response.reasoning_summary_text.done", **WHERE_RS, "text": "Thinking about weather"},
    {
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {
            "id": "rs_1",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Thinking about weather"}],
        },
    },
    {
        "type": "response.output_item.added",
        "output_index": 1,
        "item": {
            "id": "msg_1",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        },
    },
    {
        "type": "response.content_part.added",
        **WHERE_MSG,
        "part": {"type": "output_text", "text": "", "annotations": []},
    },
    {"type": "response.output_text.delta", **WHERE_MSG, "delta": "Let me", "logprobs": []},
    {"type": "response.output_text.delta", **WHERE_MSG, "delta": " check.", "logprobs": []},
    {"type": "response.output_text.done", **WHERE_MSG, "text": "Let me check.", "logprobs": []},
    {
        "type": "response.content_part.done",
        **WHERE_MSG,
        "part": {"type": "output_text", "text": "Let me check.", "annotations": []},
    },
    {
        "type": "response.output_item.done",
        "output_index": 1,
        "item": {
            **TEXT_ITEM,
            "id": "msg_1",
            "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}],
        },
    },
    {
        "type": "response.output_item.added",
        "output_index": 2,
        "item": {**CALL_ITEM, "status": "in_progress", "arguments": "", "call_id": "call_XYZ"},
    },
    {"type": "response.function_call_arguments.delta", **WHERE_FC, "delta": '{"city":'},
    {"type": "response.function_call_arguments.delta", **WHERE_FC, "delta": '"Paris"}'},
    {"type": "response.function_call_arguments.done", **WHERE_FC, "arguments": '{"city":"Paris"}'},
    {
        "type": "response.output_item.done",
        "output_index": 2,
        "item": {**CALL_ITEM, "call_id": "call_XYZ"},
    },
    {
        "type": "response.completed",
        "response": {
            **SHELL,
            "status": "completed",
            "usage": FINAL_USAGE,
            "output": [REASONING_ITEM, TEXT_ITEM, {**CALL_ITEM, "call_id": "call_XYZ"}],
        },
    },
)


def test_captured_stream_fixture_is_valid() -> None:
    for _, data in frames(CAPTURED):
        STREAM_EVENT.validate_python(json.loads(data))


def test_decode_captured_stream() -> None:
    assert decode_stream(DIALECT, CAPTURED) == [
        MessageStart("resp_abc", "gpt-5-mini"),
        ThinkingDelta(0, "Thinking about"),
        ThinkingDelta(0, " weather"),
        TextDelta(1, "Let me"),
        TextDelta(1, " check."),
        ToolCallStart(2, "call_XYZ", "get_weather"),
        ToolCallDelta(2, '{"city":'),
        ToolCallDelta(2, '"Paris"}'),
        MessageEnd(
            "tool_use",
            Usage(input_tokens=176, output_tokens=80, cache_read_tokens=1024, reasoning_tokens=48),
        ),
    ]


DECODE_END_CASES = [
    pytest.param(
        {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
        "max_tokens",
        id="incomplete",
    ),
    pytest.param(
        {"status": "failed", "error": {"code": "server_error", "message": "x"}},
        "error",
        id="failed",
    ),
    pytest.param({"status": "completed"}, "end_turn", id="completed"),
]


@pytest.mark.parametrize(("final", "stop"), DECODE_END_CASES)
def test_decode_final_event_sets_stop_reason(final: dict[str, Any], stop: StopReason) -> None:
    kind = {"incomplete": "response.incomplete", "failed": "response.failed"}.get(
        final["status"], "response.completed"
    )
    raw = sse(
        {"type": "response.created", "response": {**SHELL, "status": "in_progress"}},
        {
            "type": "response.output_text.delta",
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "delta": "Hi",
            "logprobs": [],
        },
        {"type": kind, "response": {**SHELL, **final, "usage": FINAL_USAGE}},
    )
    events = decode_stream(DIALECT, raw)
    assert events[1:] == [TextDelta(0, "Hi"), MessageEnd(stop, Usage(176, 80, 1024, 0, 48))]


def test_decode_fills_items_sent_whole() -> None:
    raw = sse(
        {"type": "response.created", "response": {**SHELL, "status": "in_progress"}},
        {"type": "response.output_item.done", "output_index": 0, "item": TEXT_ITEM},
        {
            "type": "response.completed",
            "response": {**SHELL, "status": "completed", "output": [TEXT_ITEM, CALL_ITEM]},
        },
    )
    assert decode_stream(DIALECT, raw) == [
        MessageStart("resp_abc", "gpt-5-mini"),
        TextDelta(0, "Hello."),
        ToolCallStart(1, "call_1", "get_weather"),
        ToolCallDelta(1, '{"city":"Paris"}'),
        MessageEnd("tool_use", Usage()),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            sse(
                {"type": "response.created", "response": SHELL},
                {
                    "type": "error",
                    "code": "rate_limit_exceeded",
                    "message": "slow down",
                    "param": None,
                },
            ),
            "rate_limit_exceeded",
            id="error-event",
        ),
        pytest.param(
            sse(
                {"type": "response.created", "response": SHELL},
                {
                    "type": "response.output_text.delta",
                    "item_id": "m",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": "Hi",
                    "logprobs": [],
                },
            ),
            "ended before response.completed",
            id="truncated",
        ),
        pytest.param(b"event: response.created\ndata: {oops\n\n", "not JSON", id="garbage"),
    ],
)
def test_decode_failures_raise(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_stream(DIALECT, raw)


# -- stream encoding -------------------------------------------------------------------------

REQUEST = ChatRequest(
    model="claude-x",
    messages=(user("Weather?"),),
    tools=(ToolDef("get_weather", "", WEATHER),),
    stream=True,
    max_tokens=200,
)
EVENTS: list[StreamEvent] = [
    MessageStart(
        "msg_01", "claude-x", Usage(input_tokens=10, cache_read_tokens=1000, cache_write_tokens=200)
    ),
    ThinkingDelta(0, "Hmm"),
    TextDelta(1, "Hel"),
    TextDelta(1, "lo"),
    ToolCallStart(2, "toolu_1", "get_weather"),
    ToolCallDelta(2, '{"city"'),
    ToolCallDelta(2, ':"Paris"}'),
    MessageEnd("tool_use", Usage(10, 50, 1000, 200, 0)),
]
EXPECTED_TYPES = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_summary_part.done",
    "response.output_item.done",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
]


def encode(events: list[StreamEvent], request: ChatRequest = REQUEST) -> bytes:
    encoder = DIALECT.stream_encoder(request)
    return b"".join(encoder.encode(e) for e in events) + encoder.close()


def test_encode_event_sequence_is_valid_and_numbered() -> None:
    sent = frames(encode(EVENTS))
    payloads = [json.loads(data) for _, data in sent]
    assert [p["type"] for p in payloads] == EXPECTED_TYPES
    assert [name for name, _ in sent] == EXPECTED_TYPES
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    for payload in payloads:
        STREAM_EVENT.validate_python(payload)


def test_encode_done_events_and_final_response_carry_everything() -> None:
    payloads: dict[str, dict[str, Any]] = {}
    for _, data in frames(encode(EVENTS)):
        payload = json.loads(data)
        payloads.setdefault(payload["type"], payload)
    assert payloads["response.output_text.done"]["text"] == "Hello"
    assert payloads["response.reasoning_summary_text.done"]["text"] == "Hmm"
    assert payloads["response.function_call_arguments.done"]["arguments"] == '{"city":"Paris"}'
    final = Response.model_validate(payloads["response.completed"]["response"])
    assert final.status == "completed" and final.model == "claude-x"
    assert final.output_text == "Hello"
    assert final.max_output_tokens == 200
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.usage is not None
    assert final.usage.input_tokens == 1210
    assert final.usage.input_tokens_details.cached_tokens == 1000
    assert final.usage.input_tokens_details.cache_write_tokens == 200
    assert final.usage.total_tokens == 1260
    assert payloads["response.created"]["response"]["id"] == final.id


def test_encode_then_decode_round_trips() -> None:
    decoded = decode_stream(DIALECT, encode(EVENTS))
    start = decoded[0]
    assert isinstance(start, MessageStart) and start.model == "claude-x"
    assert start.id.startswith("resp_") and start.usage == Usage()
    assert decoded[1:] == EVENTS[1:]


def test_encode_keeps_cache_counts_from_the_start() -> None:
    events: list[StreamEvent] = [
        EVENTS[0],
        TextDelta(0, "Hi"),
        MessageEnd("end_turn", Usage(output_tokens=3)),
    ]
    assert decode_stream(DIALECT, encode(events))[-1] == MessageEnd(
        "end_turn", Usage(10, 3, 1000, 200)
    )


@pytest.mark.parametrize(
    ("stop", "final_type", "item_status"),
    [
        pytest.param("end_turn", "response.completed", "completed", id="end-turn"),
        pytest.param("stop_sequence", "response.completed", "completed", id="stop-sequence"),
        pytest.param("max_tokens", "response.incomplete", "incomplete", id="max-tokens"),
        pytest.param("refusal", "response.incomplete", "incomplete", id="refusal"),
        pytest.param("error", "response.failed", "incomplete", id="error"),
    ],
)
def test_encode_final_event_follows_stop_reason(
    stop: StopReason, final_type: str, item_status: str
) -> None:
    sent = frames(
        encode([MessageStart("x", "m"), TextDelta(0, "Hi"), MessageEnd(stop, Usage(1, 1))])
    )
    payloads = [json.loads(data) for _, data in sent]
    for payload in payloads:
        STREAM_EVENT.validate_python(payload)
    assert payloads[-1]["type"] == final_type
    assert payloads[-2]["item"]["status"] == item_status
    expected: StopReason = "end_turn" if stop == "stop_sequence" else stop
    assert decode_stream(DIALECT, encode([MessageStart("x", "m"), MessageEnd(stop, Usage(1, 1))]))[
        -1
    ] == MessageEnd(expected, Usage(1, 1))


def test_encode_starts_even_without_message_start() -> None:
    payloads = [json.loads(d) for _, d in frames(encode([TextDelta(0, "Hi")]))]
    assert [p["type"] for p in payloads][:3] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
    ]


def test_encode_error_is_an_error_event_and_ends_the_stream() -> None:
    encoder = DIALECT.stream_encoder(REQUEST)
    encoder.encode(EVENTS[0])
    raw = encoder.error(502, "provider_error", "upstream failed")
    ((name, data),) = frames(raw)
    assert name == "error"
    assert json.loads(data) == {
        "type": "error",
        "code": "provider_error",
        "message": "upstream failed",
        "param": None,
        "sequence_number": 2,
    }
    STREAM_EVENT.validate_python(json.loads(data))
    assert encoder.encode(TextDelta(0, "late")) == b""


def test_encode_rejects_arguments_for_an_unknown_call() -> None:
    encoder = DIALECT.stream_encoder(REQUEST)
    with pytest.raises(ValueError, match="before its start"):
        encoder.encode(ToolCallDelta(3, "{}"))


USAGE_CASES = [
    pytest.param(None, Usage(), id="no-usage"),
    pytest.param(
        {"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}, Usage(7, 2), id="no-details"
    ),
    pytest.param(
        {
            "input_tokens": 300,
            "output_tokens": 2,
            "input_tokens_details": {"cached_tokens": 100, "cache_creation_input_tokens": 50},
        },
        Usage(150, 2, 100, 50),
        id="cache-writes-from-another-gateway",
    ),
]


@pytest.mark.parametrize(("usage", "expected"), USAGE_CASES)
def test_parse_usage_variants(usage: Any, expected: Usage) -> None:
    body = {"id": "resp_1", "object": "response", "model": "m", "output": [], "usage": usage}
    assert DIALECT.parse_response(body).usage == expected
