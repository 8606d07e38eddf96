"""The scripted upstream in a process of its own, for tests that stop and resume it (SIGSTOP,
SIGCONT) or kill it: `python -m tests.fakes.upstream_process`.

It answers every LLM call normally (`Reply.ok()`), prints its base URL on one line once it
listens, and serves until its stdin closes (the test's end) or it is killed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.upstream import ScriptedUpstream

__all__ = ["UpstreamProcess", "upstream_process"]

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 30.0


@dataclass
class UpstreamProcess:
    """A running upstream process: its pid and base URL."""

    pid: int
    base_url: str


@contextmanager
def upstream_process() -> Iterator[UpstreamProcess]:
    """Start the upstream in a child process; it is killed when the block ends, stopped or
    not.

    Raises:
        RuntimeError: it did not say where it listens within `STARTUP_S`.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.upstream_process"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()  # bounded: the child prints it or dies
        if not line.startswith("http"):
            raise RuntimeError(f"the upstream process did not start: {line!r}")
        yield UpstreamProcess(child.pid, line)
    finally:
        child.kill()  # SIGKILL ends a stopped process too
        child.wait(STARTUP_S)


async def _serve() -> None:
    async with ScriptedUpstream() as upstream:
        print(upstream.base_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(_serve())
