"""A real CLI on a pseudo-terminal, as a person runs it: what its screen shows, and keys typed
into it. For what only its interactive start does (first-run dialogs), which `-p` skips.

The screen is kept by a terminal emulator (pyte), not read off the raw output: a TUI such as
Claude Code's redraws only the cells that change, so "FAKE-OK" drawn where "Flummox" stood
arrives as "AKE-OK". What was shown is asked of every screen drawn and of the raw output alike.

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

import pyte

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
        self._display = pyte.Screen(COLUMNS, ROWS)
        self._emulator = pyte.ByteStream(self._display)
        self._frames: list[str] = []  # every distinct screen drawn, flattened
        self._arrived = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def screen(self) -> str:
        """What the terminal shows now, row by row."""
        return "\n".join(row.rstrip() for row in self._display.display)

    @property
    def output(self) -> str:
        """Everything written so far, control sequences removed."""
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
        self._emulator.feed(data)
        frame = _flat(self.screen)
        if not self._frames or self._frames[-1] != frame:
            self._frames.append(frame)
        self._arrived.set()

    async def shows(self, text: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
        """Wait until the screen has shown `text` (spaces and case aside).

        Raises:
            AssertionError: it did not within `timeout_s`; the message holds the screen.
        """
        try:
            async with asyncio.timeout(timeout_s):
                while not self.has_shown(text):
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self._argv[0]} did not show {text!r} in {timeout_s:.0f} s; its screen:\n"
                + self.screen
                + "\n\nthe end of what it wrote:\n"
                + self.output[-2000:]
            ) from None

    def has_shown(self, text: str) -> bool:
        """Whether any screen so far, or the raw output, has shown `text` (spaces and case
        aside). A screen may be drawn and replaced within one read: the raw output catches that."""
        wanted = _flat(text)
        return any(wanted in frame for frame in self._frames) or wanted in _flat(self.output)

    def type(self, keys: str) -> None:
        """Type `keys` ("\\r" is Enter)."""
        os.write(self._master, keys.encode())
