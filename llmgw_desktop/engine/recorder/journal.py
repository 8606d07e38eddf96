"""The recorder's journal: each request's end, on local disk before its answer is complete.

Rows reach the store in batches every quarter second, so a process killed (kill -9, a crash,
the OOM killer) loses the batch it held in memory: requests whose clients had their whole
answer were then missing, or stayed `started`. So the moment a request ends, its row (or the
end's fields, when its start was already written) is appended to a journal file in the data
dir, in the form the store would hold it (redacted), before the last of the answer is sent. A
plain `write` with no fsync: the operating system keeps the page once it is written, so a
process that dies loses nothing; only a power loss or an OS crash can lose the last moments
(docs/RELIABILITY.md says so).

The journal is a series of segment files. A flush seals the open segment (new ends go to the
next one) and deletes the sealed ones once its batch is durable: stored, or in the spill file.
Segments found at start are a run that did not stop cleanly: the first flush writes their
entries with its own batch (before the start-up closes rows left `started`), then deletes
them. Writing an entry twice gives the same row (an insert of a row that exists does nothing,
an update sets the same values), so a crash between the commit and the deletion is harmless.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from llmgw_desktop.engine import jsonio
from llmgw_desktop.engine.recorder.rows import Entry

__all__ = ["JOURNAL_PREFIX", "RecorderJournal"]

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "recorder-journal."
_SUFFIX = ".jsonl"


class RecorderJournal:
    """The journal's segment files. `append` runs on the event loop (one small write to the
    page cache); the other methods block and run off it."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._seq = 0
        self._fd: int | None = None
        self._written = False  # the open segment has entries
        self._size = 0  # bytes in the open segment, all of them whole lines
        self._torn = False  # the open segment ends in part of a line that could not be cut
        self._sealed: list[Path] = []
        self._replay: list[Path] = []  # segments an earlier run left

    def open(self) -> int:
        """Find what an earlier run left (replayed by the first flush); how many segments."""
        found = sorted(
            self._dir.glob(f"{JOURNAL_PREFIX}*{_SUFFIX}"), key=lambda path: _seq_of(path) or 0
        )
        self._replay = [path for path in found if _seq_of(path) is not None]
        self._seq = max((_seq_of(path) or 0 for path in self._replay), default=0)
        return len(self._replay)

    @property
    def replaying(self) -> bool:
        """Whether segments of an earlier run wait to be written."""
        return bool(self._replay)

    def append(self, entries: list[Entry]) -> None:
        """Add `entries` to the open segment; a failure (a full disk) is logged, never raised:
        the row is still in memory on its way to the store."""
        data = b"".join(jsonio.dumps(e) + b"\n" for e in entries)
        if self._torn:  # end the torn line first, so it cannot swallow these entries
            data = b"\n" + data
        try:
            if self._fd is None:
                self._seq += 1
                self._fd = os.open(
                    self._path(self._seq), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
                )
                self._size = 0
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError:
                # A full disk takes part of a write, then refuses the rest: without the cut,
                # the next entry would be appended to the torn line, and a replay skips that
                # whole line, losing a request's end (seen as a row left `interrupted`).
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    self._torn = True
                raise
            # After a torn line the count missed its bytes: ask the file (rare, one syscall).
            self._size = os.fstat(self._fd).st_size if self._torn else self._size + len(data)
            self._torn = False
            self._written = True
        except OSError as exc:
            log.debug("could not journal a recorder row: %s", exc)

    def seal(self) -> list[Path]:
        """Close the open segment (the next end starts a new one); every sealed segment not
        yet dropped, oldest first, this run's only (`take_replay` has the earlier run's)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._torn = False
            if self._written:
                self._sealed.append(self._path(self._seq))
            else:
                self._path(self._seq).unlink(missing_ok=True)
            self._written = False
        return list(self._sealed)

    def take_replay(self) -> tuple[list[Path], list[Entry]]:
        """The earlier run's segments and their entries (torn or foreign lines skipped)."""
        entries: list[Entry] = []
        for path in self._replay:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                log.warning("cannot read the recorder journal %s: %s", path, exc)
                continue
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and ("insert" in entry or "update" in entry):
                    entries.append(entry)
        return list(self._replay), entries

    def drop(self, segments: list[Path]) -> None:
        """Delete `segments`: what they hold is durable elsewhere now."""
        for path in segments:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:  # replayed again next start: harmless
                log.debug("could not delete the recorder journal %s: %s", path, exc)
        gone = set(segments)
        self._sealed = [path for path in self._sealed if path not in gone]
        self._replay = [path for path in self._replay if path not in gone]

    def close(self) -> None:
        self.seal()

    def _path(self, seq: int) -> Path:
        return self._dir / f"{JOURNAL_PREFIX}{seq:08d}{_SUFFIX}"


def _seq_of(path: Path) -> int | None:
    middle = path.name[len(JOURNAL_PREFIX) : -len(_SUFFIX)]
    return int(middle) if middle.isdigit() else None
