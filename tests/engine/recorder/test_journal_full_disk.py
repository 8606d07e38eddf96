"""A journal write that a full disk cuts short leaves no torn line for the next entry to join.

Before, a partial write stayed in the segment, the next entry was appended to that torn line,
and the replay skipped the whole line: a request's end was lost, and the row it belonged to
was closed as `interrupted` at the next start although its client had its answer (seen once
in tests/reliability/test_full_disk.py in a parallel CI run). The file-size limit
(`RLIMIT_FSIZE`) makes the kernel cut a real write short and refuse the rest, as a full disk
does; it runs in a child process so the limit never touches the test runner.
"""

from __future__ import annotations

from pathlib import Path

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
