"""The one reader of a byte stream a line at a time, under a cap: server-sent events and
newline-delimited JSON from an upstream (`gateway/http_client/sse.py`), and the JSON lines a
CLI prints (`providers/base.py`).

Linear in what is fed: each chunk is searched once for line ends, and a line that spans chunks
is kept as a list of pieces, joined once when it ends (appending to one growing buffer and
searching it again from its start took time quadratic in the line's length: a 48 MiB line cost
17 s of CPU). What a reader holds unended (a line, or the event its lines make) is counted as it
arrives and refused with `LineTooLong` once it passes the cap, before it is held.
"""

from __future__ import annotations

import abc
from typing import ClassVar, Generic, TypeVar

__all__ = ["CappedLines", "LineTooLong"]

T = TypeVar("T")


class LineTooLong(ValueError):
    """What a reader holds unended (a line, or the frame its lines make) grew past its cap."""


class CappedLines(abc.ABC, Generic[T]):
    """Splits the bytes fed into lines (a trailing carriage return dropped, decoded as UTF-8)
    and hands each to `_read_line`, which makes the reader's items of them. A subclass says
    what the cap holds (`unit`, `setting`), and calls `_ended` where an item ends (after each
    line, or at an event's blank line): the count starts again there."""

    unit: ClassVar[str] = "a line"  # what the cap holds, in its error
    setting: ClassVar[str] = ""  # the setting the cap comes from, named in its error
    too_long: ClassVar[type[LineTooLong]] = LineTooLong

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._line: list[bytes] = []  # pieces of the line not ended yet
        # Raw bytes (line ends included) of the item not ended yet, its open line included.
        self.unfinished_bytes = 0

    def _lines(self, chunk: bytes) -> list[T]:
        """The items the lines `chunk` ends make, a line at a time (the rest is held).

        Raises:
            LineTooLong: the item being read grew past the cap (`too_long`).
        """
        items: list[T] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if start < len(chunk):
                    self._line.append(chunk[start:])
                    self._grow(len(chunk) - start)
                return items
            self._grow(end + 1 - start)
            piece = chunk[start:end]
            if self._line:
                self._line.append(piece)
                piece = b"".join(self._line)
                self._line = []
            start = end + 1
            self._read_line(piece.rstrip(b"\r").decode("utf-8", errors="replace"), items)

    @property
    def holds_line(self) -> bool:
        """Part of a line has come without its end."""
        return bool(self._line)

    def _grow(self, count: int) -> None:
        self.unfinished_bytes += count
        if self.unfinished_bytes > self.max_bytes:
            named = f" ({self.setting})" if self.setting else ""
            raise self.too_long(f"{self.unit} larger than {self.max_bytes} bytes{named}")

    def _ended(self) -> None:
        """An item ended: the cap counts the next from nothing."""
        self.unfinished_bytes = 0

    @abc.abstractmethod
    def _read_line(self, line: str, items: list[T]) -> None:
        """Take one line (without its end), adding to `items` what it completes."""
