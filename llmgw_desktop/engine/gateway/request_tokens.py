"""A neutral request's estimated input tokens, for count_tokens and the small-request rule.

Walks the request and sizes it with `engine/tokens/estimate.py`: its text and JSON by
characters, a fixed cost per image. An estimate, and labelled as one wherever it is reported;
real counts come from the upstream's usage.
"""

from __future__ import annotations

import json

from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ImagePart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from llmgw_desktop.engine.tokens.estimate import IMAGE_TOKENS, tokens_for_chars

__all__ = ["estimate_tokens", "is_small_request"]


def estimate_tokens(request: ChatRequest) -> int:
    """Estimated input tokens of `request` (system, messages and tool definitions); at least 1."""
    chars = sum(len(p.text) for p in request.system)
    images = 0
    for message in request.messages:
        for part in message.parts:
            if isinstance(part, ImagePart):
                images += 1
            elif isinstance(part, TextPart | ThinkingPart):
                chars += len(part.text)
            elif isinstance(part, ToolCallPart):
                chars += len(part.name) + len(part.arguments)
            elif isinstance(part, ToolResultPart):
                chars += len(part.content)
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description) + len(json.dumps(tool.parameters))
    return max(1, tokens_for_chars(chars) + images * IMAGE_TOKENS)


def is_small_request(request: ChatRequest, max_tokens: int) -> bool:
    """Small enough for the cheaper model: no tools, no images, few tokens."""
    if max_tokens <= 0 or request.tools:
        return False
    if any(isinstance(p, ImagePart) for m in request.messages for p in m.parts):
        return False
    return estimate_tokens(request) <= max_tokens
