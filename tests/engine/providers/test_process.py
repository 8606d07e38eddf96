"""The process runner against real child processes."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from llmgw_desktop.engine.providers import process
from llmgw_desktop.engine.providers.child_env import child_environment
from llmgw_desktop.engine.providers.process import (
    Invocation,
    RunLimits,
    isolated_environment,
    run_process,
)
from tests.reliability._crash_support import alive  # a reaped one's ESRCH read as gone

FAKE = str(Path(__file__).resolve().parents[2] / "fakes" / "behaving_process.py")
LIMITS = RunLimits(timeout_s=30, idle_timeout_s=0, kill_grace_s=0.5)
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="process groups and signals")


def fake(*args: str, stdin: bytes | None = None, **kw: object) -> Invocation:
    return Invocation(argv=(sys.executable, FAKE, *args), stdin=stdin, **kw)  # type: ignore[arg-type]


async def test_prompt_goes_in_on_stdin_and_output_comes_back() -> None:
    out = await run_process(fake("echo-stdin", stdin=b"hello\n"), LIMITS)
    assert (out.ended_by, out.exit_code, out.stdout) == ("exit", 0, b"hello\n")


async def test_argv_that_looks_like_flags_is_passed_verbatim() -> None:
    tricky = ["--dangerously-skip-permissions", "; rm -rf /", "$(whoami)", "-"]
    out = await run_process(fake("argv", *tricky), LIMITS)
    assert json.loads(out.stdout) == tricky


async def test_nonzero_exit_and_stderr_tail_are_reported() -> None:
    out = await run_process(fake("exit", "7"), LIMITS)
    assert (out.ended_by, out.exit_code, out.stderr_tail) == ("exit", 7, b"bye\n")


async def test_total_timeout_stops_the_process() -> None:
    started = time.monotonic()
    out = await run_process(fake("sleep", "30"), RunLimits(timeout_s=0.5, kill_grace_s=0.5))
    assert out.ended_by == "timeout"
    assert out.exit_code is None
    assert time.monotonic() - started < 5


async def test_idle_timeout_fires_only_without_output() -> None:
    chatty = await run_process(
        fake("chatty", "6", "0.1"), RunLimits(timeout_s=30, idle_timeout_s=0.5)
    )
    assert chatty.ended_by == "exit"
    silent = await run_process(fake("sleep", "30"), RunLimits(timeout_s=30, idle_timeout_s=0.5))
    assert silent.ended_by == "idle_timeout"


async def test_output_cap_stops_a_flood() -> None:
    out = await run_process(
        fake("flood", str(5 * 1024 * 1024)), RunLimits(timeout_s=30, max_output_bytes=100_000)
    )
    assert out.ended_by == "output_overflow"
    assert len(out.stdout) <= 100_000 + 65536


async def test_partial_output_is_streamed_to_the_callback() -> None:
    chunks: list[bytes] = []
    await run_process(fake("chatty", "3", "0.05"), LIMITS, on_stdout=chunks.append)
    assert b"".join(chunks) == b"line 0\nline 1\nline 2\n"


@posix_only
async def test_cancel_kills_the_whole_tree(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    started = asyncio.Event()
    run = asyncio.get_running_loop().create_task(
        run_process(fake("tree", str(pidfile)), LIMITS, on_stdout=lambda _: started.set())
    )
    await asyncio.wait_for(started.wait(), 20)
    grandchild = int(pidfile.read_text())
    assert alive(grandchild)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    async with asyncio.timeout(5):
        while alive(grandchild):  # noqa: ASYNC110 - polling another process's state
            await asyncio.sleep(0.02)


@posix_only
async def test_a_cancel_while_the_child_is_being_made_kills_all_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncio, cancelled while it connects a new child's pipes, kills the leader alone. The
    moment is too short to hit from outside, so the test widens it: the child is made for real
    and its tree started, then the making waits until the caller has been cancelled."""
    pidfile = tmp_path / "grandchild.pid"
    made = asyncio.Event()
    real = process._spawned

    async def slow_to_connect(*args: object) -> asyncio.subprocess.Process:
        proc = await real(*args)  # type: ignore[arg-type]
        async with asyncio.timeout(20):
            # Written whole: a loaded CI run read it made and still empty ("int('')").
            while not (pidfile.exists() and pidfile.read_text().strip()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        made.set()
        await asyncio.sleep(0.2)  # the caller is cancelled meanwhile
        return proc

    monkeypatch.setattr(process, "_spawned", slow_to_connect)
    run = asyncio.get_running_loop().create_task(run_process(fake("tree", str(pidfile)), LIMITS))
    await asyncio.wait_for(made.wait(), 20)
    grandchild = int(pidfile.read_text())
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    async with asyncio.timeout(5):
        while alive(grandchild):  # noqa: ASYNC110 - polling another process's state
            await asyncio.sleep(0.02)


class ParserBroke(Exception):
    pass


@posix_only
async def test_a_failing_output_callback_raises_its_own_error_and_stops_the_tree(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "grandchild.pid"

    def broken_parser(_: bytes) -> None:
        raise ParserBroke("the parser choked")

    with pytest.raises(ParserBroke):  # the plain error, not a TaskGroup's ExceptionGroup
        await run_process(fake("tree", str(pidfile)), LIMITS, on_stdout=broken_parser)
    grandchild = int(pidfile.read_text())
    async with asyncio.timeout(5):
        while alive(grandchild):  # noqa: ASYNC110 - polling another process's state
            await asyncio.sleep(0.02)


@posix_only
async def test_a_process_ignoring_sigterm_is_killed_after_the_grace() -> None:
    started = time.monotonic()
    out = await run_process(fake("stubborn"), RunLimits(timeout_s=0.5, kill_grace_s=0.3))
    assert out.ended_by == "timeout"
    assert time.monotonic() - started < 5


async def test_without_a_working_dir_a_private_temp_dir_is_used_and_removed() -> None:
    out = await run_process(fake("cwd"), LIMITS)
    used = Path(out.stdout.decode().strip())
    assert used.name.startswith("llmgw-run-")
    assert not used.exists()


async def test_given_working_dir_is_used(tmp_path: Path) -> None:
    out = await run_process(fake("cwd", cwd=tmp_path), LIMITS)
    assert Path(out.stdout.decode().strip()) == tmp_path


async def test_environment_isolation_strips_redirecting_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://elsewhere")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-kept")
    names = ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "EXPLICIT_BASE_URL")
    invocation = fake("env", *names, env={"EXPLICIT_BASE_URL": "http://127.0.0.1:9"})
    codex = child_environment("codex")
    isolated = json.loads(
        (await run_process(invocation, LIMITS, environment=codex, isolate_env=True)).stdout
    )
    assert isolated == {
        "OPENAI_BASE_URL": None,
        "ANTHROPIC_BASE_URL": None,
        "OPENAI_API_KEY": "sk-kept",
        "EXPLICIT_BASE_URL": "http://127.0.0.1:9",
    }
    inherited = json.loads((await run_process(invocation, LIMITS, environment=codex)).stdout)
    assert inherited["OPENAI_BASE_URL"] == "http://elsewhere"
    assert inherited["ANTHROPIC_BASE_URL"] is None  # another CLI's family
    # A plain helper (no family given) gets neither.
    plain = json.loads((await run_process(invocation, LIMITS)).stdout)
    assert plain["OPENAI_API_KEY"] is None and plain["EXPLICIT_BASE_URL"] is not None
    assert "PATH" in isolated_environment({"PATH": "/bin", "X_API_BASE": "y"})


async def test_missing_executable_raises_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        await run_process(Invocation(argv=("/nonexistent/cli",)), LIMITS)
