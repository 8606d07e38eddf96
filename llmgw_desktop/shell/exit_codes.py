"""The exit codes of the `llmgw-desktop` command, in one place (docs/install.md lists them too).

Every failure a user can cause (a bad setting, a settings file that is not UTF-8, a taken
port, a directory it may not write, an unreadable database) ends in one clear message and a
non-zero exit code, never a traceback:

  0  stopped cleanly, or handed off to the running instance
  1  could not start (for example an unreadable database)
  2  a bad setting, or a settings file that cannot be read as UTF-8 TOML
  3  the port is taken
  4  a directory the gateway keeps its files in (data, database, log) cannot be written
  5  stopped, but flight-recorder rows were lost: neither the store nor the disk took them
  130  stopped by Ctrl+C before the signal handlers were in place

`db copy` (moving a store to PostgreSQL) ends with 0 when the copy is made and every table's
count agrees, 1 when it is refused (a gateway running, a target holding rows), fails or a count
differs, and 2 for a `--to` that is not a PostgreSQL URL.
"""

from __future__ import annotations

import sys

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PORT_IN_USE",
    "EXIT_ROWS_LOST",
    "EXIT_UNWRITABLE",
    "rows_lost_at_stop",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_PORT_IN_USE = 3
EXIT_UNWRITABLE = 4
EXIT_ROWS_LOST = 5
EXIT_INTERRUPTED = 130


def rows_lost_at_stop(lost: int) -> int:
    """The exit code of a stop that lost `lost` flight-recorder rows, said on stderr when it is
    not 0: every way of running (headless, the window, a worker) exits the same way, so a
    supervisor (systemd, a script) never takes such a stop for a clean one."""
    if not lost:
        return EXIT_OK
    print(
        f"llmgw-desktop stopped, but {lost:,} flight-recorder row(s) were lost: neither the "
        "store nor the disk took them (the log says why).",
        file=sys.stderr,
        flush=True,
    )
    return EXIT_ROWS_LOST
