"""A finished Messages answer: parsed from an upstream, rendered for a client, with the stop reasons
both ways.
"""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.gateway.dialects.anthropic.errors import upstream_error
from llmgw_desktop.engine.gateway.dialects.anthropic.messages import tool_input
from llmgw_desktop.engine.gateway.dialects.anthropic.usage import parse_usage, render_usage
from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
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
    "new_message_id",
    "parse_response",
    "render_response",
    "response_block",
    "response_part",
    "stop_reason_in",
    "stop_reason_out",
]


def parse_response(body: Any) -> ChatResponse:
    """An Anthropic upstream's complete answer.

    Raises:
        UpstreamMalformed: the body is an error or not a Messages answer.
    """
    if not isinstance(body, dict):
        raise UpstreamMalformed("not an Anthropic message: expected a JSON object")
    if body.get("type") == "error":
        raise UpstreamMalformed(upstream_error(body))
    content = body.get("content")
    if body.get("type") != "message" or not isinstance(content, list):
        raise UpstreamMalformed(
            "not an Anthropic message: expected type 'message' with a content list"
        )
    found: list[Part] = []
    for block in content:
        part = response_part(block)
        if part is not None:
            found.append(part)
    return ChatResponse(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        parts=tuple(found),
        stop_reason=stop_reason_in(body.get("stop_reason")),
        usage=parse_usage(body.get("usage")),
    )


def render_response(response: ChatResponse, request: ChatRequest | None = None) -> dict[str, Any]:
    """The Messages answer an Anthropic client expects."""
    blocks = [b for b in map(response_block, response.parts) if b is not None]
    return {
        "id": response.id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": blocks,
        "stop_reason": stop_reason_out(response.stop_reason),
        # The neutral form does not say which stop sequence matched.
        "stop_sequence": None,
        "usage": render_usage(response.usage),
    }


def new_message_id() -> str:
    return f"msg_{random_hex()[:24]}"


_STOP_IN: dict[str, StopReason] = {
    **{r: r for r in ("end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal")},
    # A server-tool loop paused: the turn is over as far as a neutral client can tell.
    "pause_turn": "end_turn",
    "model_context_window_exceeded": "max_tokens",
}


# Anthropic has no "error" stop reason; the error itself travels separately.
_STOP_OUT: dict[StopReason, str] = {"error": "end_turn"}


def stop_reason_in(value: Any) -> StopReason:
    """Anthropic's stop reason in neutral form (unknown or missing means a normal end)."""
    return _STOP_IN.get(value, "end_turn") if isinstance(value, str) else "end_turn"


def stop_reason_out(value: StopReason) -> str:
    return _STOP_OUT.get(value, value)


def response_part(block: Any) -> Part | None:
    """A content block of an answer; block kinds with no neutral form are skipped."""
    if not isinstance(block, dict):
        raise UpstreamMalformed("not an Anthropic message: content blocks must be objects")
    kind = block.get("type")
    if kind == "text":
        return TextPart(str(block.get("text") or ""))
    if kind == "thinking":
        return ThinkingPart(str(block.get("thinking") or ""), block.get("signature") or None)
    if kind == "tool_use":
        arguments = block.get("input")
        return ToolCallPart(
            id=str(block.get("id") or ""),
            name=str(block.get("name") or ""),
            arguments=json.dumps(
                arguments if isinstance(arguments, dict) else {}, ensure_ascii=False
            ),
        )
    return None


def response_block(part: Part) -> dict[str, Any] | None:
    """A content block of an answer; parts an answer cannot hold give None."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ThinkingPart):
        return {"type": "thinking", "thinking": part.text, "signature": part.signature or ""}
    if isinstance(part, ToolCallPart):
        return {
            "type": "tool_use",
            "id": part.id,
            "name": part.name,
            "input": tool_input(part.arguments),
        }
    return None
