"""A journal write that a full disk cuts short leaves no torn line for the next entry to join.

Before, a partial write stayed in the segment, the next entry was appended to that torn line,
and the replay skipped the whole line: a request's end was lost, and the row it belonged to
was closed as `interrupted` at the next start although its client had its answer (seen once
in tests/reliability/test_full_disk.py in a parallel CI run). The file-size limit
(`RLIMIT_FSIZE`) makes the kernel cut a real write short and refuse the rest, as a full disk
does; it runs in a child process so the limit never touches the test runner.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from llmgw_desktop.engine.recorder import journal as journal_module
from llmgw_desktop.engine.recorder.journal import RecorderJournal
from tests.child_python import run_python_ok

SCENARIO = """
import json, os, resource, signal, sys
from pathlib import Path
from llmgw_desktop.engine.recorder.journal import RecorderJournal

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
directory = Path(sys.argv[1])
journal = RecorderJournal(directory)
journal.open()
journal.append([{"update": "first", "fields": {"state": "completed"}}])
segment = next(directory.glob("recorder-journal.*"))
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
# Room for a few bytes more: the next write is cut short, then refused.
resource.setrlimit(resource.RLIMIT_FSIZE, (segment.stat().st_size + 10, hard))
journal.append([{"update": "cut", "fields": {"state": "completed", "pad": "x" * 200}}])
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # the disk has room again
journal.append([{"update": "after", "fields": {"state": "completed"}}])
journal.close()

again = RecorderJournal(directory)
again.open()
entries = again.take_replay().entries
print(json.dumps([e["update"] for e in entries]))
"""


def test_an_entry_after_a_write_cut_short_is_replayed(tmp_path: Path) -> None:
    out = run_python_ok("-c", SCENARIO, str(tmp_path))
    # The cut entry is lost (the disk refused it; the row is still in memory on its way to
    # the store), but nothing written after it is.
    assert out.strip() == '["first", "after"]'


def test_a_full_disk_pauses_the_journal_until_a_flush_reaches_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection, 2026-11-29: at 1,500 requests a second the journal took 8 MB of the
    14 MB freed on a full disk within seconds, and the store never wrote again. After the disk
    refuses a line the journal takes nothing (the rows wait in memory and the spill file) until
    the writer says a flush reached the store."""
    journal = RecorderJournal(tmp_path)
    journal.open()
    journal.append([{"update": "first", "fields": {"state": "completed"}}])
    real_write = os.write

    def full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module.os, "write", full)
    journal.append([{"update": "refused", "fields": {"state": "completed"}}])
    assert journal.paused
    monkeypatch.setattr(journal_module.os, "write", real_write)  # room again
    journal.append([{"update": "while paused", "fields": {"state": "completed"}}])
    journal.resume()  # a flush reached the store
    journal.append([{"update": "after", "fields": {"state": "completed"}}])
    journal.close()
    again = RecorderJournal(tmp_path)
    again.open()
    assert [e["update"] for e in again.take_replay().entries] == ["first", "after"]
