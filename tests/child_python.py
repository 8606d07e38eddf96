"""This interpreter in a child process, for what a test must see in a fresh process: a snippet
of Python (what start-up imports, a crash at a chosen moment) or the app's own command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CHILD_TIMEOUT_S", "ROOT", "run_ours", "run_python", "run_python_ok"]

ROOT = Path(__file__).resolve().parents[1]
# A child that hangs fails its test instead of holding up the run.
CHILD_TIMEOUT_S = 60.0


def run_python(
    *argv: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path = ROOT,
    timeout_s: float = CHILD_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """`python ARGV` (`-c CODE ...`, `-m llmgw_desktop ...`) run to its end in `cwd`, with
    `env` (this process's when None) and `stdin` (none when None: it never reads the test's
    own), its output captured as text.

    Raises:
        subprocess.TimeoutExpired: it ran longer than `timeout_s` (it is killed).
    """
    return subprocess.run(
        [sys.executable, *argv],
        stdin=subprocess.DEVNULL if stdin is None else None,
        input=stdin,
        capture_output=True,
        text=True,
        env=None if env is None else dict(env),
        cwd=cwd,
        timeout=timeout_s,
        check=False,
    )


def run_python_ok(
    *argv: str,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    timeout_s: float = CHILD_TIMEOUT_S,
) -> str:
    """`run_python`, failing the test with the child's stderr unless it exits 0; its stdout."""
    result = run_python(*argv, env=env, cwd=cwd, timeout_s=timeout_s)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


async def run_ours(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes = b"",
    cwd: Path = ROOT,
    timeout_s: float = CHILD_TIMEOUT_S,
) -> tuple[int | None, bytes, bytes]:
    """The app's command line (`python -m llmgw_desktop ARGS`) run to its end without holding
    up the event loop (a gateway under test may be serving in it), fed `stdin`: its exit
    code, stdout and stderr.

    Raises:
        TimeoutError: it ran longer than `timeout_s`.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "llmgw_desktop",
        *args,
        env=None if env is None else dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout_s)
    return process.returncode, out, err
