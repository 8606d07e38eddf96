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
    ("tiny", _req(messages=(user(TextPart("")),)), 1),
    (
        "text is about four characters a token",
        _req(system=(TextPart("a" * 40),), messages=(user(TextPart("b" * 41)),)),
        21,
    ),
    (
        "images cost a flat amount",
        _req(messages=(user(TextPart("abcd"), ImagePart("image/png", "x")),)),
        1601,
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
        5,  # 4 + 4 + 4 + 1 + 4 + 2 ("{}") = 19 chars
    ),
]


@pytest.mark.parametrize(
    ("request_", "expected"), [c[1:] for c in TOKEN_ESTIMATES], ids=[c[0] for c in TOKEN_ESTIMATES]
)
def test_estimate_is_deterministic(request_: ChatRequest, expected: int) -> None:
    assert estimate_tokens(request_) == expected
    assert estimate_tokens(request_) == expected
