"""A finished `generateContent` answer: parsed from an upstream, rendered for a client, with the
finish reasons both ways.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.gemini.content import CallIds, parse_parts, render_parts
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.dialects.gemini.usage import parse_usage, render_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ChatResponse,
    StopReason,
    ToolCallPart,
)
from llmgw_desktop.engine.ids import random_hex

__all__ = ["FINISH_REASONS", "new_response_id", "parse_finish", "parse_response", "render_response"]


def parse_response(body: Any) -> ChatResponse:
    """A Gemini upstream's complete answer.

    Raises:
        UpstreamMalformed: the body is not a Gemini answer.
    """
    if not isinstance(body, dict):
        raise UpstreamMalformed("Gemini response: expected a JSON object")
    if isinstance(body.get("error"), dict):
        raise UpstreamMalformed(f"Gemini response is an error: {body['error'].get('message')!r}")
    candidates = field(body, "candidates")
    feedback = field(body, "promptFeedback")
    if candidates is None and not isinstance(feedback, dict):
        raise UpstreamMalformed("Gemini response: neither candidates nor promptFeedback")
    response_id = field(body, "responseId")
    response_id = response_id if isinstance(response_id, str) and response_id else new_response_id()
    model = str(field(body, "modelVersion") or "")
    usage = parse_usage(field(body, "usageMetadata"))
    if not candidates:  # the prompt itself was blocked
        blocked = isinstance(feedback, dict) and field(feedback, "blockReason")
        return ChatResponse(response_id, model, (), "refusal" if blocked else "error", usage)
    if not isinstance(candidates, list) or not isinstance(candidates[0], dict):
        raise UpstreamMalformed("Gemini response: candidates[0] is not an object")
    content = field(candidates[0], "content")
    raw_parts = field(content, "parts") if isinstance(content, dict) else None
    try:
        parts = parse_parts(raw_parts or [], "candidates[0].content.parts", CallIds())
    except InvalidRequest as exc:
        raise UpstreamMalformed(f"Gemini response: {exc.message}") from exc
    called = any(isinstance(p, ToolCallPart) for p in parts)
    stop_reason = parse_finish(field(candidates[0], "finishReason"), called)
    return ChatResponse(response_id, model, tuple(parts), stop_reason, usage)


def render_response(response: ChatResponse, request: ChatRequest | None = None) -> dict[str, Any]:
    """The body a Gemini client expects.

    Raises:
        UpstreamMalformed: a tool call's arguments are not a JSON object.
    """
    names = {p.id: p.name for p in response.parts if isinstance(p, ToolCallPart)}
    parts = render_parts(response.parts, names, "parts", with_ids=True)
    candidate: dict[str, Any] = {}
    if parts:  # Gemini leaves content out of a candidate it blocked
        candidate["content"] = {"role": "model", "parts": parts}
    candidate["finishReason"] = FINISH_REASONS[response.stop_reason]
    candidate["index"] = 0
    return {
        "candidates": [candidate],
        "usageMetadata": render_usage(response.usage),
        "modelVersion": response.model,
        "responseId": response.id,
    }


def new_response_id() -> str:
    return f"gemini-{random_hex()}"


# Neutral stop reason -> Gemini finishReason. Gemini says STOP for tool calls and stop strings.
FINISH_REASONS: dict[StopReason, str] = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "tool_use": "STOP",
    "max_tokens": "MAX_TOKENS",
    "refusal": "SAFETY",
    "error": "OTHER",
}


_REFUSALS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "LANGUAGE",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


def parse_finish(reason: Any, called: bool) -> StopReason:
    """A finishReason in neutral form; `called` says a functionCall part was seen."""
    if reason in (None, "", "STOP", "FINISH_REASON_UNSPECIFIED"):
        return "tool_use" if called else "end_turn"
    if reason == "MAX_TOKENS":
        return "max_tokens"
    # An upstream's reason may be any JSON (a list cannot be looked up in the set).
    return "refusal" if isinstance(reason, str) and reason in _REFUSALS else "error"
