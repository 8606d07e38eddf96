"""`vendor_features` leaves out its two walks of the messages only where neither could find
anything: each member those walks read, put beside a text message's content, is still found."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.api_catalog import (
    DIALECT_ANTHROPIC,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)
from llmgw_desktop.engine.gateway.same_dialect import vendor_features as features
from llmgw_desktop.engine.gateway.same_dialect.vendor_features import (
    fetched_by_vendor,
    vendor_features,
)

ADDRESS = "https://example.com/cat.png"
TEXT = {"role": "user", "content": "Capital of France?"}

# A text message with one member more that a walk reads: the feature it names.
NAMED_BESIDE_TEXT = [
    ({"type": "item_reference"}, "item_reference"),
    ({"file_id": "file_1"}, "file_id"),
    ({"type": "container_upload"}, "file_id"),
    ({"source": {"type": "file", "file_id": "file_1"}}, "file_id"),
    ({"file": {"file_id": "file_1"}}, "file_id"),
    ({"source": {"type": "url", "url": ADDRESS}}, "web_fetch"),
    ({"type": "image_url", "image_url": {"url": ADDRESS}}, "web_fetch"),
    ({"type": "input_image", "image_url": ADDRESS}, "web_fetch"),
    ({"type": "input_file", "file_url": ADDRESS}, "web_fetch"),
    ({"output": [{"type": "input_image", "image_url": ADDRESS}]}, "web_fetch"),
]


def _names(found: list[Any]) -> list[str]:
    return [feature.name for feature in found]


@pytest.mark.parametrize("dialect", [DIALECT_OPENAI_CHAT, DIALECT_ANTHROPIC])
def test_messages_of_text_name_no_feature(dialect: str) -> None:
    body = {"model": "m", "messages": [TEXT, {"role": "assistant", "content": "Paris."}, "x"]}
    assert vendor_features(dialect, body, {}) == []


@pytest.mark.parametrize(("member", "feature"), NAMED_BESIDE_TEXT)
def test_a_member_beside_a_text_content_is_still_read(member: dict[str, Any], feature: str) -> None:
    message = {**TEXT, **member}
    body = {"model": "m", "input": [TEXT, message]}
    assert feature in _names(vendor_features(DIALECT_OPENAI_RESPONSES, body, {}))


def test_every_member_the_walks_read_is_one_that_stops_the_skip() -> None:
    # The members named above are exactly those the skip looks for (with `content` as a list).
    read = {name for member, _ in NAMED_BESIDE_TEXT for name in member}
    assert read == features._READ_IN_A_MESSAGE


def test_a_content_list_is_walked() -> None:
    image = {"type": "image_url", "image_url": {"url": ADDRESS}}
    body = {"model": "m", "messages": [TEXT, {"role": "user", "content": [image]}]}
    found = vendor_features(DIALECT_OPENAI_CHAT, body, {})
    assert [(f.name, f.where) for f in found] == [("web_fetch", "messages[1].content[0].image_url")]


def test_messages_not_a_list_are_walked() -> None:
    image = {"type": "image_url", "image_url": {"url": ADDRESS}}
    assert _names(fetched_by_vendor(DIALECT_OPENAI_CHAT, {"messages": image})) == ["web_fetch"]
    nested = {"model": "m", "messages": [TEXT, [image]]}
    assert _names(vendor_features(DIALECT_OPENAI_CHAT, nested, {})) == ["web_fetch"]


def test_a_tool_is_read_beside_messages_of_text() -> None:
    body = {"model": "m", "messages": [TEXT], "tools": [{"type": "web_search_preview"}]}
    assert _names(vendor_features(DIALECT_OPENAI_CHAT, body, {})) == ["web_search"]
