"""What the user reads when a command cannot go on: one line (or a few) and an exit code."""

from __future__ import annotations

import errno
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw_desktop.shell.exit_codes import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_PORT_IN_USE,
    EXIT_UNWRITABLE,
)

if TYPE_CHECKING:
    from llmgw_desktop.config.settings import ConfigError
    from llmgw_desktop.transports.http_server import PortInUse

__all__ = [
    "config_error_lines",
    "config_error_message",
    "fail",
    "port_in_use_message",
    "port_in_use_words",
    "unusable",
]

log = logging.getLogger(__name__)


def config_error_message(error: ConfigError, config_file: Path) -> int:
    """Print every problem the settings have (not only the first); EXIT_CONFIG."""
    lines = config_error_lines(error, config_file)
    for line in lines:
        said = line.startswith(("bad setting", "the settings file"))
        print(f"llmgw-desktop: {line}" if said else line, file=sys.stderr)
    return EXIT_CONFIG


def config_error_lines(error: ConfigError, config_file: Path) -> list[str]:
    """Every problem the settings have, and what to do: the lines stderr (each problem's
    first line after `llmgw-desktop: `) and the start-up dialog say."""
    from llmgw_desktop.config.settings import FILE_KEY

    if error.key == FILE_KEY:
        return [f"the settings file {error.source} {error.problem}"]
    lines = []
    for exc in error.errors:
        lines += [f"bad setting {exc.key}: {exc.problem}", f"  value from: {exc.source}"]
    many = len(error.errors) > 1
    return [
        *lines,
        f"  settings file: {config_file}",
        f"Fix the {'values' if many else 'value'} (or remove {'them' if many else 'it'} to use "
        "the default) and start again.",
    ]


def port_in_use_words(host: str, port: int) -> tuple[str, str]:
    """Why `host:port` cannot be listened on (ours from another data dir, or another
    program), and what to do: two sentences (blocking: asks the port who it is)."""
    from llmgw_desktop.transports.http_server import base_url, probe_gateway

    other = probe_gateway(base_url(host, port))
    if other is not None:
        who = f"another llmgw-desktop {other.get('version', '')} (using a different data dir)"
    else:
        who = "another program"
    return (
        f"cannot listen on {host}:{port}: the port is used by {who}.",
        "Stop that program, or choose another port with http.port in config.toml "
        "or the LLM_GATEWAY_HTTP_PORT environment variable.",
    )


def port_in_use_message(exc: PortInUse, host: str) -> int:
    """Explain a taken port on stderr and in the log; the exit code."""
    why, fix = port_in_use_words(host, exc.port)
    print(f"llmgw-desktop: {why}\n{fix}", file=sys.stderr)
    log.error("%s", why)
    return EXIT_PORT_IN_USE


def unusable(exc: OSError) -> int:
    """EXIT_UNWRITABLE for a file the gateway must open in its data or log dir (the log, the
    instance lock) that it cannot: one line naming the file and the reason, no traceback."""
    where = exc.filename or "a file in the data or log directory"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        cure = "free some room on its disk"
    else:
        cure = "move it out of the way"
    print(
        f"llmgw-desktop: cannot open {where} ({exc.strerror or exc}): {cure} or choose "
        "other directories with paths.data_dir / paths.log_dir, and start again.",
        file=sys.stderr,
    )
    return EXIT_UNWRITABLE


def fail(message: str) -> int:
    """Print and log `message`; EXIT_FAILURE."""
    print(f"llmgw-desktop: {message}", file=sys.stderr)
    log.error("%s", message)
    return EXIT_FAILURE
