"""Placeholders: stable across a conversation sent again, every occurrence replaced, and put
back in whole answers and in streams of each dialect where the model writes them a few
characters at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmgw_desktop.config.settings_guard import GuardSettings
from llmgw_desktop.engine.gateway.http_client.sse import SseParser, frame
from llmgw_desktop.engine.guard.policy import action_for
from llmgw_desktop.engine.guard.redaction import Redaction
from llmgw_desktop.engine.guard.request_scan import Finding
from llmgw_desktop.engine.guard.restore import StreamRestorer, restore_answer
from tests.engine.guard.secrets import AWS_ACCESS_KEY, JWT, PRIVATE_KEY

AWS = Finding("aws_access_key", "messages[0].content", 1, AWS_ACCESS_KEY)
KEY = Finding("private_key", "messages[0].content", 3, PRIVATE_KEY)
TOKEN = Finding("jwt", "messages[1].content", 1, JWT)


def test_placeholders_count_each_kind_in_order_of_first_appearance() -> None:
    redaction = Redaction([AWS, TOKEN, AWS, KEY])
    assert redaction.placeholder_of == {
        AWS_ACCESS_KEY: "[SECRET:aws_access_key#1]",
        JWT: "[SECRET:jwt#1]",
        PRIVATE_KEY: "[SECRET:private_key#1]",
    }


def test_a_conversation_sent_again_keeps_its_placeholders() -> None:
    first = Redaction([AWS])
    again = Redaction([AWS, TOKEN])  # the next turn added a secret after it
    assert first.placeholder_of[AWS_ACCESS_KEY] == again.placeholder_of[AWS_ACCESS_KEY]


def test_every_occurrence_is_replaced_keys_kept() -> None:
    body = {"messages": [{"content": f"{AWS_ACCESS_KEY} and again {AWS_ACCESS_KEY}"}], "n": 1}
    assert Redaction([AWS]).body(body) == {
        "messages": [{"content": "[SECRET:aws_access_key#1] and again [SECRET:aws_access_key#1]"}],
        "n": 1,
    }


def test_a_whole_answer_gets_its_secrets_back_json_escaped_in_arguments() -> None:
    originals = Redaction([KEY]).originals()
    answer = {
        "content": "Saved [SECRET:private_key#1] and [SECRET:other#9].",
        "tool_calls": [{"function": {"arguments": '{"k": "[SECRET:private_key#1]"}'}}],
    }
    restored = json.loads(restore_answer(json.dumps(answer).encode(), originals))
    assert restored["content"] == f"Saved {PRIVATE_KEY} and [SECRET:other#9]."
    assert json.loads(restored["tool_calls"][0]["function"]["arguments"]) == {"k": PRIVATE_KEY}


def _events(chunks: list[bytes]) -> list[tuple[str | None, Any]]:
    parser = SseParser()
    out = []
    for chunk in chunks:
        for name, data in parser.feed(chunk):
            out.append((name, json.loads(data) if data.startswith("{") else data))
    return out


def _restored(dialect: str, events: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
    restorer = StreamRestorer(dialect, Redaction([AWS, KEY]).originals())
    out = [restorer.feed(frame(data, name)) for name, data in events]
    return _events([*out, restorer.close()])


PLACEHOLDER_PIECES = ["The key is [SEC", "RET:aws_acc", "ess_key#", "1] done", "."]
ARGUMENT_PIECES = ['{"content": "[SECRET:priv', 'ate_key#1]"}']


def _chat(text: str = "", arguments: str = "") -> dict[str, Any]:
    delta: dict[str, Any] = {"content": text} if text else {}
    if arguments:
        delta["tool_calls"] = [{"index": 0, "function": {"arguments": arguments}}]
    return {"choices": [{"index": 0, "delta": delta}]}


def test_openai_chat_stream_text_and_arguments_split_anywhere() -> None:
    events: list[tuple[str | None, Any]] = [(None, _chat(p)) for p in PLACEHOLDER_PIECES]
    events += [(None, _chat(arguments=p)) for p in ARGUMENT_PIECES]
    events += [(None, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})]
    events += [(None, "[DONE]")]
    out = _restored("openai-chat", events)
    choices = [e["choices"][0]["delta"] for _, e in out if isinstance(e, dict)]
    text = "".join(d.get("content", "") for d in choices)
    arguments = "".join(
        d["tool_calls"][0]["function"]["arguments"] for d in choices if "tool_calls" in d
    )
    assert text == f"The key is {AWS_ACCESS_KEY} done."
    assert json.loads(arguments) == {"content": PRIVATE_KEY}
    assert out[-1] == (None, "[DONE]")


def test_anthropic_stream_text_and_partial_json() -> None:
    def delta(kind: str, field: str, value: str, index: int) -> tuple[str, Any]:
        event = {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": kind, field: value},
        }
        return "content_block_delta", event

    events: list[tuple[str | None, Any]] = [
        *(delta("text_delta", "text", p, 0) for p in PLACEHOLDER_PIECES),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        *(delta("input_json_delta", "partial_json", p, 1) for p in ARGUMENT_PIECES),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ]
    out = _restored("anthropic", events)
    deltas = [e["delta"] for name, e in out if name == "content_block_delta"]
    assert "".join(d.get("text", "") for d in deltas) == f"The key is {AWS_ACCESS_KEY} done."
    assert json.loads("".join(d.get("partial_json", "") for d in deltas)) == {
        "content": PRIVATE_KEY
    }


def test_responses_stream_deltas_and_done_events() -> None:
    def text_delta(piece: str) -> tuple[str, Any]:
        event = {"type": "response.output_text.delta", "item_id": "m", "content_index": 0}
        return "response.output_text.delta", {**event, "delta": piece}

    done = {"type": "response.output_text.done", "text": "The key is [SECRET:aws_access_key#1]"}
    events = [*(text_delta(p) for p in PLACEHOLDER_PIECES), ("response.output_text.done", done)]
    out = _restored("openai-responses", events)
    text = "".join(e["delta"] for n, e in out if n == "response.output_text.delta")
    assert text == f"The key is {AWS_ACCESS_KEY} done."
    assert out[-1][1]["text"] == f"The key is {AWS_ACCESS_KEY}"


def test_gemini_stream_text() -> None:
    events = [
        (None, {"candidates": [{"content": {"parts": [{"text": p}], "role": "model"}}]})
        for p in PLACEHOLDER_PIECES
    ]
    out = _restored("gemini", events)
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for _, e in out)
    assert text == f"The key is {AWS_ACCESS_KEY} done."


def test_a_held_bracket_that_is_no_placeholder_is_let_go_unchanged() -> None:
    events = [
        (None, _chat("arr[")),
        (None, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ]
    out = _restored("openai-chat", events)
    text = "".join(e["choices"][0]["delta"].get("content", "") for _, e in out)
    assert text == "arr["


@pytest.mark.parametrize(
    ("providers", "keys", "local", "expected"),
    [
        ({}, {}, False, "warn"),
        ({}, {}, True, "off"),
        ({"ollama": "block"}, {}, True, "block"),
        ({}, {"key:ci": "block"}, False, "block"),
        ({}, {"key:ci": "block"}, True, "off"),
        ({"openai": "warn"}, {"key:ci": "redact"}, False, "redact"),
        ({"openai": "block"}, {"key:ci": "ask"}, False, "block"),
    ],
)
def test_the_action_by_provider_and_key(
    providers: dict[str, str], keys: dict[str, str], local: bool, expected: str
) -> None:
    settings = GuardSettings(providers=providers, keys=keys)
    provider = "ollama" if "ollama" in providers else "openai"
    assert action_for(settings, provider, "key:ci", local=local) == expected
