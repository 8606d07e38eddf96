"""What every reader of an upstream's answer shares: one server-sent event's shape, what splits
a stream's bytes into them, and the error that says the answer is not what its dialect says.

Here, under the upstream client, so that the SSE reader (`sse.py`) loads without the dialects
and the neutral form (the editor's stdio relay reads the gateway's event streams with it and
must start light), and the client knows no dialect; the dialects' protocol (`dialects/base.py`)
names them too.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["FrameParser", "SseFrame", "UpstreamMalformed"]

# One server-sent event: (event name or None, data text).
SseFrame = tuple[str | None, str]


class FrameParser(Protocol):
    """Splits a stream's bytes into frames: server-sent events or newline-delimited JSON
    (`sse.py`), or the AWS event stream Bedrock sends (`clouds/eventstream.py`)."""

    # Bytes fed of the frame not ended yet (held until it ends).
    unfinished_bytes: int

    def feed(self, chunk: bytes) -> list[SseFrame]: ...

    def close(self) -> list[SseFrame]: ...


class UpstreamMalformed(ValueError):
    """An upstream's answer or stream is not what its dialect says (not JSON, not the answer's
    shape, events out of order, cut short): a finding about the upstream, which may fall back.

    The dialect parsers, the stream relay and the SSE reader raise it; the gateway treats only
    it (and undecodable JSON) as an upstream's fault, so a `ValueError` from a bug of ours is an
    internal error, never a reason to try the next target.
    """
