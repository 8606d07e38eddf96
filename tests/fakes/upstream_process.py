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
def upstream_process(*, frame_gap_s: float = 0.0) -> Iterator[UpstreamProcess]:
    """Start the upstream in a child process; it is killed when the block ends, stopped or
    not. `frame_gap_s`: the pause between a stream's frames (its `frame_gap_s`).

    Raises:
        RuntimeError: it did not say where it listens within `STARTUP_S`.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.upstream_process", str(frame_gap_s)],
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


async def _serve(frame_gap_s: float) -> None:
    async with ScriptedUpstream() as upstream:
        upstream.frame_gap_s = frame_gap_s
        print(upstream.base_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(_serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0))
