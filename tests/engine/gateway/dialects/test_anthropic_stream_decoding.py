"""The Anthropic Messages dialect reading a stream: the neutral events its decoder makes of the
SSE frames (a captured stream and made-up ones), a broken stream refused, and a stream that
ended before `message_stop` taken as cut, not whole."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmgw_desktop.engine.gateway.dialects.anthropic import AnthropicDialect
from llmgw_desktop.engine.gateway.dialects.base import Dialect
from llmgw_desktop.engine.gateway.ir import (
    MessageEnd,
    MessageStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallStart,
)
from llmgw_desktop.engine.tokens.usage import Usage
from tests.engine.gateway.dialects.event_streams import cut_stream, decode_stream

DIALECT: Dialect = AnthropicDialect()

CAPTURED_STREAM = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_01S","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":1200,"cache_read_input_tokens":4000,"output_tokens":1}}}

event: ping
data: {"type": "ping"}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"User wants weather."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Let me "}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"check."}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: content_block_start
data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_01A","name":"weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Os"}}

event: content_block_delta
data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"lo\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":3}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"""  # noqa: E501 (captured frames are kept whole)

CAPTURED_EVENTS: list[StreamEvent] = [
    MessageStart(
        "msg_01S",
        "claude-x",
        Usage(input_tokens=25, output_tokens=1, cache_read_tokens=4000, cache_write_tokens=1200),
    ),
    ThinkingDelta(0, "User wants weather."),
    TextDelta(1, "Let me "),
    TextDelta(1, "check."),
    ToolCallStart(2, "toolu_01A", "weather"),
    ToolCallDelta(2, '{"city": "Os'),
    ToolCallDelta(2, 'lo"}'),
    MessageEnd(
        "tool_use",
        Usage(input_tokens=25, output_tokens=89, cache_read_tokens=4000, cache_write_tokens=1200),
    ),
]


def _sse(*payloads: dict[str, Any]) -> bytes:
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)


START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 500, "output_tokens": 1},
    },
}
TEXT_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}
TEXT_DELTA = {
    "type": "content_block_delta",
    "index": 0,
    "delta": {"type": "text_delta", "text": "ok"},
}
STOP = {"type": "content_block_stop", "index": 0}
DELTA = {
    "type": "message_delta",
    "delta": {"stop_reason": "end_turn"},
    "usage": {"output_tokens": 5},
}
END = {"type": "message_stop"}
START_EVENT = MessageStart(
    "msg_1", "m", Usage(input_tokens=10, output_tokens=1, cache_read_tokens=500)
)

DECODE_CASES = [
    (
        "captured stream with thinking, redacted thinking, text and a tool call",
        CAPTURED_STREAM,
        CAPTURED_EVENTS,
    ),
    (
        "message_delta carrying input and cache tokens too",
        _sse(
            START,
            TEXT_START,
            TEXT_DELTA,
            STOP,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens"},
                "usage": {
                    "output_tokens": 7,
                    "input_tokens": 10,
                    "cache_read_input_tokens": 500,
                    "cache_creation_input_tokens": 40,
                },
            },
            END,
        ),
        [
            START_EVENT,
            TextDelta(0, "ok"),
            MessageEnd(
                "max_tokens",
                Usage(
                    input_tokens=10, output_tokens=7, cache_read_tokens=500, cache_write_tokens=40
                ),
            ),
        ],
    ),
    (
        "message_delta with zeroed input keeps the start's counts",
        _sse(
            START,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 2, "input_tokens": 0, "cache_read_input_tokens": 0},
            },
            END,
        ),
        [
            START_EVENT,
            MessageEnd("end_turn", Usage(input_tokens=10, output_tokens=2, cache_read_tokens=500)),
        ],
    ),
    (
        "frames without event lines, content in the block start",
        b'data: {"type":"message_start","message":{"id":"m1","model":"m","usage":{}}}\n\n'
        b'data: {"type":"content_block_start","index":0,"content_block":'
        b'{"type":"tool_use","id":"t","name":"f","input":{"a":1}}}\n\n'
        b'data: {"type":"content_block_start","index":1,'
        b'"content_block":{"type":"text","text":"hi"}}\n\n'
        b'data: {"type":"message_delta","delta":{"stop_reason":"stop_sequence"},'
        b'"usage":{"output_tokens":3}}\n\n'
        b'data: {"type":"message_stop"}\n\n',
        [
            MessageStart("m1", "m"),
            ToolCallStart(0, "t", "f"),
            ToolCallDelta(0, '{"a": 1}'),
            TextDelta(1, "hi"),
            MessageEnd("stop_sequence", Usage(output_tokens=3)),
        ],
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in DECODE_CASES], ids=[c[0] for c in DECODE_CASES]
)
def test_stream_decoder_yields_neutral_events(raw: bytes, expected: list[StreamEvent]) -> None:
    assert decode_stream(DIALECT, raw) == expected


DECODE_FAILURES = [
    (
        "ended before message_delta",
        _sse(START, TEXT_START, TEXT_DELTA),
        "ended before the message was complete",
    ),
    ("empty stream", b"", "ended before the message was complete"),
    (
        "in-stream error",
        _sse(
            START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        ),
        "upstream error: overloaded_error: Overloaded",
    ),
    ("delta before message_start", _sse(TEXT_START), "content_block_start before message_start"),
    ("delta for a block that never started", _sse(START, TEXT_DELTA), "never started"),
    ("not JSON", b"event: message_start\ndata: {nope\n\n", "not JSON"),
]


@pytest.mark.parametrize(
    ("raw", "message"), [c[1:] for c in DECODE_FAILURES], ids=[c[0] for c in DECODE_FAILURES]
)
def test_stream_decoder_raises_on_broken_streams(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_stream(DIALECT, raw)


def test_a_stream_closed_after_message_delta_without_message_stop_was_cut() -> None:
    # Not taken as complete (no MessageEnd); the usage message_delta reported is kept for the
    # recorder.
    events, cut = cut_stream(DIALECT, _sse(START, TEXT_START, TEXT_DELTA, STOP, DELTA))
    assert events == [START_EVENT, TextDelta(0, "ok")]
    assert cut.usage == Usage(input_tokens=10, output_tokens=5, cache_read_tokens=500)
    assert "before message_stop" in str(cut)


def test_stream_decoder_ignores_frames_after_message_stop() -> None:
    decoder = DIALECT.stream_decoder()
    for payload in (START, DELTA, END):
        decoder.feed((str(payload["type"]), json.dumps(payload)))
    assert decoder.feed(("ping", '{"type":"ping"}')) == []
    assert decoder.close() == []
