"""A neutral request's estimated input tokens, for count_tokens without an upstream.

Walks the request and sizes it with `engine/tokens/estimate.py`: its text and JSON by
characters, a fixed cost per image, and the chat template's tokens around each message and
before the reply. An estimate, and labelled as one wherever it is reported;
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
from llmgw_desktop.engine.tokens.estimate import (
    IMAGE_TOKENS,
    MESSAGE_TOKENS,
    REPLY_PRIMING_TOKENS,
    tokens_for_chars,
)

__all__ = ["estimate_tokens"]


def estimate_tokens(request: ChatRequest) -> int:
    """Estimated input tokens of `request`: system, messages, tool definitions and the chat
    template around them."""
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
    framed = len(request.messages) + (1 if request.system else 0)
    template = framed * MESSAGE_TOKENS + REPLY_PRIMING_TOKENS
    return tokens_for_chars(chars) + images * IMAGE_TOKENS + template
