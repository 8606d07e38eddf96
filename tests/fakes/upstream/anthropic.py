"""Anthropic Messages: POST /v1/messages answers (JSON and SSE) and errors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Final

from .script import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    ToolCall,
)
from .sse import (
    AnswerFacts,
    JsonObject,
    StreamAnswer,
    dumps,
    last_user_text,
    split_json,
    split_text,
    sse_event,
)

name = "anthropic"

ERROR_TYPES: Final[Mapping[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
# Claude Code wraps the user's text with reminder blocks; they are not what the user typed.
_INJECTED_PREFIXES = ("<system-reminder>",)


def usage() -> JsonObject:
    """Final usage of every answer: input excludes both cache counts, as Anthropic reports."""
    return {
        "input_tokens": ANTHROPIC_INPUT_TOKENS,
        "cache_creation_input_tokens": ANTHROPIC_CACHE_CREATION_TOKENS,
        "cache_read_input_tokens": ANTHROPIC_CACHE_READ_TOKENS,
        "cache_creation": {
            "ephemeral_5m_input_tokens": ANTHROPIC_CACHE_CREATION_TOKENS,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": ANTHROPIC_OUTPUT_TOKENS,
        "service_tier": "standard",
    }


def facts(body: JsonObject) -> AnswerFacts:
    """Message count and the last user text (Claude Code's injected reminders skipped)."""
    messages = body.get("messages") or []
    return AnswerFacts(len(messages), last_user_text(messages, injected=_INJECTED_PREFIXES))


def wanted_schema(body: JsonObject) -> JsonObject | None:
    """The schema of a structured-output request (GA output_config or the beta output_format)."""
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format") or {}
    return fmt.get("schema") if fmt.get("type") == "json_schema" else None


def _message_shell(model: str) -> JsonObject:
    return {
        "id": "msg_fake_" + uuid.uuid4().hex[:20],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }


def _content(text: str, call: ToolCall | None) -> list[JsonObject]:
    blocks: list[JsonObject] = [{"type": "text", "text": text}] if text or call is None else []
    if call is not None:
        blocks.append(
            {"type": "tool_use", "id": call.call_id, "name": call.name, "input": call.arguments}
        )
    return blocks


def _stop_reason(call: ToolCall | None) -> str:
    return "end_turn" if call is None else "tool_use"


def json_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> JsonObject:
    """A complete non-streaming Message; with `call`, a tool_use block after any text."""
    return {
        **_message_shell(model),
        "content": _content(text, call),
        "stop_reason": _stop_reason(call),
        "usage": usage(),
    }


def _block_frames(index: int, block: JsonObject) -> list[bytes]:
    """content_block_start, the deltas that fill the block, content_block_stop."""
    if block["type"] == "tool_use":
        opening = {**block, "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": piece}
            for piece in split_json(dumps(block["input"]))
        ]
    else:
        opening = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in split_text(block["text"])]
    start = {"type": "content_block_start", "index": index, "content_block": opening}
    return [
        sse_event(start, "content_block_start"),
        *(
            sse_event(
                {"type": "content_block_delta", "index": index, "delta": delta},
                "content_block_delta",
            )
            for delta in deltas
        ),
        sse_event({"type": "content_block_stop", "index": index}, "content_block_stop"),
    ]


def stream_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> StreamAnswer:
    """The SSE events of a streamed Message, with usage split as the real API does."""
    final = usage()
    # message_start already carries the input side and the cache fields; output so far is 1.
    start_usage = {**final, "output_tokens": 1}
    frames = [
        sse_event(
            {"type": "message_start", "message": {**_message_shell(model), "usage": start_usage}},
            "message_start",
        ),
    ]
    for index, block in enumerate(_content(text, call)):
        frames += _block_frames(index, block)
    # The real API pings once, right after the first content_block_start; the first delta
    # comes next.
    frames.insert(2, sse_event({"type": "ping"}, "ping"))
    first_delta = 3
    # message_delta usage is cumulative: the input and cache counts repeat, output is final.
    delta_usage = {
        key: final[key]
        for key in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        )
    }
    frames += [
        sse_event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(call), "stop_sequence": None},
                "usage": delta_usage,
            },
            "message_delta",
        ),
        sse_event({"type": "message_stop"}, "message_stop"),
    ]
    # message_delta says how the answer finished (and its usage); message_stop follows.
    return StreamAnswer(frames, cut_after=first_delta, finish_at=len(frames) - 2)


def malformed_json() -> bytes:
    """A Message body cut inside a string."""
    return b'{"id":"msg_fake","type":"message","content":[{"type":"text","text":"broken'


def malformed_stream() -> list[bytes]:
    """A valid message_start, then events whose data is not JSON."""
    start = {
        "type": "message_start",
        "message": {**_message_shell("claude-fake"), "usage": usage()},
    }
    return [
        sse_event(start, "message_start"),
        sse_event(
            '{"type":"content_block_start","index":0,"content_block":{', "content_block_start"
        ),
        sse_event('{"type":"content_block_delta",,,"index":0', "content_block_delta"),
        sse_event("not json at all", "message_delta"),
        sse_event('{"type":"message_stop"', "message_stop"),
    ]


def error(status: int, message: str) -> tuple[JsonObject, dict[str, str]]:
    """The Anthropic error envelope and the request-id header real errors carry."""
    error_type = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    body = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": "req_fake",
    }
    return body, {"request-id": "req_fake"}


def key_refused() -> tuple[int, JsonObject]:
    """What api.anthropic.com answers a key it does not know: 401 `authentication_error`."""
    error = {"type": "authentication_error", "message": "invalid x-api-key"}
    return 401, {"type": "error", "error": error, "request_id": "req_fake"}


def count_tokens_answer(input_tokens: int) -> JsonObject:
    """POST /v1/messages/count_tokens."""
    return {"input_tokens": input_tokens}


DEFAULT_MODEL_IDS = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5")


def models_list(
    ids: Sequence[str] | None = None, *, after_id: str | None = None, limit: int | None = None
) -> JsonObject:
    """GET /v1/models as Anthropic answers it: a page of model objects after `after_id`, at
    most `limit` of them, with `has_more` and `last_id` for the next page."""
    listed = list(DEFAULT_MODEL_IDS if ids is None else ids)
    start = listed.index(after_id) + 1 if after_id in listed else 0
    end = len(listed) if limit is None else start + limit
    data = [
        {
            "type": "model",
            "id": m,
            "display_name": f"{m} (fake)",
            "created_at": "2025-01-01T00:00:00Z",
        }
        for m in listed[start:end]
    ]
    return {
        "data": data,
        "has_more": end < len(listed),
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
