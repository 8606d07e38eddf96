"""The log file on a disk that refuses every write: its lines still reach stderr, as lines.

`/dev/full` answers every write with ENOSPC, as a full disk does. Before, logging printed
"--- Logging error ---" and a traceback for each line (issue 38, item 3): on a full disk the
gateway's stderr filled with tracebacks of its own log, and the lines themselves were lost.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llmgw_desktop.engine.api import TERMINAL_LOG
from llmgw_desktop.engine.log_health import log_problem
from llmgw_desktop.shell.logging_setup import FORMAT, LogFile, configure_logging

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
        # Said on /health meanwhile (no path), and no longer once the log is closed.
        assert log_problem() == "the log file cannot be written: No space left on device"
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert log_problem() is None
    err = capsys.readouterr().err
    assert err.count("cannot write the log /dev/full (No space left on device)") == 1, err
    assert [line.rsplit(": ", 1)[1] for line in err.splitlines()[1:]] == [
        "line 0",
        "line 1",
        "line 2",
    ]
    assert "Traceback" not in err and "Logging error" not in err


def test_terminal_lines_reach_stderr_without_verbose_and_the_file_always(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = configure_logging(tmp_path, level="info", verbose=False, max_bytes=10**6, backups=1)
    try:
        logging.getLogger(TERMINAL_LOG).warning("refused a request: set a key")
        logging.getLogger("llmgw_desktop.engine.other").warning("only in the file")
    finally:
        setup.close()
    err = capsys.readouterr().err
    assert err == "llmgw-desktop: refused a request: set a key\n"
    written = setup.file.read_text(encoding="utf-8")
    assert "refused a request: set a key" in written and "only in the file" in written
