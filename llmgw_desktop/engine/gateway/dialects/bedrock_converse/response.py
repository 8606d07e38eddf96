"""A finished Converse answer, parsed into the neutral form, and Bedrock's stop reasons."""

from __future__ import annotations

import json
from typing import Any

from llmgw_desktop.engine.gateway.dialects.base import UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.usage import parse_usage
from llmgw_desktop.engine.gateway.ir import (
    ChatResponse,
    Part,
    StopReason,
    TextPart,
    ThinkingPart,
    ToolCallPart,
)
from llmgw_desktop.engine.ids import random_hex

__all__ = ["new_answer_id", "parse_response", "stop_reason_in"]

# Bedrock's stop reasons; a guardrail or content filter that stopped the answer is a refusal.
_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "guardrail_intervened": "refusal",
    "content_filtered": "refusal",
    "model_context_window_exceeded": "max_tokens",
}


def stop_reason_in(value: Any) -> StopReason:
    """Bedrock's `stopReason` as a neutral stop reason (an unknown one: the turn ended)."""
    return _STOP_REASONS.get(value, "end_turn") if isinstance(value, str) else "end_turn"


def new_answer_id() -> str:
    """An id for an answer: Converse answers carry none in their body."""
    return f"msg_bedrock_{random_hex()[:24]}"


def parse_response(body: Any) -> ChatResponse:
    """A Converse answer.

    Raises:
        UpstreamMalformed: the body is not a Converse answer.
    """
    if not isinstance(body, dict):
        raise UpstreamMalformed("not a Converse answer: expected a JSON object")
    output = body.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise UpstreamMalformed("not a Converse answer: expected output.message.content")
    parts: list[Part] = []
    for block in content:
        if isinstance(block, dict):
            parts.extend(_part(block))
    return ChatResponse(
        id=new_answer_id(),
        model="",  # the model is in the URL, not the answer: the route names it
        parts=tuple(parts),
        stop_reason=stop_reason_in(body.get("stopReason")),
        usage=parse_usage(body.get("usage")),
    )


def _part(block: dict[str, Any]) -> list[Part]:
    if isinstance(block.get("text"), str):
        return [TextPart(block["text"])] if block["text"] else []
    use = block.get("toolUse")
    if isinstance(use, dict):
        arguments = use.get("input")
        return [
            ToolCallPart(
                id=str(use.get("toolUseId") or ""),
                name=str(use.get("name") or ""),
                arguments=json.dumps(arguments if isinstance(arguments, dict) else {}),
            )
        ]
    reasoning = block.get("reasoningContent")
    text = reasoning.get("reasoningText") if isinstance(reasoning, dict) else None
    if isinstance(text, dict) and isinstance(text.get("text"), str):
        signature = text.get("signature")
        return [ThinkingPart(text["text"], signature if isinstance(signature, str) else None)]
    return []  # redacted reasoning, citations, images the model made: no neutral part
