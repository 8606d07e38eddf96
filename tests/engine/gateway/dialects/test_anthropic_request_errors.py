"""The Anthropic Messages dialect refusing a request body it cannot read: an `InvalidRequest`
whose message names the field and what was wrong with it (`messages[1].content: expected a
string or a list of content blocks`), for each kind of bad field."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from tests.engine.gateway.dialects.anthropic_support import _body

DIALECT: Dialect = AnthropicDialect()


PARSE_ERRORS = [
    (_body(max_tokens=True), "max_tokens: expected an integer"),
    (_body(max_tokens="10"), "max_tokens: expected an integer"),
    (_body(max_tokens=0), "max_tokens: expected a positive integer"),
    (_body(model=None), "model: required"),
    (_body(model=7), "model: expected a string"),
    (_body(messages=None), "messages: required"),
    (_body(messages="hi"), "messages: expected a list of messages"),
    (_body(messages=[]), "messages: at least one message is required"),
    (_body(messages=["hi"]), "messages[0]: expected an object"),
    (
        _body(messages=[{"role": "tool", "content": "x"}]),
        "messages[0].role: expected 'user', 'assistant' or 'system'",
    ),
    (
        _body(
            messages=[{"role": "system", "content": [{"type": "image", "source": {"type": "url"}}]}]
        ),
        "messages[0].content[0].source.url: required",
    ),
    (
        _body(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": 3}]),
        "messages[1].content: expected a string or a list of content blocks",
    ),
    (
        _body(messages=[{"role": "user", "content": ["text"]}]),
        "messages[0].content[0]: expected a content block object",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"text": "x"}]}]),
        "messages[0].content[0].type: required",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "messages[0].content[0].text: required",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"type": "document", "source": {}}]}]),
        "messages[0].content[0].source.type: required",
    ),
    (
        _body(
            messages=[
                {"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}
            ]
        ),
        "messages[0].content[0].id: required",
    ),
    (
        _body(
            messages=[
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}],
                }
            ]
        ),
        "messages[0].content[0].input: expected an object",
    ),
    (
        _body(messages=[{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]),
        "messages[0].content[0].tool_use_id: required",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": "yes"}],
                }
            ]
        ),
        "messages[0].content[0].is_error: expected a boolean",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t",
                            "content": [{"type": "tool_use", "id": "t", "name": "f"}],
                        }
                    ],
                }
            ]
        ),
        "messages[0].content[0].content[0].type: a tool result holds text, images and documents",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "path", "path": "f"}}],
                }
            ]
        ),
        "messages[0].content[0].source.type: expected 'base64', 'url' or 'file'",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "base64", "data": "x"}}],
                }
            ]
        ),
        "messages[0].content[0].source.media_type: required",
    ),
    (_body(system=5), "system: expected a string or a list of text blocks"),
    (
        _body(system=[{"type": "text", "text": "a"}, {"type": "image"}]),
        "system[1].type: expected 'text'",
    ),
    (_body(temperature="hot"), "temperature: expected a number"),
    (_body(top_p=True), "top_p: expected a number"),
    (_body(stream="yes"), "stream: expected a boolean"),
    (_body(stop_sequences="END"), "stop_sequences: expected a list of strings"),
    (_body(stop_sequences=["END", 1]), "stop_sequences: expected a list of strings"),
    (_body(metadata={"user_id": 9}), "metadata.user_id: expected a string"),
    (_body(tools={"name": "f"}), "tools: expected a list of tools"),
    (_body(tools=[{"name": "f"}]), "tools[0].input_schema: required"),
    (_body(tools=[{"input_schema": {}}]), "tools[0].name: required"),
    (_body(tool_choice="auto"), "tool_choice: expected an object"),
    (
        _body(tool_choice={"type": "required"}),
        "tool_choice.type: expected 'auto', 'any', 'none' or 'tool'",
    ),
    (_body(tool_choice={"type": "tool"}), "tool_choice.name: required"),
    (_body(thinking={"type": "enabled"}), "thinking.budget_tokens: required"),
    (_body(thinking={"type": "on"}), "thinking.type: expected 'enabled', 'adaptive' or 'disabled'"),
]


@pytest.mark.parametrize(("body", "message"), PARSE_ERRORS, ids=[m for _, m in PARSE_ERRORS])
def test_parse_request_rejects_bad_input_naming_the_field(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        DIALECT.parse_request(body)
    assert caught.value.message == message
