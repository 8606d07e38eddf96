"""Recorder rows the store could not take, kept in a file until it can.

When a flush fails (a full disk, a damaged index, a locked file) its rows are appended to
`recorder-spill.jsonl` in the data dir, one JSON object a line, fsync'd, in the form they would
have had in the database: already redacted by the recorder. The next flush that reaches the
store (at once when it recovers, or at the next start) replays the file in transactions of a
thousand entries (`writer.REPLAY_CHUNK`: one for the whole file held the database
thread for tens of seconds), then forgets what it read: whole lines appended after the replay
read the file stay in it for the next (before, the whole file was deleted, and 34,856 of 60,000
rows appended while a replay was under way were lost: CI of 7a429c9). Replay is idempotent: an
insert of a row that exists does nothing and an update sets the same values again, so a file
replayed twice (a crash between the commit and the truncation, or a replay cut short) still
gives one row per request.

A full disk would refuse the spill too, so a reserve file of a few MB is kept beside it, and an
append that finds no space takes from it only the blocks its rows need (and one more): given
up whole, the rest was room the response cache or the store took next, and the next append
found the disk full again. What was taken is put back once the spill has been replayed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from pathlib import Path

from llmgw_desktop.config.paths import ensure_private_file
from llmgw_desktop.engine.recorder.rows import Entry

__all__ = ["FULL", "RESERVE_BYTES", "SPILL_FILE", "RecorderSpill"]

log = logging.getLogger(__name__)

SPILL_FILE = "recorder-spill.jsonl"
RESERVE_FILE = "recorder-spill.reserve"
FULL = (errno.ENOSPC, errno.EDQUOT)
RESERVE_BYTES = 4 * 1024 * 1024  # about 8,000 rows' worth of lines


class RecorderSpill:
    """The spill file and its reserve. Blocking methods: call them off the event loop."""

    def __init__(self, directory: Path, *, reserve_bytes: int = RESERVE_BYTES) -> None:
        self.path = directory / SPILL_FILE
        self._reserve = directory / RESERVE_FILE
        self._reserve_bytes = reserve_bytes
        self.rows = 0  # inserts waiting in the file
        self.entries = 0  # inserts and updates waiting: replay when nonzero (no stat per flush)
        self._read_bytes = 0  # how much of the file the last `read` took in: what `clear` forgets

    def open(self) -> None:
        """Count what an earlier run left, and put the reserve in place if there is room."""
        entries = self.read()
        self.entries = len(entries)
        self.rows = sum(1 for entry in entries if "insert" in entry)
        self.keep_reserve()

    def keep_reserve(self) -> None:
        """Put the reserve in place, or back to its size where appends took from it; what
        cannot be written now (no room) is tried again when writes recover."""
        held = self._reserve_size()
        if self._reserve_bytes <= 0 or held >= self._reserve_bytes:
            return
        try:
            ensure_private_file(self._reserve)
            with self._reserve.open("ab") as handle:
                handle.write(b"\0" * (self._reserve_bytes - held))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            with contextlib.suppress(OSError):  # keep what it held, never less
                os.truncate(self._reserve, held)
            log.debug("no room for the recorder's spill reserve: %s", exc)

    def _reserve_size(self) -> int:
        try:
            return self._reserve.stat().st_size
        except FileNotFoundError:
            return 0

    def _take_from_reserve(self, needed: int) -> bool:
        """Free `needed` bytes and the slack from the reserve for an append; False when it
        holds nothing to give."""
        held = self._reserve_size()
        if held <= 0:
            return False
        # The rows' bytes rounded up to whole blocks, and one more for the file's own: what
        # is freed beyond what the append then uses is room another writer may take.
        block = os.statvfs(self._reserve.parent).f_frsize or 4096
        left = max(0, held - (needed // block + 2) * block)
        os.truncate(self._reserve, left)
        # Said once a spell: the first take is from a whole reserve.
        say = log.warning if held >= self._reserve_bytes else log.debug
        say(
            "disk full: took %d KiB of the recorder's spill reserve to keep its rows (%d KiB left)",
            (held - left) // 1024,
            left // 1024,
        )
        return True

    def append(self, entries: list[Entry]) -> None:
        """Append `entries` durably.

        Raises:
            OSError: they could not be written even after giving up the reserve.
        """
        if not entries:
            return
        data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries).encode()
        try:
            self._write(data)
        except OSError as exc:
            if exc.errno not in FULL or not self._take_from_reserve(len(data)):
                raise
            try:
                self._write(data)
            except OSError as again:  # its blocks rounded up past what was taken: all of it
                if again.errno not in FULL or not self._take_from_reserve(self._reserve_size()):
                    raise
                self._write(data)
        self.rows += sum(1 for e in entries if "insert" in e)
        self.entries += len(entries)

    def _write(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, start)  # never leave half a line behind
                raise
        finally:
            os.close(fd)

    def read(self) -> list[Entry]:
        """Every entry in the file's whole lines, in order; a torn or foreign line is skipped,
        and a last line without its end (being written) is left for the next read."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self._read_bytes = 0
            return []
        self._read_bytes = data.rfind(b"\n") + 1
        return _entries(data[: self._read_bytes])

    def clear(self) -> None:
        """Forget what the last `read` took in (its rows are in the store now); whole lines
        appended since stay, for the next replay."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._read_bytes)
                tail = handle.read()
        except FileNotFoundError:
            tail = b""
        if b"\n" not in tail:  # nothing appended, or only a torn line: nothing to keep
            self.path.unlink(missing_ok=True)
            self.rows = self.entries = 0
        else:
            # Whole or not at all: a new file put in its place, never the old one cut.
            fresh = self.path.with_name(self.path.name + ".tail")
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(tail)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            fresh.replace(self.path)
            kept = _entries(tail)
            self.entries = len(kept)
            self.rows = sum(1 for entry in kept if "insert" in entry)
            log.info("%d recorder row(s) spilled while a replay ran wait for the next", self.rows)
        self._read_bytes = 0
        self.keep_reserve()


def _entries(data: bytes) -> list[Entry]:
    """The entries in spill-file lines, in order; a torn or foreign line is skipped."""
    entries = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and ("insert" in entry or "update" in entry):
            entries.append(entry)
    return entries
