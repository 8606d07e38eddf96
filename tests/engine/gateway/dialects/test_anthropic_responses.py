"""The Anthropic Messages dialect's answers, both directions: a message parsed to the neutral
answer (its blocks, stop reason and usage) and rendered back as one the SDK accepts, a body that
is no answer refused, and the error envelope the gateway answers with."""

from __future__ import annotations

from typing import Any

import anthropic.types as at
import pytest
from anthropic.types.shared import ErrorResponse

from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.ir import ChatResponse, TextPart, ThinkingPart, ToolCallPart
from llmgw_desktop.engine.tokens.usage import Usage

DIALECT: Dialect = AnthropicDialect()


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


# -- errors ----------------------------------------------------------------------------------

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
