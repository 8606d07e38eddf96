"""A real CLI on a pseudo-terminal, as a person runs it: what its screen shows, and keys typed
into it. For what only its interactive start does (first-run dialogs), which `-p` skips.

    async with Terminal(("claude",), env=env, cwd=work) as screen:
        await screen.shows("Yes, I trust this folder")
        screen.type("\r")
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import signal
import struct
import termios
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["Terminal"]

# Control sequences (colour, cursor moves, titles): a screen's text is what is left.
_CONTROL = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")
ROWS, COLUMNS = 40, 120
# How long a step waits for the screen to show what it expects.
STEP_TIMEOUT_S = 60.0


def _flat(text: str) -> str:
    """Text without its spaces: a TUI draws words by cursor moves as often as by spaces."""
    return re.sub(r"\s+", "", text).lower()


class Terminal:
    """`argv` on a terminal of its own (its own session), ended with its process group."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
        self._argv, self._env, self._cwd = tuple(argv), dict(env), cwd
        self._master = -1
        self._seen = bytearray()
        self._arrived = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def screen(self) -> str:
        """Everything shown so far, control sequences removed."""
        return _CONTROL.sub(b" ", bytes(self._seen)).decode("utf-8", errors="replace")

    async def __aenter__(self) -> Terminal:
        self._cwd.mkdir(parents=True, exist_ok=True)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self._master = master
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._argv,
                env=self._env,
                cwd=self._cwd,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
            )
        finally:
            os.close(slave)
        asyncio.get_running_loop().add_reader(master, self._read)
        return self

    async def __aexit__(self, *exc: object) -> None:
        asyncio.get_running_loop().remove_reader(self._master)
        process = self._process
        if process is not None and process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        os.close(self._master)

    def _read(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except OSError:  # the program has gone: nothing more will come
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._master)
        self._seen += data
        self._arrived.set()

    async def shows(self, text: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
        """Wait until the screen has shown `text` (spaces and case aside).

        Raises:
            AssertionError: it did not within `timeout_s`; the message holds the screen.
        """
        try:
            async with asyncio.timeout(timeout_s):
                while _flat(text) not in _flat(self.screen):
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self._argv[0]} did not show {text!r} in {timeout_s:.0f} s; it showed:\n"
                + self.screen[-3000:]
            ) from None

    def has_shown(self, text: str) -> bool:
        """Whether the screen has shown `text` so far (spaces and case aside)."""
        return _flat(text) in _flat(self.screen)

    def type(self, keys: str) -> None:
        """Type `keys` ("\\r" is Enter)."""
        os.write(self._master, keys.encode())
