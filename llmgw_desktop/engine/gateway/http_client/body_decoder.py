"""A compressed upstream body, decoded a piece at a time as it is read, never whole.

The HTTP/1 client (`http1.py`) keeps a body as it arrives and hands it out through this when
it came with `Content-Encoding: gzip` or `deflate`: each read decodes at most `PIECE` bytes,
leaving the rest of the compressed input for the next read. So a reader's limit (a whole
answer's `gateway.max_answer_bytes`, a stream event's `gateway.max_sse_event_bytes`) counts
decoded bytes, and a small answer that inflates a thousandfold costs no more memory than a
plain one of the size the reader lets through (12 such answers at once, read whole, would
raise the gateway's memory by up to 1 GiB). Brotli is never asked for (`Accept-Encoding:
gzip`), and a body in any other encoding is read as it came.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

__all__ = ["PIECE", "BodyDecodeError", "BodyDecoder"]

# Decoded bytes handed out per read, at most.
PIECE = 256 * 1024


class BodyDecodeError(Exception):
    """The compressed data does not decode."""


class BodyDecoder:
    """Decodes one gzip or deflate body as it is read."""

    def __init__(self, decompressor: Any) -> None:
        self._zlib = decompressor
        # Compressed input the last read left over (it stopped at PIECE).
        self._tail = b""
        self._drained = False

    @classmethod
    def for_encoding(cls, encoding: str) -> BodyDecoder | None:
        """The decoder of `Content-Encoding: encoding`, or None (read the body as it came)."""
        if encoding in ("gzip", "x-gzip"):
            return cls(zlib.decompressobj(16 + zlib.MAX_WBITS))
        if encoding == "deflate":
            return cls(zlib.decompressobj())
        return None

    def next_piece(self, take: Callable[[], bytes | None], complete: bool) -> bytes | None:
        """The next decoded piece from the input `take` hands over (None: none buffered), or
        None when more input is needed (or, once `complete`, when the body has ended).

        Raises:
            BodyDecodeError: the data does not decode.
        """
        decoder = self._zlib
        try:
            while True:
                if self._tail:
                    data, self._tail = self._tail, b""
                elif (arrived := take()) is not None:
                    data = arrived
                elif complete and not self._drained:
                    # What the decoder still holds, a piece at a time, then its last bytes.
                    out = decoder.decompress(b"", PIECE)
                    if not out:
                        self._drained = True
                        out = decoder.flush()
                    return bytes(out) or None
                else:
                    return None
                out = decoder.decompress(data, PIECE)
                self._tail = decoder.unconsumed_tail
                if out:
                    return bytes(out)
        except zlib.error as exc:
            raise BodyDecodeError(str(exc)) from None
