"""What `llmgw-desktop mcp` reads when it serves MCP in process (no gateway runs): the editor's
lines handed to the SDK's stdio transport, each read by the relay's own reader
(`stdio_wire.read_line`), so the stdio door holds one line cap and refuses a line past it alike
whichever path serves it.

Left to itself, the SDK's `stdio_server()` reads stdin a whole line at a time however long it
grows: a line of many GB without a newline was held whole (SECURITY.md, finding 113). Given a
stdin of ours, the SDK leaves fd 0 alone, so `claimed_stdin` keeps what its own claim keeps:
the wire is read from a private duplicate, and meanwhile fd 0 reads the null device, so a
handler or a child process started while serving reads EOF there, never the editor's lines.
(The SDK still claims fd 1, diverting it to stderr.)

Imported only when this process serves in process: the SDK is loaded by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, BinaryIO, cast

from llmgw_desktop.transports.line_caps import LineTooLong
from llmgw_desktop.transports.mcp import stdio_wire as wire

if TYPE_CHECKING:
    import anyio
    from mcp.server.mcpserver import MCPServer

__all__ = ["CappedLines", "claimed_stdin", "serve_stdio"]

log = logging.getLogger(__name__)
STDIN_FD = 0


async def serve_stdio(server: MCPServer) -> None:
    """Serve `server` on this process's stdin and stdout until the editor closes stdin (as the
    SDK's `run_stdio_async`, with the editor's lines read under the door's cap).

    Raises:
        LineTooLong: the editor wrote a line past the cap; the session ended there.
    """
    from mcp.server.stdio import stdio_server

    with claimed_stdin() as wire_in:
        async with wire.opened_reader(wire_in) as reader:
            lines = CappedLines(reader)
            # The SDK only iterates its stdin for text lines: `CappedLines` gives them.
            stdin = cast("anyio.AsyncFile[str]", lines)
            async with stdio_server(stdin=stdin) as (read_stream, write_stream):
                low = server._lowlevel_server
                await low.run(read_stream, write_stream, low.create_initialization_options())
    if lines.refused is not None:
        raise lines.refused


class CappedLines:
    """The editor's lines, as text, the way the SDK's stdio transport iterates its stdin. A line
    past the cap ends them as the end of input would (the SDK's server then ends), and is kept
    in `refused` for the process to say, as the relay says it."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self.refused: LineTooLong | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        while True:
            try:
                line = await wire.read_line(self._reader)
            except LineTooLong as exc:
                log.warning("stdio MCP: %s", exc)
                self.refused = exc
                return
            if not line:
                return
            # As the SDK's own text layer reads it: UTF-8, a byte it cannot read replaced.
            yield line.decode("utf-8", errors="replace")


@contextlib.contextmanager
def claimed_stdin() -> Iterator[BinaryIO]:
    """The wire on fd 0, as a file over a private duplicate of it, while fd 0 reads the null
    device; fd 0 is the wire again after. Where fd 0 cannot be diverted (sys.stdin is not fd 0,
    or a descriptor call fails), the wire is read in place, as the SDK falls back to."""
    private = _divert_stdin()
    if private is None:
        yield sys.stdin.buffer
        return
    try:
        # closefd=False: the descriptor is closed here, once fd 0 has the wire back.
        yield os.fdopen(private, "rb", buffering=0, closefd=False)
    finally:
        _restore_stdin(private)


def _divert_stdin() -> int | None:
    """A private duplicate of fd 0 (above the standard range, not inherited by children), with
    fd 0 then pointed at the null device; None where that cannot be done (fd 0 untouched)."""
    try:
        if sys.stdin is None or sys.stdin.buffer.fileno() != STDIN_FD:
            return None
        private = _duplicate_above_std(STDIN_FD)
    except (AttributeError, OSError, ValueError):
        return None
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            os.dup2(null, STDIN_FD)
        finally:
            os.close(null)
    except OSError:
        # fd 0 must carry the wire (a Windows dup2 can close its target before failing).
        with contextlib.suppress(OSError):
            os.dup2(private, STDIN_FD)
        os.close(private)
        return None
    _rebind_windows_handle()
    return private


def _restore_stdin(private: int) -> None:
    try:
        os.dup2(private, STDIN_FD)
    except OSError:
        log.warning("could not give fd 0 back its stdin after serving MCP", exc_info=True)
        return
    _rebind_windows_handle()
    os.close(private)


def _duplicate_above_std(fd: int) -> int:
    """A close-on-exec duplicate of `fd` numbered 3 or more (never a standard stream's).

    Raises:
        OSError: it could not be made.
    """
    if sys.platform == "win32":  # pragma: no cover - os.dup's handles are not inherited
        duplicate = os.dup(fd)
        if duplicate <= 2:
            os.close(duplicate)
            raise OSError(f"a duplicate of fd {fd} landed on a standard stream's number")
        return duplicate
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def _rebind_windows_handle() -> None:
    """On Windows, point the process's standard input handle (which children inherit) at what
    fd 0 is now, as the SDK does for its own claim."""
    if sys.platform != "win32":
        return
    from mcp.os.win32.utilities import rebind_std_handle_to_fd  # pragma: no cover

    with contextlib.suppress(OSError):  # pragma: no cover
        rebind_std_handle_to_fd(STDIN_FD)
