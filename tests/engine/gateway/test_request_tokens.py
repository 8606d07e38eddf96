"""The token estimate used for count_tokens without an upstream."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolDef,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.request_tokens import estimate_tokens
from tests.engine.gateway.neutral import assistant, user


def _req(**fields: Any) -> ChatRequest:
    base = ChatRequest(model="m", messages=(Message("user", (TextPart("hi"),)),), max_tokens=100)
    return replace(base, **fields)


TOKEN_ESTIMATES = [
    # Each message framed by 3 template tokens, and 3 before the reply (OpenAI's rule).
    ("an empty message is its frame", _req(messages=(user(TextPart("")),)), 6),
    ("a short conversation is mostly frames", _req(messages=(user(TextPart("hi")),) * 10), 38),
    (
        "text is about four characters a token",
        _req(system=(TextPart("a" * 40),), messages=(user(TextPart("b" * 41)),)),
        21 + 2 * 3 + 3,  # the system prompt is framed as a message
    ),
    (
        "images cost a flat amount",
        _req(messages=(user(TextPart("abcd"), ImagePart("image/png", "x")),)),
        1601 + 6,
    ),
    (
        "tool calls, results and definitions count",
        _req(
            messages=(
                assistant(ToolCallPart("t", "abcd", "1234")),
                user(ToolResultPart("t", "abcd")),
            ),
            tools=(ToolDef("f", "desc", {}),),
        ),
        5 + 2 * 3 + 3,  # 4 + 4 + 4 + 1 + 4 + 2 ("{}") = 19 chars
    ),
]


@pytest.mark.parametrize(
    ("request_", "expected"), [c[1:] for c in TOKEN_ESTIMATES], ids=[c[0] for c in TOKEN_ESTIMATES]
)
def test_estimate_is_deterministic(request_: ChatRequest, expected: int) -> None:
    assert estimate_tokens(request_) == expected
    assert estimate_tokens(request_) == expected
