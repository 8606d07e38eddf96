"""What the Anthropic Messages dialect's test modules share: a minimal valid request body,
and the neutral request it parses to, each with the fields a test puts on top."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from llmgw_desktop.engine.gateway.ir import ChatRequest, Message, TextPart


def _body(**fields: Any) -> dict[str, Any]:
    """A minimal valid request body with `fields` on top."""
    return {
        "model": "claude-x",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    } | fields


def _req(**fields: Any) -> ChatRequest:
    base = ChatRequest(
        model="claude-x", messages=(Message("user", (TextPart("hi"),)),), max_tokens=100
    )
    return replace(base, **fields)
