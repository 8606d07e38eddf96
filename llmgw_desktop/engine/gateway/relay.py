"""Relaying an upstream's stream to the client, translated or passed through, as it arrives.

Each upstream chunk becomes at most one write to the client: its SSE frames are decoded into
neutral events (always: the recorder needs the usage), then either re-encoded in the client's
dialect or, when both sides speak the same one, written back as the frames that came in.
Nothing waits for the whole answer. The frames come masked of the key the upstream was sent
and the gateway's own secrets (`UpstreamAnswer.frames`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.gateway.dialects.base import (
    FrameParser,
    SseFrame,
    StreamCut,
    StreamDecoder,
    StreamEncoder,
    UpstreamMalformed,
)
from llmgw_desktop.engine.gateway.http_client.answer import AnswerFrames, UpstreamAnswer
from llmgw_desktop.engine.gateway.http_client.http1_response import ResponseBroken
from llmgw_desktop.engine.gateway.http_client.sse import frame, joined_frames
from llmgw_desktop.engine.gateway.ir import MessageEnd, MessageStart, StreamEvent
from llmgw_desktop.engine.gateway.same_dialect.taps import StreamTap
from llmgw_desktop.engine.tokens.usage import Usage

__all__ = ["RelayedStream", "StreamOutcome", "UpstreamStream", "first_frames", "relay_events"]

log = logging.getLogger(__name__)


@dataclass
class StreamOutcome:
    """What the recorder learns from a finished stream."""

    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    model: str | None = None
    error: str | None = None
    completed: bool = False
    # The answer's id at the vendor (a relayed OpenAI Responses stream), for its owner.
    response_id: str | None = None
    # The vendor's server tools a relayed answer used, by name (billed per call).
    server_tools: dict[str, int] = field(default_factory=dict)
    # Events read from the upstream so far: about a token of output each, what a stream cut
    # before its usage arrived is counted at (`RequestRecords.answered`, `recording.py`).
    events: int = 0

    def observe(self, event: StreamEvent) -> None:
        if isinstance(event, MessageStart):
            self.model = event.model or self.model
            self.usage = event.usage
        elif isinstance(event, MessageEnd):
            self.usage = event.usage
            self.stop_reason = event.stop_reason
            self.completed = True


class UpstreamStream:
    """An open upstream SSE response, read frame by frame.

    `prime()` reads until the first frame has arrived, so a stream that fails at once can still
    fall back to the next route before anything was sent to the client.
    """

    def __init__(
        self,
        answer: UpstreamAnswer,
        decoder: StreamDecoder,
        *,
        skip_frame: Callable[[SseFrame], bool] | None = None,
        parser: FrameParser | None = None,
    ) -> None:
        """`parser`: how the stream's bytes split into frames (None: server-sent events)."""
        self._frames = answer.frames(parser)
        self._decoder = decoder
        self._skip = skip_frame
        self._primed: list[tuple[SseFrame, list[StreamEvent]]] = []
        self.outcome = StreamOutcome()

    async def prime(self) -> None:
        """Wait for the first frame and decode it.

        Raises:
            UpstreamMalformed, EngineError: the upstream ended, or sent an error, before any answer.
            OSError, TimeoutError: the connection broke or stalled.
        """
        self._primed = self._decode(await first_frames(self._frames))

    async def frames(self) -> AsyncIterator[list[tuple[SseFrame, list[StreamEvent]]]]:
        """Batches of (frame, its neutral events), one batch per upstream chunk.

        Raises:
            UpstreamMalformed, EngineError: the upstream sent an error event, or the stream ended
                unfinished.
            OSError, TimeoutError: the connection broke or stalled mid-stream.
        """
        try:
            if self._primed:
                batch, self._primed = self._primed, []
                yield batch
            while (frames := await self._frames.read()) is not None:
                if frames:
                    yield self._decode(frames)
            closing = self._decode(self._frames.close())
            try:
                owed = self._decoder.close()
            except UpstreamMalformed as exc:
                if isinstance(exc, StreamCut):
                    # Cut after its answer: what the upstream had counted by then, for the
                    # recorder (`RequestRecords.answered` estimates where that is nothing).
                    self.outcome.usage = exc.usage
                if closing:
                    yield closing  # what did arrive reaches the client before the error
                raise
            for event in owed:
                self.outcome.observe(event)
            if owed:
                closing.append((("", ""), owed))
            if closing:
                yield closing
        finally:
            self._frames.release()

    def _decode(self, frames: list[SseFrame]) -> list[tuple[SseFrame, list[StreamEvent]]]:
        out = []
        self.outcome.events += len(frames)
        for item in frames:
            events = self._decoder.feed(item)
            for event in events:
                self.outcome.observe(event)
            if self._skip is not None and self._skip(item):
                continue
            out.append((item, events))
        return out

    def close(self) -> None:
        self._frames.release()


async def first_frames(frames: AnswerFrames) -> list[SseFrame]:
    """The stream's first frames, once some have come (what a stream is primed with).

    Raises:
        UpstreamMalformed: the upstream ended the stream before any frame, or a frame is not one.
        OSError, TimeoutError: the connection broke or stalled.
    """
    while True:
        read = await frames.read()
        if read is None:
            ended = frames.close()
            if not ended:
                raise UpstreamMalformed("the upstream closed the stream without sending anything")
            return ended
        if read:
            return read


class ChunkMasking(Protocol):
    """What a stream's client bytes pass through as they go (`split_secrets.py`)."""

    def feed(self, chunk: bytes) -> bytes: ...

    def close(self) -> bytes: ...


async def relay_events(
    batches: AsyncIterator[list[tuple[SseFrame, list[StreamEvent]]]],
    encoder: StreamEncoder | None,
    split: ChunkMasking | None = None,
) -> AsyncIterator[bytes]:
    """Client bytes: re-encoded events, or (no encoder) the upstream's own frames; through
    `split` (a secret split over events masked) where one is given."""
    async for batch in batches:
        if encoder is None:
            out = b"".join(frame(data, event) for (event, data), _ in batch if data or event)
        else:
            out = b"".join(encoder.encode(e) for _, events in batch for e in events)
        if split is not None:
            out = split.feed(out)
        if out:
            yield out
    tail = b"" if encoder is None else encoder.close()
    if split is not None:
        tail = split.feed(tail) + split.close() if tail else split.close()
    if tail:
        yield tail


def is_usage_only_chunk(item: SseFrame) -> bool:
    """An OpenAI chat chunk carrying only usage (asked for by the gateway, not the client)."""
    data = item[1]
    if '"usage"' not in data:
        return False
    try:
        chunk = jsonio.loads(data)
    except ValueError:
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == [] and bool(chunk.get("usage"))


class RelayedStream:
    """An upstream stream in the client's own dialect, relayed byte for byte, an event at a
    time (the bytes of an event not ended yet wait for its end).

    `prime()` reads until the first frame has arrived, so a stream that fails at once can still
    fall back before anything was sent. The tap reads usage, the end and in-stream errors as the
    frames go by. `drop_frame` removes frames the client did not ask for (the usage chunk the
    gateway asked an OpenAI Chat stream for), and where the answer's reader masked a frame (the
    upstream's key, the gateway's own secrets) the bytes as they came are not to be had
    (`AnswerFrames.verbatim`): then the frames are written again instead. `split`: what masks
    a secret split over the events (`split_secrets.py`), fed the client's bytes in this one
    generator, as they go.
    """

    def __init__(
        self,
        answer: UpstreamAnswer,
        tap: StreamTap,
        drop_frame: Callable[[SseFrame], bool] | None = None,
        split: ChunkMasking | None = None,
    ) -> None:
        # An event's bytes are relayed once it ends, so an error event is seen whole (and
        # masked) before any of it reaches the client.
        self._frames = answer.frames(verbatim=True)
        self._tap = tap
        self._drop = drop_frame
        self._split = split
        self._primed = b""
        # Every chunk was taken by the reader, who came back for more: only then is the
        # stream complete for the client (the frames are read, and tapped, before it has them).
        self._taken = False
        self.outcome = StreamOutcome()

    async def prime(self) -> None:
        """Wait for the first frame.

        Raises:
            UpstreamMalformed: the upstream ended before any frame, or its first frames are an
                error.
            OSError, TimeoutError: the connection broke or stalled.
        """
        while not self._tap.frames:
            frames = await self._frames.read()
            if frames is None:
                self._primed += self._relay(self._frames.close())
                if not self._tap.frames:
                    raise UpstreamMalformed(
                        "the upstream closed the stream without sending anything"
                    )
                break
            self._primed += self._relay(frames)
        if self._tap.error is not None:
            raise UpstreamMalformed(f"the upstream's stream began with an error: {self._tap.error}")

    async def chunks(
        self, *, failed: Callable[[Exception], bytes], ended: Callable[[], None]
    ) -> AsyncGenerator[bytes, None]:
        """The client's bytes, chunk by chunk (the recorder's outcome is filled in as they go):
        where the connection broke or stalled mid-stream, or the stream ended before its last
        frame (`ResponseBroken`), or a frame was malformed, then `failed`'s last chunk (the
        outcome settled first); `ended` once they end, fail or are closed. One generator: a
        wrapper for the failure and the end cost a step more at every chunk."""
        try:
            try:
                if self._primed:
                    primed, self._primed = self._primed, b""
                    yield primed
                while (frames := await self._frames.read()) is not None:
                    out = self._relay(frames)
                    if out:
                        yield out
                tail = self._relay(self._frames.close()) + self._held()
                if tail:
                    yield tail
                if not self._tap.completed and self._tap.error is None:
                    # Over without its last frame: a body delimited by the connection's close
                    # ends "cleanly" when the upstream is cut off. A broken stream, as when a
                    # chunked one breaks off (not a client that left, as the recorder would
                    # otherwise say).
                    raise ResponseBroken("the upstream ended its stream before it was complete")
                self._taken = True
            finally:
                self._frames.release()
                self._settle()
        except (OSError, TimeoutError, UpstreamMalformed) as exc:
            yield self._held() + failed(exc)
        finally:
            ended()

    def _held(self) -> bytes:
        """What the split masking still holds back, at the stream's end."""
        return b"" if self._split is None else self._split.close()

    def _relay(self, frames: list[SseFrame]) -> bytes:
        out = self._relayed(frames)
        return out if self._split is None else self._split.feed(out)

    def _relayed(self, frames: list[SseFrame]) -> bytes:
        """The client's bytes for the frames one read ended (masked already)."""
        self._tap.feed_all(frames)
        kept = frames if self._drop is None else [f for f in frames if not self._drop(f)]
        raw = self._frames.verbatim
        if raw is not None and len(kept) == len(frames):
            # Nothing of these bytes dropped or masked (every chunk of an OpenAI Chat stream
            # but the usage one the gateway asked for): relayed as the upstream wrote them.
            return raw
        return joined_frames(kept)

    def _settle(self) -> None:
        outcome = self.outcome
        outcome.usage = self._tap.usage
        outcome.response_id = self._tap.response_id
        outcome.server_tools = self._tap.server_tools
        outcome.events = self._tap.frames
        outcome.completed = self._taken and self._tap.completed and self._tap.error is None
        if self._tap.error is not None:
            outcome.error = f"the upstream reported an error in the stream: {self._tap.error}"

    @property
    def next_sequence(self) -> int:
        """The number the stream's next event would carry (Responses' `sequence_number`)."""
        return self._tap.next_sequence

    def close(self) -> None:
        self._frames.release()
