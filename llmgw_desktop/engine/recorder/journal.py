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
Each line carries a checksum (`journal_replay.py`): a segment with lines that cannot be read
gives what can be, and is then kept aside as `recorder-journal.NNNNNNNN.jsonl.damaged` beside
the journal, never deleted, as a damaged database is left for the person.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from llmgw_desktop.config.paths import set_aside
from llmgw_desktop.engine.recorder.journal_replay import (
    DamagedSegment,
    JournalReplay,
    line_of,
    read_segment,
    recover_inserts,
)
from llmgw_desktop.engine.recorder.rows import Entry
from llmgw_desktop.engine.recorder.spill import FULL, RESERVE_FILE, SPILL_FILE

__all__ = [
    "DAMAGED_SUFFIX",
    "JOURNAL_PREFIX",
    "RecorderJournal",
    "left_by_an_earlier_run",
]

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "recorder-journal."
_SUFFIX = ".jsonl"
# A segment kept aside for the person (a glob of segments does not match it).
DAMAGED_SUFFIX = ".damaged"


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
        # The disk refused a line: nothing more is journaled until a flush reaches the store
        # (`resume`). Room freed meanwhile is the store's first: the journal had taken 8 MB of
        # 14 MB freed within seconds at 1,500 requests/s, and the store never wrote again
        # (fault injection, 2026-11-29). The rows wait in memory and the spill file.
        self.paused = False

    def open(self) -> int:
        """Find what an earlier run left (replayed by the first flush); how many segments."""
        found = sorted(
            self._dir.glob(f"{JOURNAL_PREFIX}*{_SUFFIX}"), key=lambda path: _seq_of(path) or 0
        )
        self._replay = [
            path for path in found if path.suffix == _SUFFIX and _seq_of(path) is not None
        ]
        kept = sorted(self._dir.glob(f"{JOURNAL_PREFIX}*{_SUFFIX}{DAMAGED_SUFFIX}*"))
        # Past a damaged segment's number too: a new segment never takes its name.
        self._seq = max((_seq_of(path) or 0 for path in [*self._replay, *kept]), default=0)
        if kept:
            log.warning(
                "%d damaged recorder journal segment(s) of an earlier run are kept in %s (%s): "
                "the rows they could give were stored; look at them, then delete them",
                len(kept),
                self._dir,
                ", ".join(path.name for path in kept),
            )
        return len(self._replay)

    @property
    def replaying(self) -> bool:
        """Whether segments of an earlier run wait to be written."""
        return bool(self._replay)

    def append(self, entries: list[Entry]) -> None:
        """Add `entries` to the open segment; a failure (a full disk) is logged, never raised:
        the row is still in memory on its way to the store."""
        self.append_lines(b"".join(line_of(e) for e in entries))

    def append_lines(self, data: bytes) -> None:
        """`append` of entries already made into journal lines (`line_of`, `pair_lines`)."""
        if self.paused:
            return
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
            if exc.errno in FULL:
                self.paused = True

    def resume(self) -> None:
        """A flush reached the store: journal again (see `paused`)."""
        self.paused = False

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

    def take_replay(self) -> JournalReplay:
        """The earlier run's segments and the entries they give: damaged lines are counted
        and left out, and a row whose insert line is damaged is inserted from its update."""
        replay = JournalReplay()
        for path in self._replay:
            try:
                data = path.read_bytes()
            except OSError as exc:  # left where it is: tried again by the next flush
                log.warning("cannot read the recorder journal %s: %s", path, exc)
                continue
            entries, unreadable = read_segment(data)
            replay.entries += entries
            if unreadable:
                replay.damaged.append(DamagedSegment(path, len(entries), unreadable))
            else:
                replay.whole.append(path)
        replay.entries = recover_inserts(replay.entries)
        return replay

    def set_aside(self, damaged: list[DamagedSegment]) -> list[Path]:
        """Keep `damaged` segments beside the journal under a name no replay reads (what
        they could give is durable elsewhere now); where each went. Each is said once, with
        its counts, in a WARNING."""
        kept: list[Path] = []
        for segment in damaged:
            try:
                target = set_aside(segment.path, DAMAGED_SUFFIX)
            except OSError as exc:  # replayed again next start (idempotent) and said again
                log.warning("could not set the damaged journal %s aside: %s", segment.path, exc)
                continue
            kept.append(target)
            log.warning(
                "the recorder journal %s had %d unreadable line(s) (damaged on disk); %d "
                "entr(ies) were read and stored; kept as %s for you to look at",
                segment.path.name,
                segment.unreadable,
                segment.read,
                target,
            )
        self._forget([segment.path for segment in damaged])
        return kept

    def drop(self, segments: list[Path]) -> None:
        """Delete `segments`: what they hold is durable elsewhere now."""
        for path in segments:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:  # replayed again next start: harmless
                log.debug("could not delete the recorder journal %s: %s", path, exc)
        self._forget(segments)

    def _forget(self, segments: list[Path]) -> None:
        gone = set(segments)
        self._sealed = [path for path in self._sealed if path not in gone]
        self._replay = [path for path in self._replay if path not in gone]

    def close(self) -> None:
        self.seal()

    def _path(self, seq: int) -> Path:
        return self._dir / f"{JOURNAL_PREFIX}{seq:08d}{_SUFFIX}"


def left_by_an_earlier_run(directory: Path) -> list[str]:
    """The recorder's files in `directory` that only a run of the gateway makes (the spill
    reserve is made at every start with room for it): a sign that a store was used here.
    Blocking: a directory listing."""
    names = [name for name in (RESERVE_FILE, SPILL_FILE) if (directory / name).exists()]
    return names + sorted(path.name for path in directory.glob(f"{JOURNAL_PREFIX}*"))


def _seq_of(path: Path) -> int | None:
    """The number of a segment (`recorder-journal.00000012.jsonl`) or of one kept aside
    (`...jsonl.damaged`), else None."""
    middle, suffix, rest = path.name[len(JOURNAL_PREFIX) :].partition(_SUFFIX)
    if not suffix or not middle.isdigit() or (rest and not rest.startswith(DAMAGED_SUFFIX)):
        return None
    return int(middle)
