"""Text completion answers (fill in the middle) in each provider's own wire, whole and streamed,
for the scripted upstream: OpenAI's `/v1/completions` (also DeepSeek's and compatible
servers'), Mistral Codestral's `/v1/fim/completions` (the Chat Completions shape), and
Ollama's `/api/generate` (newline-delimited JSON)."""

from __future__ import annotations

import json
from typing import Any

JsonObject = dict[str, Any]

FIM_PROMPT_TOKENS = 11
FIM_OUTPUT_TOKENS = 3


def fim_text(body: JsonObject, text: str) -> str:
    """The fake's completion: `text`, and what the suffix was, so a test sees it arrived."""
    suffix = body.get("suffix")
    return text if suffix is None else f"{text}|{suffix}"


def halves(text: str) -> tuple[str, str]:
    middle = max(1, len(text) // 2)
    return text[:middle], text[middle:]


def openai_whole(body: JsonObject, text: str) -> JsonObject:
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": 1,
        "model": body.get("model"),
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": _usage(),
    }


def mistral_whole(body: JsonObject, text: str) -> JsonObject:
    return {
        "id": "fim-fake",
        "object": "chat.completion",
        "created": 1,
        "model": body.get("model"),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": _usage(),
    }


def ollama_whole(body: JsonObject, text: str) -> JsonObject:
    return {
        "model": body.get("model"),
        "created_at": "2026-11-26T00:00:00Z",
        "response": text,
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": FIM_PROMPT_TOKENS,
        "eval_count": FIM_OUTPUT_TOKENS,
    }


def stream_events(wire: str, body: JsonObject, part: str, *, last: bool) -> list[bytes]:
    """The frames of one part of a stream (`last`: with the finish, the usage and the end)."""
    if wire == "ollama":
        line: JsonObject = {"model": body.get("model"), "response": part, "done": False}
        out = [json.dumps(line).encode() + b"\n"]
        if last:
            end = ollama_whole(body, "")
            out.append(json.dumps(end).encode() + b"\n")
        return out
    if wire == "mistral":
        choice: JsonObject = {"index": 0, "delta": {"content": part}, "finish_reason": None}
        kind = "chat.completion.chunk"
    else:
        choice = {"text": part, "index": 0, "logprobs": None, "finish_reason": None}
        kind = "text_completion"
    chunk = {"id": "fake", "object": kind, "created": 1, "model": body.get("model")}
    out = [_sse({**chunk, "choices": [choice]})]
    if last:
        final = dict(choice)
        final["finish_reason"] = "stop"
        if wire == "mistral":
            final["delta"] = {"content": ""}
        else:
            final["text"] = ""
        out.append(_sse({**chunk, "choices": [final], "usage": _usage()}))
        out.append(b"data: [DONE]\n\n")
    return out


def _usage() -> JsonObject:
    return {
        "prompt_tokens": FIM_PROMPT_TOKENS,
        "completion_tokens": FIM_OUTPUT_TOKENS,
        "total_tokens": FIM_PROMPT_TOKENS + FIM_OUTPUT_TOKENS,
    }


def _sse(data: JsonObject) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"
