"""Logging to a rotating file in the platform log dir, secrets masked, written off the loop.

Handlers that write files block, so records go through a queue to a listener thread; the loop
only enqueues. `--verbose` mirrors the same records to the console; without it, the records a
person at the terminal needs at once (the engine's `TERMINAL_LOG`: the first refusal of each
kind someone must set up) still go to stderr, as plain lines.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import os
import queue
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw_desktop.config.paths import ensure_private_dir
from llmgw_desktop.engine.api import TERMINAL_LOG, note_log_refused, redact

__all__ = ["LogFile", "LogSetup", "configure_logging"]

LOG_FILE_NAME = "llmgw-desktop.log"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# How a `TERMINAL_LOG` line reads on stderr without --verbose: as the program's own message.
TERMINAL_FORMAT = "llmgw-desktop: %(message)s"
# A write the disk refuses: full, over its quota, read-only.
DISK_REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class RedactingQueueHandler(logging.handlers.QueueHandler):
    """Render each record once (message and traceback) and mask secrets before queueing it."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        prepared = super().prepare(record)
        prepared.msg = redact(str(prepared.msg))
        return prepared


class LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file; a line the disk refuses (full, over quota, read-only) goes to
    stderr as it is, with one note the first time, instead of logging's own "--- Logging
    error ---" and a traceback for every line, and `/health` says so until a line fits again
    (`note_log_refused`). Anything else is logging's usual report."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = False  # the disk is refusing: said once until a line fits again
        self._failed = False  # the line being written was refused

    def emit(self, record: logging.LogRecord) -> None:
        self._failed = False
        super().emit(record)  # a failure comes back through `handleError`
        if not self._failed and self._refused:
            self._refused = False
            note_log_refused(None)  # `/health` says the log is written again

    def close(self) -> None:
        if self._refused:
            self._refused = False
            note_log_refused(None)  # this log is gone: nothing of it to say
        try:
            super().close()
        except OSError as exc:  # the last buffered bytes did not fit: a stop goes on
            if exc.errno not in DISK_REFUSALS:
                raise

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError) or exc.errno not in DISK_REFUSALS:
            super().handleError(record)
            return
        self._failed = True
        try:
            if not self._refused:
                sys.stderr.write(
                    f"llmgw-desktop: cannot write the log {self.baseFilename} ({exc.strerror}); "
                    "its lines come here until it can\n"
                )
                self._refused = True
                # No path: `/health` is for anyone who reaches the door.
                note_log_refused(f"the log file cannot be written: {exc.strerror}")
            sys.stderr.write(self.format(record) + "\n")
        except (OSError, ValueError):  # stderr closed too: nowhere left to say it
            pass


@dataclass
class LogSetup:
    """The running log pipeline; `close()` flushes and detaches it."""

    file: Path
    listener: logging.handlers.QueueListener
    queue_handler: logging.Handler

    def close(self) -> None:
        self.listener.stop()
        root = logging.getLogger()
        root.removeHandler(self.queue_handler)
        for handler in self.listener.handlers:
            handler.close()


def configure_logging(
    log_dir: Path, *, level: str, verbose: bool, max_bytes: int, backups: int
) -> LogSetup:
    """Send all records (at `level` and above) to the log file, and to stderr when verbose."""
    ensure_private_dir(log_dir)
    log_file = log_dir / LOG_FILE_NAME
    file_handler = LogFile(log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    if os.name == "posix":
        log_file.chmod(0o600)
    handlers: list[logging.Handler] = [file_handler]
    if verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
    if not verbose:
        terminal = logging.StreamHandler(sys.stderr)
        terminal.addFilter(logging.Filter(TERMINAL_LOG))
        terminal.setFormatter(logging.Formatter(TERMINAL_FORMAT))
        handlers.append(terminal)

    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    queue_handler = RedactingQueueHandler(records)
    listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    listener.start()

    root = logging.getLogger()
    root.setLevel(level.upper())
    root.addHandler(queue_handler)
    # aiohttp logs every request at INFO; that is the access log's business, not ours.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return LogSetup(log_file, listener, queue_handler)
