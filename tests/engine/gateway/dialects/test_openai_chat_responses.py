"""The OpenAI Chat Completions dialect's answers, both directions: a completion parsed to the
neutral answer (its parts, finish reason and usage), a body that is no completion refused, a
neutral answer rendered as a completion the SDK accepts and that parses back, and the error
envelope the gateway answers with."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion

from llmgw_desktop.engine.gateway.dialects.openai_chat import OpenAIChatDialect
from llmgw_desktop.engine.gateway.dialects.openai_chat.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import ChatResponse, TextPart, ThinkingPart, ToolCallPart
from llmgw_desktop.engine.tokens.usage import Usage

DIALECT = OpenAIChatDialect()


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
    ("raw", "expected"),
    [
        ({"prompt_tokens": 12, "completion_tokens": 2}, Usage(12, 2)),
        (CACHED_USAGE, Usage(86, 300, cache_read_tokens=1920, reasoning_tokens=256)),
        # LiteLLM's Anthropic-style top-level counts, read where the details have none.
        (
            {
                "prompt_tokens": 40,
                "completion_tokens": 1,
                "cache_read_input_tokens": 10,
                "cache_creation_input_tokens": 20,
            },
            Usage(10, 1, cache_read_tokens=10, cache_write_tokens=20),
        ),
        # The details' own counts come first; a top-level one fills only what they lack.
        (
            {
                "prompt_tokens": 40,
                "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 5, "cached_tokens_extra": 1},
                "prompt_cache_hit_tokens": 9,
                "cache_creation_input_tokens": 3,
            },
            Usage(32, 1, cache_read_tokens=5, cache_write_tokens=3),
        ),
        # What compatible servers send instead of a plain count: each read as 0 or truncated.
        (
            {"prompt_tokens": 7.9, "completion_tokens": True, "completion_tokens_details": []},
            Usage(7, 0),
        ),
        ({"prompt_tokens": -3, "completion_tokens": None}, Usage(0, 0)),
        ({"prompt_tokens": "12", "completion_tokens": 2**41}, Usage(0, 0)),
        ({"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 9}}, Usage(0, 0, 9)),
        (None, Usage()),
    ],
)
def test_parse_usage_reads_the_counts_and_their_fallbacks(raw: Any, expected: Usage) -> None:
    assert parse_usage(raw) == expected


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
