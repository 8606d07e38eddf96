"""A real X server for a test: Xvfb on a display it picks itself, stopped when the block ends.

Without Xvfb the test skips, saying how to install it (`.ci/run` installs it, so in CI it runs).
"""

from __future__ import annotations

import select
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = ["xvfb_display"]

# Xvfb answers in well under a second; a loaded machine may take a few.
START_TIMEOUT_S = 15.0


@contextmanager
def xvfb_display() -> Iterator[str]:
    """The name (`:N`) of a display served by a fresh Xvfb until the block ends."""
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.skip("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
    # -displayfd: Xvfb picks a free display number and writes it once it is ready.
    server = subprocess.Popen(
        [binary, "-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], START_TIMEOUT_S)
        number = server.stdout.readline().decode().strip() if ready else ""
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
