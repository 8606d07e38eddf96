"""OpenAI Chat Completions: POST /v1/chat/completions answers (JSON and unnamed SSE chunks)."""

from __future__ import annotations

import time
import uuid

from .openai_common import error
from .script import (
    OPENAI_CACHED_TOKENS,
    OPENAI_OUTPUT_TOKENS,
    OPENAI_PROMPT_TOKENS,
    OPENAI_REASONING_TOKENS,
    ToolCall,
)
from .sse import (
    AnswerFacts,
    JsonObject,
    StreamAnswer,
    last_user_text,
    split_json,
    split_text,
    sse_event,
)

name = "chat"

DONE_FRAME = sse_event("[DONE]")


def usage() -> JsonObject:
    """Usage of every answer: cached tokens inside prompt, reasoning inside completion."""
    return {
        "prompt_tokens": OPENAI_PROMPT_TOKENS,
        "completion_tokens": OPENAI_OUTPUT_TOKENS,
        "total_tokens": OPENAI_PROMPT_TOKENS + OPENAI_OUTPUT_TOKENS,
        "prompt_tokens_details": {"cached_tokens": OPENAI_CACHED_TOKENS, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": OPENAI_REASONING_TOKENS,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def facts(body: JsonObject) -> AnswerFacts:
    """Message count (system messages included) and the last user text."""
    messages = body.get("messages") or []
    return AnswerFacts(len(messages), last_user_text(messages))


def wanted_schema(body: JsonObject) -> JsonObject | None:
    """The schema of a structured-output request (response_format json_schema / json_object)."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        return {"type": "object"}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
    return None


def _envelope(model: str, completion_id: str, obj: str) -> JsonObject:
    return {
        "id": completion_id,
        "object": obj,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
    }


def _tool_call(call: ToolCall) -> JsonObject:
    function = {"name": call.name, "arguments": call.arguments_json}
    return {"id": call.call_id, "type": "function", "function": function}


def json_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> JsonObject:
    """A complete chat.completion; with `call`, one entry in message.tool_calls."""
    envelope = _envelope(model, "chatcmpl-fake" + uuid.uuid4().hex[:20], "chat.completion")
    message: JsonObject = {"role": "assistant", "content": text, "refusal": None}
    finish_reason = "stop"
    if call is not None:
        # The real API sends null, not "", when a tool call comes without text.
        message["content"] = text or None
        message["tool_calls"] = [_tool_call(call)]
        finish_reason = "tool_calls"
    choice = {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
    return {**envelope, "choices": [choice], "usage": usage()}


def _tool_call_deltas(call: ToolCall) -> list[JsonObject]:
    """The opening delta (index, id, type, name, empty arguments), then argument fragments."""
    opening = {
        "index": 0,
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
    deltas: list[JsonObject] = [{"tool_calls": [opening]}]
    deltas += [
        {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        for piece in split_json(call.arguments_json)
    ]
    return deltas


def stream_answer(
    body: JsonObject, text: str, model: str, call: ToolCall | None = None
) -> StreamAnswer:
    """Role, content and tool-call chunks, a finish chunk, the usage chunk if asked, [DONE]."""
    envelope = _envelope(model, "chatcmpl-fake" + uuid.uuid4().hex[:20], "chat.completion.chunk")

    def chunk(delta: JsonObject, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return sse_event({**envelope, "choices": [choice]})

    # Without text the real API opens with content null, as in the JSON answer.
    opening_content = "" if text or call is None else None
    frames = [chunk({"role": "assistant", "content": opening_content, "refusal": None})]
    first_delta = len(frames)
    if text or call is None:
        frames += [chunk({"content": piece}) for piece in split_text(text)]
    if call is not None:
        frames += [chunk(delta) for delta in _tool_call_deltas(call)]
    finish_at = len(frames)
    frames.append(chunk({}, "stop" if call is None else "tool_calls"))
    # The real API sends usage only on request, in an extra chunk with no choices.
    if (body.get("stream_options") or {}).get("include_usage"):
        frames.append(sse_event({**envelope, "choices": [], "usage": usage()}))
    frames.append(DONE_FRAME)
    return StreamAnswer(frames, cut_after=first_delta, finish_at=finish_at)


def malformed_json() -> bytes:
    """A chat.completion body that stops inside the choices array."""
    return b'{"id":"chatcmpl-fake","object":"chat.completion","choices":[{'


def malformed_stream() -> list[bytes]:
    """A chunk cut inside a string, a line that is not JSON, then [DONE]."""
    return [
        b'data: {"id":"chatcmpl-fake","object":"chat.completion.chunk",'
        b'"choices":[{"delta":{"content":"bro\n\n',
        sse_event("not json"),
        DONE_FRAME,
    ]


__all__ = [
    "error",
    "facts",
    "json_answer",
    "malformed_json",
    "malformed_stream",
    "name",
    "stream_answer",
    "wanted_schema",
]
