"""One of the user's MCP servers hangs (SIGSTOP) under a relayed tool call: the caller gets a
clear error when `mcp.call_timeout_ms` has passed (not a ping's wait later: the ping goes out
before the deadline), the hung server is found out (it answers no ping), its process is ended
and a new one started, the failure is in the log and the row, and the next call is answered.
A tool that is merely slow times out alike, but its server, which still answers a ping, is
kept.

The same over Streamable HTTP, where a stopped server still accepts connections (the kernel
does) and never answers: the caller's error comes at the deadline, not seconds after it, and
the gateway's stop is not held by the session's end (a DELETE the server never answers).
Before, with a 2 s deadline, the error came after 12 s (a ping's wait, then as long again for
the SDK's shielded cancellation of the ping), and the gateway's stop waited 300 s (the DELETE,
under the HTTP client's read timeout). Woken (SIGCONT), the HTTP server is used again: the
gateway answers calls to it at once until its next start finds it answering, saying when to
retry (`test_mcp_server_not_answering.py` measures that).

The real gateway as a child process (`--headless`), the crasher fake (`tests/fakes/
mcp_crasher.py`) as the server over stdio or HTTP, and the official `mcp` client on /mcp, in
both the 2025 era (a session: the front door answers the call beside the SDK) and the 2026 era.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psutil
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.reliability._crash_support import alive, wait_dead
from tests.reliability._recfaults_support import wait_for
from tests.transports.mcp.upstream_support import CRASHER, served_over_http

CALL_TIMEOUT_MS = 2_000
# Generous bounds for a loaded 2-core machine: the answer comes after the call timeout and a
# ping's wait, well inside this; the server's restart is awaited alike.
ANSWER_WITHIN_S = 60.0
PROCESS_WAIT_S = 30.0
# How late after the deadline a hung server's caller may hear of it (it is answered at the
# deadline; the rest is a loaded machine's slack), and how long the gateway's stop may take
# with such a server configured (its own stop is well under a second).
LATE_BY_S = 4.0
STOP_WITHIN_S = 10.0
# How long after a hung HTTP server is woken (SIGCONT) it may take to be used again: the
# gateway knows it answers once its next start does (the old session's end and a back-off
# come first).
RESUMED_WITHIN_S = 15.0
STDIO_CRASHER = f"command = {sys.executable!r}\nargs = [{str(CRASHER)!r}]\n"


@contextlib.contextmanager
def gateway(
    tmp_path: Path, server: str = STDIO_CRASHER
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The gateway with the crasher configured (`server`: its TOML settings) and a short call
    timeout; on the way out, every process it started is gone (a stopped one is woken so the
    kill reaches it)."""
    port = free_port()
    (tmp_path / "config.toml").write_text(f"[mcp.servers.crasher]\n{server}", encoding="utf-8")
    env = gp.child_env(tmp_path, port, LLM_GATEWAY_MCP_CALL_TIMEOUT_MS=str(CALL_TIMEOUT_MS))
    proc = gp.start(["--headless"], env)
    started: set[int] = set()
    try:
        gp.wait_ready(proc, port)
        yield proc, port
        if proc.poll() is None:  # else the test stopped it itself
            started |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
            code, _, err = gp.stop(proc)
            assert code == 0, err
        assert not wait_dead(started, PROCESS_WAIT_S), "a server outlived the gateway"
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            started |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        for pid in started:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


Step = tuple[str, dict[str, Any]] | Callable[[list[Any]], None]


def calls(port: int, mode: str, *steps: Step) -> list[tuple[Any, float]]:
    """Each step in order on one session of the official client: a (tool, arguments) called,
    giving its result and the seconds it took; a callable run in a thread with the results so
    far (a signal sent)."""

    async def run() -> list[tuple[Any, float]]:
        out: list[tuple[Any, float]] = []
        async with (
            httpx2.AsyncClient(timeout=ANSWER_WITHIN_S * 2) as http,
            Client(
                streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http),
                mode=mode,
            ) as client,
        ):
            for step in steps:
                if callable(step):
                    await anyio.to_thread.run_sync(step, [r for r, _ in out])
                    continue
                tool, arguments = step
                began = time.monotonic()
                with anyio.fail_after(ANSWER_WITHIN_S):
                    result = await client.call_tool(tool, arguments)
                out.append((result, time.monotonic() - began))
        return out

    return anyio.run(run)


def text(result: Any) -> str:
    assert not result.is_error, result
    return str(result.content[0].text)


def error(result: Any) -> dict[str, Any]:
    assert result.is_error, result
    return dict(result.structured_content["error"])


def failed_rows(home: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(home / "data" / "llmgw.db")) as conn:
        return list(
            conn.execute(
                "SELECT tool, state, error_code FROM requests WHERE provider = 'mcp:crasher' "
                "AND state != 'completed'"
            )
        )


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_hung_server_times_out_is_restarted_and_the_next_call_is_answered(
    tmp_path: Path, mode: str
) -> None:
    with gateway(tmp_path) as (proc, port):
        hung: list[int] = []

        def stop_it(results: list[Any]) -> None:
            hung.append(int(text(results[0])))
            os.kill(hung[0], signal.SIGSTOP)

        _, (timed_out, took), (again, _) = calls(
            port, mode, ("crasher__pid", {}), stop_it, ("crasher__pid", {}), ("crasher__pid", {})
        )
        said = error(timed_out)
        assert said["code"] == "timeout", said
        assert "mcp.call_timeout_ms" in said["message"] and "restart" in said["message"], said
        assert CALL_TIMEOUT_MS / 1000 <= took < CALL_TIMEOUT_MS / 1000 + LATE_BY_S, took
        # The stopped process was ended (a kill reaches a stopped process), and a new one answers.
        assert not wait_dead(hung, PROCESS_WAIT_S), "the hung server was left running"
        assert int(text(again)) != hung[0]
        # The log's own writer thread may trail the answers: wait for the line.
        wait_for(lambda: "stopped answering" in gp.read_log(tmp_path))
        assert "crasher" in gp.read_log(tmp_path)
        wait_for(lambda: ("crasher__pid", "failed", "timeout") in failed_rows(tmp_path))
        assert proc.poll() is None


def test_a_slow_tool_times_out_but_its_server_is_kept(tmp_path: Path) -> None:
    with gateway(tmp_path) as (_, port):
        (before, _), (slow, took), (cancelled, _), (after, _) = calls(
            port,
            "legacy",
            ("crasher__pid", {}),
            ("crasher__wait", {"label": "slow-one"}),
            ("crasher__cancelled", {}),
            ("crasher__pid", {}),
        )
        said = error(slow)
        assert said["code"] == "timeout" and "mcp.call_timeout_ms" in said["message"], said
        assert took >= CALL_TIMEOUT_MS / 1000, took
        # The server still answers: the same process, told the call was cancelled.
        assert text(after) == text(before) and alive(int(text(before)))
        assert "slow-one" in text(cancelled)


@contextlib.contextmanager
def http_crasher() -> Iterator[tuple[str, int]]:
    """The crasher serving Streamable HTTP: the TOML settings that name it, and its pid. Woken
    on the way out, so the kill that ends it reaches it."""
    with served_over_http(str(CRASHER), "http") as url:
        pid = next(
            p.pid for p in psutil.Process().children() if str(CRASHER) in " ".join(p.cmdline())
        )
        try:
            yield f"url = {url!r}\n", pid
        finally:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)


def test_a_hung_http_server_is_answered_at_the_deadline_and_used_again_once_it_answers(
    tmp_path: Path,
) -> None:
    with http_crasher() as (server, pid), gateway(tmp_path, server) as (proc, port):

        def stop_it(results: list[Any]) -> None:
            assert int(text(results[0])) == pid
            os.kill(pid, signal.SIGSTOP)

        def wake_it(results: list[Any]) -> None:
            os.kill(pid, signal.SIGCONT)

        _, (timed_out, took) = calls(
            port, "legacy", ("crasher__pid", {}), stop_it, ("crasher__pid", {}), wake_it
        )
        said = error(timed_out)
        assert said["code"] == "timeout" and "restart" in said["message"], said
        assert CALL_TIMEOUT_MS / 1000 <= took < CALL_TIMEOUT_MS / 1000 + LATE_BY_S, took
        wait_for(lambda: "stopped answering" in gp.read_log(tmp_path))
        # The connection was ended and made again: the same server answers through it.
        assert int(text(answered_again(port))) == pid
        assert proc.poll() is None


def answered_again(port: int) -> Any:
    """A call to the crasher, retried when the gateway says to (`retry_after_s`: it does not
    know yet that the server answers again), for at most `RESUMED_WITHIN_S`."""
    deadline = time.monotonic() + RESUMED_WITHIN_S
    while True:
        [(result, _)] = calls(port, "legacy", ("crasher__pid", {}))
        if not result.is_error or time.monotonic() > deadline:
            return result
        said = error(result)
        assert said["details"]["serverState"] == "not_answering", said
        # The gateway's own advice, as an editor would follow it (it is a few seconds).
        time.sleep(said["details"]["retry_after_s"])


def test_the_gateway_stops_in_seconds_with_a_hung_http_server(tmp_path: Path) -> None:
    with http_crasher() as (server, pid), gateway(tmp_path, server) as (proc, port):
        [(answer, _)] = calls(port, "legacy", ("crasher__pid", {}))
        assert int(text(answer)) == pid
        os.kill(pid, signal.SIGSTOP)
        began = time.monotonic()
        code, _, err = gp.stop(proc)
        took = time.monotonic() - began
        assert code == 0, err
        assert took < STOP_WITHIN_S, took
