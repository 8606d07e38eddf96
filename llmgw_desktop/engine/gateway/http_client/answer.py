"""An upstream's 2xx answer as every reader gets it (`UpstreamAnswer`): its body read whole, or
its stream split into frames (server-sent events, newline-delimited JSON, AWS event streams)
under the frame cap, each already masked of the key the upstream was sent and of the gateway's
own secrets (SECURITY.md 26: a model may have been steered into repeating them).

The raw response stays inside: `UpstreamClient.send` hands out this answer and nothing else, so
a kind of call that reads its answer cannot forget the masking.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from llmgw_desktop.engine.gateway.http_client.failure import UpstreamFailure
from llmgw_desktop.engine.gateway.http_client.http1_response import (
    BodyTooLarge,
    Http1Response,
    StreamProgress,
)
from llmgw_desktop.engine.gateway.http_client.malformed import (
    FrameParser,
    SseFrame,
    UpstreamMalformed,
)
from llmgw_desktop.engine.gateway.http_client.sse import NdjsonParser, SseParser
from llmgw_desktop.engine.gateway.outcomes import Outcome
from llmgw_desktop.engine.redact import Spellings, known_secrets, redact, spellings_of

__all__ = ["AnswerFrames", "OutputPastHold", "UpstreamAnswer", "masked_frame"]


class OutputPastHold(UpstreamMalformed):
    """A stream sent more frames than the output a hard budget held for it: its vendor did not
    keep to the `max_tokens` it was sent (every frame of answer text is a token or more)."""


class UpstreamAnswer:
    """A 2xx answer of one upstream, read once: `whole()`, or `frames()` (the caller releases
    it when it stops reading a stream early)."""

    __slots__ = (
        "_headers",
        "_response",
        "_secrets",
        "max_answer_bytes",
        "max_event_bytes",
        "most_frames",
        "provider",
        "read_timeout_s",
    )

    def __init__(
        self,
        response: Http1Response,
        provider: str,
        secrets: tuple[str, ...],
        read_timeout_s: float,
        max_answer_bytes: int,
        max_event_bytes: int,
    ) -> None:
        """`secrets`: what the upstream was sent that it may echo (its key, a cloud's signed
        credential), longest first (`UpstreamTarget.scrubbed`)."""
        self._response = response
        self._secrets = secrets
        self._headers: Mapping[str, str] | None = None
        self.provider = provider
        # A whole answer must arrive within this; a stream may not stall longer.
        self.read_timeout_s = read_timeout_s
        self.max_answer_bytes = max_answer_bytes  # a whole answer is held in memory
        self.max_event_bytes = max_event_bytes  # one frame of a stream is
        # The most frames its stream may send (None: no bound): under a hard budget, past the
        # output held for it (`Line.send`).
        self.most_frames: int | None = None

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        """Its headers, each value masked as its body is: an upstream may echo the key it was
        sent in one (`x-debug-authorization`), and a client of its own dialect is sent them."""
        masked = self._headers
        if masked is None:
            masked = self._headers = _masked_headers(self._response.headers, self._secrets)
        return masked

    def release(self) -> None:
        """Done with it: unread, its connection closes (the upstream stops writing)."""
        self._response.release()

    @property
    def progress(self) -> StreamProgress:
        """How much of it has come and whether more is awaited, for a watch of a stream's
        silence (`balancing/liveness.py`): counts and flags, never its bytes."""
        return _Progress(self._response)

    async def whole(self, *, advice: str = "") -> bytes:
        """The body, read whole within the read timeout and the size limit (the answer is
        released), masked. `advice`: what a client whose answer was too large may do.

        Raises:
            UpstreamFailure: it broke off, stalled or was too large (another route may serve).
        """
        try:
            try:
                raw = await self._response.read(
                    timeout_s=self.read_timeout_s, limit=self.max_answer_bytes
                )
            finally:
                self._response.release()
        except BodyTooLarge as exc:
            raise UpstreamFailure(
                f"{self.provider}'s answer is larger than gateway.max_answer_bytes "
                f"({exc.limit} bytes)" + (f"; {advice}" if advice else ""),
                fallback=True,
                kind=Outcome.TOO_LARGE,
            ) from None
        except TimeoutError:
            # Its head came in time and its body did not (a server trickling it out): the
            # answer's own limit, as the client is told of one that never began.
            raise UpstreamFailure(
                f"{self.provider} did not finish its answer within {self.read_timeout_s:g} s "
                "(gateway.upstream_timeout_ms)",
                fallback=True,
                kind=Outcome.TIMEOUT,
            ) from None
        except OSError as exc:
            raise UpstreamFailure(
                f"{self.provider} broke off its answer: {type(exc).__name__}",
                fallback=True,
                kind=Outcome.BROKEN,
            ) from None
        # As written or in JSON escapes, which the client's decoder reads back (`Spellings`).
        return _masked_of(self._secrets).mask_bytes(raw)

    def frames(
        self, parser: FrameParser | None = None, *, lines: bool = False, verbatim: bool = False
    ) -> AnswerFrames:
        """The stream, frame by frame: split by `parser` (None: server-sent events, or with
        `lines` newline-delimited JSON, under the frame cap). `verbatim`: keep the bytes of
        each read's ended frames, to relay them as they came where masking changed nothing."""
        if parser is None:
            parser = (NdjsonParser if lines else SseParser)(self.max_event_bytes)
        return AnswerFrames(
            self._response,
            self._secrets,
            self.read_timeout_s,
            parser,
            verbatim=verbatim,
            most_frames=self.most_frames,
        )


def _masked_headers(headers: Mapping[str, str], secrets: tuple[str, ...]) -> Mapping[str, str]:
    """`headers` with `secrets` and the gateway's own masked in each value (the same mapping
    when none holds any, as nearly every answer's: told by one search of the values joined)."""
    joined = "\n".join(headers.values())
    masked = _masked_of(secrets)
    if not masked.present(joined):
        return headers
    return {name: masked.mask(value) for name, value in headers.items()}


class _Progress:
    """A response's counts and flags alone (`UpstreamAnswer.progress`): the raw response, which
    reads unmasked bytes, stays inside."""

    __slots__ = ("_response",)

    def __init__(self, response: Http1Response) -> None:
        self._response = response

    @property
    def received(self) -> int:
        return self._response.received

    @property
    def ended(self) -> bool:
        return self._response.ended

    @property
    def awaited(self) -> bool:
        return self._response.awaited


class AnswerFrames:
    """An answer's stream as masked frames, a read at a time (`UpstreamAnswer.frames`)."""

    __slots__ = (
        "_frames_left",
        "_held",
        "_held_bytes",
        "_keep",
        "_masked",
        "_parser",
        "_response",
        "_timeout_s",
        "_wholeless_since",
        "verbatim",
    )

    def __init__(
        self,
        response: Http1Response,
        secrets: tuple[str, ...],
        timeout_s: float,
        parser: FrameParser,
        *,
        verbatim: bool,
        most_frames: int | None = None,
    ) -> None:
        self._response = response
        self._masked = _masked_of(secrets)  # what its frames are masked of
        # The longest a stream may stall: no byte, or (`read`) no whole frame for that long.
        self._timeout_s = timeout_s
        # Since when the reads have ended no frame (None: the last one ended some).
        self._wholeless_since: float | None = None
        self._frames_left = most_frames  # None: no bound
        self._parser = parser
        self._keep = verbatim
        # Raw bytes of the frame not ended yet: relayed once it ends, so an error event is
        # seen whole (and masked) before any of it reaches the client.
        self._held: list[bytes] = []
        self._held_bytes = 0
        # The bytes of the frames the last read ended, as the upstream wrote them, where
        # masking changed nothing in them (None: write the frames again).
        self.verbatim: bytes | None = None

    def release(self) -> None:
        """Done with the stream: unread, its connection closes (the upstream stops writing)."""
        self._response.release()

    async def read(self) -> list[SseFrame] | None:
        """The frames the stream's next piece ends (perhaps none), masked; None once the body
        has ended (`close` gives what it left unended).

        Raises:
            OSError, TimeoutError: the connection broke or stalled.
            UpstreamMalformed: a frame grew past the cap, or is not one (`SseTooLarge` ...).
        """
        chunk = await self._response.readany(self._timeout_s)
        if not chunk:
            return None
        frames = self._ended(chunk, self._parser.feed(chunk))
        if frames:
            self._wholeless_since = None
            left = self._frames_left
            if left is not None:
                self._frames_left = left = left - len(frames)
                if left < 0:
                    self._past_hold()
        elif self._parser.unfinished_bytes:
            self._no_whole_frame()
        else:
            self._wholeless_since = None  # a comment whole: a live upstream's keep-alive
        return frames

    def _past_hold(self) -> None:
        """It sent more frames than it may (`most_frames`): the connection goes, so the vendor
        stops writing, and billing, an answer nobody will read.

        Raises:
            OutputPastHold: always.
        """
        self._response.release()
        raise OutputPastHold(
            "the upstream sent more of its answer than the output a hard budget held for it "
            "(it did not keep to the max_tokens it was sent); the rest is not relayed"
        )

    def _no_whole_frame(self) -> None:
        """A read ended no frame and left part of one held: bytes of an event that keep coming
        a few at a time would each restart `readany`'s limit, so these reads have one of their
        own, counted from the first of them (a stream so held ends within twice the limit).
        Comments alone end no frame and hold nothing: a live upstream's keep-alive while its
        model thinks, which is not cut.

        Raises:
            TimeoutError: no frame has ended for the stream's stall limit.
        """
        now = time.monotonic()
        since = self._wholeless_since
        if since is None:
            self._wholeless_since = now
        elif now - since > self._timeout_s:
            self._response.release()
            raise TimeoutError(
                f"the upstream sent bytes but no whole event for {now - since:.0f} s "
                "(gateway.upstream_timeout_ms)"
            )

    def close(self) -> list[SseFrame]:
        """A last frame the stream did not end (some servers end that way), masked."""
        return self._ended(b"", self._parser.close(), final=True)

    def _ended(
        self, chunk: bytes, frames: list[SseFrame], *, final: bool = False
    ) -> list[SseFrame]:
        if not self._keep:
            return [masked_frame(item, self._masked) for item in frames]
        raw = self._raw(chunk, final=final)
        safe = self._safe(raw)
        # `find`, not `in`: `bytes in bytes` first tries its operand as an integer (a byte's
        # value) and makes, then drops, a TypeError, which costs more than the search here.
        if safe and raw.find(b"error") < 0:
            # The frames' bytes hold nothing masked and no error (whose frame is scrubbed of
            # what looks secret): no frame changes, and none is read a second time to know it
            # (a secret is found in a frame's data exactly where its bytes hold it).
            self.verbatim = raw
            return frames
        masked = [masked_frame(item, self._masked) for item in frames]
        # Masking a frame changes its data: the lists differ exactly where it changed one.
        self.verbatim = None if masked != frames or not safe else raw
        return masked

    def _safe(self, raw: bytes) -> bool:
        """Whether `raw` holds none of what is masked (a comment line is not a frame)."""
        return not self._masked.present_bytes(raw)

    def _raw(self, chunk: bytes, *, final: bool) -> bytes:
        """The bytes of the frames `chunk` ended (the rest held till its frame ends). Joined
        only when a frame has ended: one growing over many chunks is not copied at each."""
        unfinished = 0 if final else self._parser.unfinished_bytes
        if not self._held and not unfinished:
            return chunk  # nothing held, and every byte of it ended a frame: the usual piece
        if chunk:
            self._held.append(chunk)
            self._held_bytes += len(chunk)
        ended = self._held_bytes - unfinished
        if ended <= 0:
            return b""
        held = b"".join(self._held)
        raw, rest = held[:ended], held[ended:]
        self._held, self._held_bytes = ([rest] if rest else []), len(rest)
        return raw


def masked_frame(item: SseFrame, secrets: Spellings) -> SseFrame:
    """`item` without what its upstream was sent or the operator's own secrets (`secrets`, as
    `_masked_of` gives them), and, when it reports an error, without anything else that is
    unmistakably a secret (as an error body is scrubbed): upstreams echo the key they were sent
    in their error messages, in streams as in whole bodies."""
    event, data = item
    data = secrets.mask(data)
    if event is not None:  # written again with its frame, as the data is
        event = secrets.mask(event)
    # Inside a JSON string a quote is escaped: `"error"` bare is the event's own key or type.
    if event == "error" or '"error"' in data:
        data = redact(data, named=False)
    return item if data == item[1] and event == item[0] else (event, data)


def _masked_of(secrets: tuple[str, ...]) -> Spellings:
    """What an answer is masked of: the key its upstream was sent (`secrets`) and the master
    key, the bearer token ... (SECURITY.md 20), as one set searched once."""
    return spellings_of(secrets, known_secrets.values)
