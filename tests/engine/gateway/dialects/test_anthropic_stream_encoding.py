"""The Anthropic Messages dialect writing a stream: the vendor's event sequence its encoder
sends for the neutral events, which the SDK accumulates into a message and the decoder reads
back as the same events, a message opened when its start is missing, nothing after the end,
and an error as an `error` event."""

from __future__ import annotations

import json

import anthropic.types as at
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from pydantic import TypeAdapter

from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.http_client.sse import SseParser
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
)
from llmgw_desktop.engine.tokens.usage import Usage
from tests.engine.gateway.dialects.anthropic_support import _req
from tests.engine.gateway.dialects.event_streams import decode_stream

DIALECT: Dialect = AnthropicDialect()
STREAM_EVENT = TypeAdapter(at.RawMessageStreamEvent)


ENCODE_EVENTS: list[StreamEvent] = [
    MessageStart(
        "msg_9", "claude-x", Usage(input_tokens=25, cache_read_tokens=4000, cache_write_tokens=1200)
    ),
    ThinkingDelta(0, "Hmm."),
    TextDelta(1, "Let me "),
    TextDelta(1, "check."),
    ToolCallStart(2, "toolu_1", "weather"),
    ToolCallDelta(2, '{"city": '),
    ToolCallDelta(2, '"Oslo"}'),
    ToolCallStart(3, "toolu_2", "weather"),
    ToolCallDelta(3, '{"city": "Rome"}'),
    MessageEnd("tool_use", Usage(output_tokens=89, reasoning_tokens=20)),
]
ENCODE_SEQUENCE = [
    ("message_start", None),
    ("content_block_start", 0),
    ("content_block_delta", 0),
    ("content_block_stop", 0),
    ("content_block_start", 1),
    ("content_block_delta", 1),
    ("content_block_delta", 1),
    ("content_block_stop", 1),
    ("content_block_start", 2),
    ("content_block_delta", 2),
    ("content_block_delta", 2),
    ("content_block_stop", 2),
    ("content_block_start", 3),
    ("content_block_delta", 3),
    ("content_block_stop", 3),
    ("message_delta", None),
    ("message_stop", None),
]
FINAL_USAGE = Usage(
    input_tokens=25,
    output_tokens=89,
    cache_read_tokens=4000,
    cache_write_tokens=1200,
    reasoning_tokens=20,
)


def _encode(events: list[StreamEvent], request: ChatRequest | None = None) -> bytes:
    encoder = DIALECT.stream_encoder(request or _req())
    return b"".join(encoder.encode(e) for e in events) + encoder.close()


def test_stream_encoder_emits_the_vendor_event_sequence() -> None:
    frames = SseParser().feed(_encode(ENCODE_EVENTS))
    payloads = [json.loads(data) for _, data in frames]
    assert [
        (name, p.get("index")) for (name, _), p in zip(frames, payloads, strict=True)
    ] == ENCODE_SEQUENCE
    assert all(name == p["type"] for (name, _), p in zip(frames, payloads, strict=True))
    for payload in payloads:
        STREAM_EVENT.validate_python(payload)
    assert payloads[0]["message"]["usage"] == {
        "input_tokens": 25,
        "output_tokens": 0,
        "cache_creation_input_tokens": 1200,
        "cache_read_input_tokens": 4000,
    }
    assert payloads[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert payloads[-2]["usage"] == {
        "input_tokens": 25,
        "output_tokens": 89,
        "cache_creation_input_tokens": 1200,
        "cache_read_input_tokens": 4000,
        "output_tokens_details": {"thinking_tokens": 20},
    }


def test_stream_encoder_output_accumulates_into_an_sdk_message() -> None:
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for _, data in SseParser().feed(_encode(ENCODE_EVENTS)):
        event = STREAM_EVENT.validate_python(json.loads(data))
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    assert [b.type for b in snapshot.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert snapshot.content[1].text == "Let me check."  # type: ignore[union-attr]
    assert snapshot.content[2].input == {"city": "Oslo"}  # type: ignore[union-attr]
    assert snapshot.stop_reason == "tool_use"
    assert snapshot.usage.cache_read_input_tokens == 4000
    assert snapshot.usage.output_tokens == 89


def test_stream_encoder_output_decodes_back_to_the_same_events() -> None:
    expected = [*ENCODE_EVENTS[:-1], MessageEnd("tool_use", FINAL_USAGE)]
    assert decode_stream(DIALECT, _encode(ENCODE_EVENTS)) == expected


def test_stream_encoder_opens_the_message_when_start_is_missing() -> None:
    raw = _encode(
        [TextDelta(0, "hi"), MessageEnd("end_turn", Usage(input_tokens=3, output_tokens=1))],
        _req(model="claude-z"),
    )
    events = decode_stream(DIALECT, raw)
    assert isinstance(events[0], MessageStart)
    assert events[0].id.startswith("msg_")
    assert events[0].model == "claude-z"
    assert events[1:] == [
        TextDelta(0, "hi"),
        MessageEnd("end_turn", Usage(input_tokens=3, output_tokens=1)),
    ]


def test_stream_encoder_sends_nothing_after_the_end() -> None:
    encoder = DIALECT.stream_encoder(_req())
    encoder.encode(MessageStart("m", "m"))
    encoder.encode(MessageEnd("end_turn"))
    assert encoder.encode(TextDelta(0, "late")) == b""
    assert encoder.close() == b""


def test_stream_encoder_error_is_an_error_event() -> None:
    encoder = DIALECT.stream_encoder(_req())
    encoder.encode(MessageStart("m", "m"))
    raw = encoder.error(529, "provider_error", "Overloaded")
    assert SseParser().feed(raw) == [
        (
            "error",
            '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded",'
            '"code":"provider_error"}}',
        )
    ]
    with pytest.raises(ValueError, match="upstream error: overloaded_error: Overloaded"):
        decode_stream(DIALECT, _encode([MessageStart("m", "m")]) + raw)
