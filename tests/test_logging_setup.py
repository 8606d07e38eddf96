"""The log file on a disk that refuses every write: its lines still reach stderr, as lines.

`/dev/full` answers every write with ENOSPC, as a full disk does. Before, logging printed
"--- Logging error ---" and a traceback for each line (issue 38, item 3): on a full disk the
gateway's stderr filled with tracebacks of its own log, and the lines themselves were lost.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llmgw_desktop.shell.logging_setup import FORMAT, LogFile

FULL = Path("/dev/full")


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
def test_lines_the_disk_refuses_go_to_stderr_with_one_note_and_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = LogFile(FULL, maxBytes=0, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("tests.full_log")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for n in range(3):
            logger.warning("line %d", n)
    finally:
        logger.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert err.count("cannot write the log /dev/full (No space left on device)") == 1, err
    assert [line.rsplit(": ", 1)[1] for line in err.splitlines()[1:]] == [
        "line 0",
        "line 1",
        "line 2",
    ]
    assert "Traceback" not in err and "Logging error" not in err
