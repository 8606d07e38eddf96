"""The gateway's one AWS event-stream encoder against botocore's parser (AWS's own reading of
the framing), and the chunk messages the Bedrock door streams as AWS's SDKs read them."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.eventstream import EventStreamBuffer, EventStreamMessage

from llmgw_desktop.engine.gateway.clouds.eventstream import (
    EventStreamFramer,
    event_message,
    invoke_chunk,
)


def _parsed(data: bytes, *, step: int) -> list[EventStreamMessage]:
    """`data` parsed by botocore, fed `step` bytes at a time (a stream's pieces)."""
    buffer, messages = EventStreamBuffer(), []
    for at in range(0, len(data), step):
        buffer.add_data(data[at : at + step])
        messages.extend(buffer)
    return messages


@pytest.mark.parametrize("step", [1, 7, 4096])
def test_messages_parse_with_botocore_however_they_are_cut(step: int) -> None:
    headers = {":event-type": "messageStart", ":message-type": "event", "é-name": "valüe"}
    data = event_message(headers, b'{"role":"assistant"}') + event_message({}, b"")
    first, empty = _parsed(data, step=step)
    assert first.headers == headers
    assert first.payload == b'{"role":"assistant"}'
    assert (empty.headers, empty.payload) == ({}, b"")


def test_a_chunk_carries_the_model_event_as_base64_bytes() -> None:
    event = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hé"}}
    (message,) = _parsed(invoke_chunk(json.dumps(event).encode()), step=4096)
    assert message.headers == {
        ":event-type": "chunk",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(base64.b64decode(json.loads(message.payload)["bytes"])) == event


def test_the_gateways_own_reader_takes_back_what_it_writes() -> None:
    framer = EventStreamFramer()
    data = event_message({":event-type": "metadata", ":message-type": "event"}, b"{}")
    assert framer.feed(data[:5]) == []
    assert framer.feed(data[5:]) == [("metadata", "{}")]
    assert framer.close() == []


def test_a_header_too_long_for_the_framing_is_refused_not_cut() -> None:
    with pytest.raises(ValueError, match="too long"):
        event_message({"x" * 256: "v"}, b"")
    with pytest.raises(ValueError, match="too long"):
        event_message({"name": "v" * 65536}, b"")
