"""AWS's event-stream framing, both ways: taken off Bedrock's streams by botocore's own parser,
and put on the streams the gateway's Bedrock door answers with.

Bedrock streams binary messages (a prelude with lengths and a CRC, typed headers, a payload, a
CRC of the whole), not server-sent events. `EventStreamFramer` feeds what arrives to botocore's
`EventStreamBuffer` and hands each whole message on as a frame the Converse decoder reads, in
the shape the SSE parser gives: `(event type, JSON payload)`, or `("exception:<type>", payload)`
for an exception. It has the SSE parser's interface (`feed`, `close`, `unfinished_bytes`), so
the stream relay reads either the same way.

`event_message` writes one message (botocore only parses): a 12-byte prelude (total length,
headers length, the CRC32 of those eight bytes), each header as its name's length, the name,
type 7 (a string), the value's length and the value, then the payload and the CRC32 of all
before it. It needs no library, so the Bedrock door answers without botocore installed.
`invoke_chunk` is the message InvokeModelWithResponseStream carries one model event in:
`{"bytes": base64(event)}` under the event type `chunk`, as AWS's SDKs (and Claude Code's)
read it.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from typing import Any

from llmgw_desktop.config.gateway_tables import DEFAULT_MAX_EVENT_BYTES
from llmgw_desktop.engine.gateway.clouds.base import load_library
from llmgw_desktop.engine.gateway.dialects.base import SseFrame, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.stream import EXCEPTION_PREFIX

__all__ = ["EVENT_STREAM_TYPE", "EventStreamFramer", "event_message", "invoke_chunk"]

EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream"
# A header's value type in the framing: 7 is a string (the only type Bedrock's events use).
_STRING = 7
# The prelude (two lengths and their CRC) and the message's own CRC at its end.
_PRELUDE_BYTES = 12
_CRC_BYTES = 4
_INVOKE_CHUNK = {":event-type": "chunk", ":content-type": "application/json"}


class EventStreamFramer:
    """Incremental AWS event-stream parsing: feed bytes, get the messages they complete."""

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        eventstream = load_library("botocore.eventstream", "Amazon Bedrock's streams")
        self._errors: type[Exception] = eventstream.ParserError
        self._buffer: Any = eventstream.EventStreamBuffer()
        self.max_event_bytes = max_event_bytes
        # Bytes of the message not ended yet (what the buffer holds).
        self.unfinished_bytes = 0

    def feed(self, chunk: bytes) -> list[SseFrame]:
        """The messages `chunk` completes, as frames.

        Raises:
            UpstreamMalformed: a message's checksum or lengths are wrong, or it grew past
                `max_event_bytes`.
        """
        self._buffer.add_data(chunk)
        self.unfinished_bytes += len(chunk)
        frames: list[SseFrame] = []
        try:
            for message in self._buffer:
                self.unfinished_bytes -= message.prelude.total_length
                frames.append(_frame(message.headers, message.payload))
        except self._errors as exc:
            raise UpstreamMalformed(f"bedrock event stream: {exc}") from None
        if self.unfinished_bytes > self.max_event_bytes:
            raise UpstreamMalformed(
                f"the upstream sent an event larger than {self.max_event_bytes} bytes "
                "(gateway.max_sse_event_bytes)"
            )
        return frames

    def close(self) -> list[SseFrame]:
        """Nothing is owed at the end: a message cut short is no message.

        Raises:
            UpstreamMalformed: the stream ended inside a message.
        """
        if self.unfinished_bytes:
            raise UpstreamMalformed("bedrock event stream ended inside a message")
        return []


def _frame(headers: dict[str, Any], payload: bytes) -> SseFrame:
    kind = headers.get(":message-type")
    text = payload.decode("utf-8", errors="replace")
    if kind in ("exception", "error"):
        name = headers.get(":exception-type") or headers.get(":error-code") or "error"
        message = headers.get(":error-message")
        if message and not text:
            text = str(message)
        return (f"{EXCEPTION_PREFIX}{name}", text)
    return (str(headers.get(":event-type") or ""), text)


def event_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message of string `headers` and `payload`.

    Raises:
        ValueError: a header's name is longer than 255 bytes, or its value than 65,535.
    """
    encoded = []
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        if len(raw_name) > 0xFF or len(raw_value) > 0xFFFF:
            raise ValueError(f"event-stream header {name!r} is too long")
        encoded.append(
            struct.pack("!B", len(raw_name))
            + raw_name
            + struct.pack("!BH", _STRING, len(raw_value))
            + raw_value
        )
    header_bytes = b"".join(encoded)
    total = _PRELUDE_BYTES + len(header_bytes) + len(payload) + _CRC_BYTES
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    message = prelude + header_bytes + payload
    return message + struct.pack("!I", binascii.crc32(message))


def invoke_chunk(event_json: bytes) -> bytes:
    """The message InvokeModelWithResponseStream carries one model event (its JSON) in."""
    payload = b'{"bytes":"' + base64.b64encode(event_json) + b'"}'
    return event_message({**_INVOKE_CHUNK, ":message-type": "event"}, payload)
