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
)
from .sse import AnswerFacts, JsonObject, StreamAnswer, split_text, sse_event

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
    return AnswerFacts(len(messages), _last_user_text(messages))


def _last_user_text(messages: list[JsonObject]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        for part in reversed(content or []):
            if isinstance(part, dict) and part.get("type") == "text":
                return str(part.get("text", ""))
    return ""


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


def json_answer(body: JsonObject, text: str, model: str) -> JsonObject:
    """A complete chat.completion."""
    envelope = _envelope(model, "chatcmpl-fake" + uuid.uuid4().hex[:20], "chat.completion")
    message = {"role": "assistant", "content": text, "refusal": None}
    choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
    return {**envelope, "choices": [choice], "usage": usage()}


def stream_answer(body: JsonObject, text: str, model: str) -> StreamAnswer:
    """Role chunk, content chunks, a finish chunk, the usage chunk if asked for, [DONE]."""
    envelope = _envelope(model, "chatcmpl-fake" + uuid.uuid4().hex[:20], "chat.completion.chunk")

    def chunk(delta: JsonObject, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return sse_event({**envelope, "choices": [choice]})

    frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
    first_delta = len(frames)
    frames += [chunk({"content": piece}) for piece in split_text(text)]
    frames.append(chunk({}, "stop"))
    # The real API sends usage only on request, in an extra chunk with no choices.
    if (body.get("stream_options") or {}).get("include_usage"):
        frames.append(sse_event({**envelope, "choices": [], "usage": usage()}))
    frames.append(DONE_FRAME)
    return StreamAnswer(frames, cut_after=first_delta)


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
