"""A finished `chat.completion`: parsed from an upstream, rendered for a client, with the finish
reasons both ways.
"""

from __future__ import annotations

import time
from typing import Any

from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.openai_chat.errors import upstream_error
from llmgw_desktop.engine.gateway.dialects.openai_chat.tools import render_tool_call, tool_arguments
from llmgw_desktop.engine.gateway.dialects.openai_chat.usage import parse_usage, render_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    Part,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
)
from llmgw_desktop.engine.ids import random_hex

__all__ = [
    "finish_reason",
    "parse_response",
    "reasoning_text",
    "render_response",
    "stop_reason",
    "string_or_empty",
]


def string_or_empty(value: Any) -> str:
    """The value if it is a string, else "" (compatible servers send nulls and odd types)."""
    return value if isinstance(value, str) else ""


def reasoning_text(message: dict[str, Any]) -> str:
    """Reasoning text from compatible servers (DeepSeek, vLLM: `reasoning_content`; Ollama,
    OpenRouter, Groq: `reasoning`). OpenAI itself never returns it."""
    return string_or_empty(message.get("reasoning_content") or message.get("reasoning"))


def _content_text(content: Any) -> str:
    """Answer text: a string, or (Mistral and a few others) a list of text chunks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            c["text"]
            for c in content
            if isinstance(c, dict) and c.get("type") == "text" and isinstance(c.get("text"), str)
        )
    return ""


def parse_response(body: Any) -> ChatResponse:
    if not isinstance(body, dict):
        raise UpstreamMalformed("not a chat completion: expected a JSON object")
    if body.get("error"):
        raise UpstreamMalformed(f"upstream returned an error: {upstream_error(body['error'])}")
    if body.get("object", "chat.completion") != "chat.completion":
        raise UpstreamMalformed(f"not a chat completion: object is {body.get('object')!r}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamMalformed("not a chat completion: choices is missing or empty")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise UpstreamMalformed("not a chat completion: choices[0].message is missing")
    parts: list[Part] = []
    if reasoning := reasoning_text(message):
        parts.append(ThinkingPart(reasoning))
    # A structured-output refusal comes in its own field, with finish reason "stop".
    refusal = string_or_empty(message.get("refusal"))
    text = _content_text(message.get("content"))
    if text or refusal:
        parts.append(TextPart(text or refusal))
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise UpstreamMalformed("not a chat completion: a tool call has no function name")
        call_id = call.get("id") or f"call_{random_hex()[:24]}"
        parts.append(
            ToolCallPart(call_id, function["name"], tool_arguments(function.get("arguments")))
        )
    finish = choices[0].get("finish_reason")
    saw_tool_call = any(isinstance(p, ToolCallPart) for p in parts)
    stop = stop_reason(finish, saw_tool_call=saw_tool_call)
    if refusal and not text and not saw_tool_call:
        stop = "refusal"
    return ChatResponse(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        parts=tuple(parts),
        stop_reason=stop,
        usage=parse_usage(body.get("usage")),
    )


def render_response(response: ChatResponse, request: ChatRequest | None) -> dict[str, Any]:
    text = "".join(p.text for p in response.parts if isinstance(p, TextPart))
    thinking = "".join(p.text for p in response.parts if isinstance(p, ThinkingPart))
    calls = [
        render_tool_call(p, request.tool_named(p.name) if request else None)
        for p in response.parts
        if isinstance(p, ToolCallPart)
    ]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text or (None if calls else ""),
        "refusal": None,
        "annotations": [],
    }
    if thinking:
        # The DeepSeek-style extension many clients show; strict OpenAI clients ignore it.
        message["reasoning_content"] = thinking
    if calls:
        message["tool_calls"] = calls
    return {
        "id": response.id or f"chatcmpl-{random_hex()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(response.stop_reason),
            }
        ],
        "usage": render_usage(response.usage),
    }


_FINISH_TO_STOP: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
    "error": "error",
}


# OpenAI has no "error" finish reason; "stop" is the least misleading of its five values.
_STOP_TO_FINISH: dict[StopReason, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "error": "stop",
}


def stop_reason(finish: str | None, *, saw_tool_call: bool) -> StopReason:
    """The neutral stop reason for an OpenAI `finish_reason`."""
    # Some compatible servers (older Ollama, a few proxies) say "stop" after tool calls.
    if saw_tool_call and finish in (None, "stop"):
        return "tool_use"
    return _FINISH_TO_STOP.get(finish or "stop", "end_turn")


def finish_reason(stop: StopReason) -> str:
    """The OpenAI `finish_reason` for a neutral stop reason."""
    return _STOP_TO_FINISH.get(stop, "stop")
