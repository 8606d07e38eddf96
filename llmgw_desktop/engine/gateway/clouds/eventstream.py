"""The AWS event-stream framing of ConverseStream, taken off by botocore's own parser.

Bedrock streams binary messages (a prelude with lengths and a CRC, typed headers, a payload, a
CRC of the whole), not server-sent events. `EventStreamFramer` feeds what arrives to botocore's
`EventStreamBuffer` and hands each whole message on as a frame the Converse decoder reads, in
the shape the SSE parser gives: `(event type, JSON payload)`, or `("exception:<type>", payload)`
for an exception. It has the SSE parser's interface (`feed`, `close`, `unfinished_bytes`), so
the stream relay reads either the same way.
"""

from __future__ import annotations

from typing import Any

from llmgw_desktop.config.gateway_tables import DEFAULT_MAX_EVENT_BYTES
from llmgw_desktop.engine.gateway.clouds.base import load_library
from llmgw_desktop.engine.gateway.dialects.base import SseFrame, UpstreamMalformed
from llmgw_desktop.engine.gateway.dialects.bedrock_converse.stream import EXCEPTION_PREFIX

__all__ = ["EventStreamFramer"]


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
