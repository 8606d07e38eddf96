"""A dialect's event stream as the gateway reads it off the wire, for the dialect tests: its
SSE frames, and the neutral events the dialect's stream decoder makes of them."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.gateway.dialects.base import Dialect, SseFrame, StreamCut
from llmgw_desktop.engine.gateway.http_client.sse import SseParser
from llmgw_desktop.engine.gateway.ir import StreamEvent

__all__ = ["cut_stream", "decode_stream", "frames"]


def frames(raw: bytes) -> list[SseFrame]:
    """The SSE frames of `raw`, a last one without its blank line included."""
    parser = SseParser()
    return parser.feed(raw) + parser.close()


def decode_stream(dialect: Dialect, raw: bytes) -> list[StreamEvent]:
    """The neutral events `dialect`'s stream decoder makes of `raw`, closed at its end.

    Raises:
        ValueError: the decoder found the stream broken (the dialect's own error type).
    """
    decoder = dialect.stream_decoder()
    events = [event for frame in frames(raw) for event in decoder.feed(frame)]
    return events + decoder.close()


def cut_stream(dialect: Dialect, raw: bytes) -> tuple[list[StreamEvent], StreamCut]:
    """The neutral events `dialect`'s stream decoder makes of `raw`, and the `StreamCut` its
    close raises (the test fails if it does not)."""
    decoder = dialect.stream_decoder()
    events = [event for frame in frames(raw) for event in decoder.feed(frame)]
    with pytest.raises(StreamCut) as caught:
        decoder.close()
    return events, caught.value
