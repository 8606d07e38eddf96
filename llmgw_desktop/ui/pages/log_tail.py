"""Following the app's log file: the last lines, then only what was appended since.

No Qt here. `LogTail.read_new` does blocking file I/O, so the Log page runs it through
`asyncio.to_thread`, one call at a time; it touches no shared state but its own file position,
and the page adds what it found to `lines` (`keep`) on its own thread.

The file is opened, read and closed on every call, never held open: the rotating handler
renames it when it is full, which Windows refuses while another handle has it open. A file
that is smaller than what was read, or another file under the same name, was rotated (or
replaced): reading starts again at its beginning.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LEVELS",
    "MAX_LINES",
    "MAX_READ_BYTES",
    "LogLine",
    "LogTail",
    "TailUpdate",
    "line_level",
]

MAX_LINES = 2000  # kept and shown; older lines scroll away
MAX_READ_BYTES = 1 << 20  # per read: 2,000 lines of a busy log fit well within a MiB
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

# logging_setup.FORMAT: "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ([A-Z]+)\b")


@dataclass(frozen=True)
class LogLine:
    """One line of the file, with the level of the record it belongs to."""

    level: int
    text: str


@dataclass(frozen=True)
class TailUpdate:
    """What one read found."""

    exists: bool
    new: tuple[LogLine, ...] = ()
    rotated: bool = False  # the lines before this read came from an earlier file


def line_level(text: str, previous: int) -> int:
    """The level a line starts with, else `previous` (a traceback's lines belong to the
    record above them)."""
    match = _RECORD.match(text)
    if match is None:
        return previous
    return LEVELS.get(match.group(1), previous)


class LogTail:
    """The last `MAX_LINES` lines of `path`, kept current by `read_new`."""

    def __init__(self, path: Path, max_lines: int = MAX_LINES) -> None:
        self.path = path
        self._max_lines = max_lines
        self.lines: deque[LogLine] = deque(maxlen=max_lines)
        self._offset = 0
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file read
        self._partial = b""  # a line still being written
        self._level = LEVELS["INFO"]

    def read_new(self) -> TailUpdate:
        """Read what was appended since the last call (blocking: run it off the loop)."""
        try:
            with self.path.open("rb") as file:
                stat = os.fstat(file.fileno())
                identity = (stat.st_dev, stat.st_ino)
                rotated = self._identity is not None and (
                    identity != self._identity or stat.st_size < self._offset
                )
                if rotated:
                    self._offset, self._partial = 0, b""
                self._identity = identity
                start = self._offset
                if stat.st_size - start > MAX_READ_BYTES:
                    # Only the last lines are kept anyway: skip to the tail, and drop the
                    # first line read, which starts mid-line.
                    start = stat.st_size - MAX_READ_BYTES
                    self._partial = b""
                file.seek(start)
                data = file.read(stat.st_size - start)
                skip_first = start != self._offset
                self._offset = start + len(data)
        except FileNotFoundError:
            return TailUpdate(exists=False)
        chunks = (self._partial + data).split(b"\n")
        self._partial = chunks.pop()  # after the last newline: not a whole line yet
        if skip_first and chunks:
            chunks.pop(0)
        new = []
        for chunk in chunks:
            text = chunk.decode("utf-8", errors="replace").rstrip("\r")
            self._level = line_level(text, self._level)
            new.append(LogLine(self._level, text))
        del new[: -self._max_lines]  # more than fits: only the newest are kept
        return TailUpdate(exists=True, new=tuple(new), rotated=rotated)

    def keep(self, update: TailUpdate) -> None:
        """Add what a read found to `lines`. On the thread that reads `lines` (the page's),
        never in `read_new`: a filter redrawing from `lines` while a worker thread extended
        them would fail with "deque mutated during iteration"."""
        self.lines.extend(update.new)
