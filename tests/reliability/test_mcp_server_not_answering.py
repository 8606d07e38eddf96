"""One of the user's MCP servers over Streamable HTTP stopped (SIGSTOP) and found out (a call
past `mcp.call_timeout_ms` whose ping got no answer): what callers see while the gateway tries
to reach it again, and how many pings the calls past their deadline sent.

A stopped HTTP server is not the gateway's process: its restart is a new connection to the same
stopped server, whose `initialize` waits `mcp.start_timeout_ms` (30 s). Before, a call to it
meanwhile waited those 30 s before it failed; now it is answered at once with
`upstream_server_failed` naming the server, its state and when it stopped answering, while
another server's calls, the lists and `llm_process_health` go on; once the server runs again
(SIGCONT) it is used again without restarting the gateway. Calls past their deadline on one
hung server sent a ping each (8 calls, 8 pings); now they share one.

The real gateway as a child process (`--headless`), the crasher fake (`tests/fakes/
mcp_crasher.py`) serving Streamable HTTP (and, as the other server, over stdio), and the
official `mcp` client on /mcp.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psutil
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.reliability._counting_proxy import counting_proxy
from tests.reliability.test_mcp_server_hung import (
    ANSWER_WITHIN_S,
    CALL_TIMEOUT_MS,
    LATE_BY_S,
    error,
    gateway,
    text,
)
from tests.transports.mcp.upstream_support import CRASHER, served_over_http

# "At once" on a loaded 2-core machine: a call to a server known not to answer, the lists, and
# another server's call (each took 30 s or more when it waited for the restart). Below the
# call timeout (2 s), so a call that waited that out is not taken for one answered at once.
AT_ONCE_S = 1.9
# How soon after SIGCONT a call to the woken server is answered again (retried meanwhile).
RESUMED_WITHIN_S = 15.0
# Calls in flight on the hung server at once, each past its deadline.
CALLS_IN_FLIGHT = 8
# The other server, over stdio: it must be served while the crasher does not answer.
OTHER = f"[mcp.servers.other]\ncommand = {sys.executable!r}\nargs = [{str(CRASHER)!r}]\n"


@contextlib.contextmanager
def stopped_server(proxied: bool = False) -> Iterator[tuple[str, int, Any]]:
    """The crasher serving Streamable HTTP: its URL (through a proxy counting pings when
    `proxied`), its pid and the proxy (or None). Woken on the way out, so the kill reaches it."""
    with served_over_http(str(CRASHER), "http") as url:
        pid = next(
            p.pid for p in psutil.Process().children() if str(CRASHER) in " ".join(p.cmdline())
        )
        try:
            if not proxied:
                yield url, pid, None
                return
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            with counting_proxy(port, "ping") as proxy:
                yield f"http://127.0.0.1:{proxy.port}/mcp", pid, proxy
        finally:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)


@contextlib.asynccontextmanager
async def client(port: int) -> Any:
    async with (
        httpx2.AsyncClient(timeout=ANSWER_WITHIN_S * 2) as http,
        Client(
            streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http),
            mode="legacy",
        ) as session,
    ):
        yield session


async def timed(what: Any) -> tuple[Any, float]:
    began = time.monotonic()
    with anyio.fail_after(ANSWER_WITHIN_S):
        result = await what
    return result, time.monotonic() - began


async def all_at_once(*whats: Any) -> list[tuple[Any, float]]:
    """Each awaitable in its own task, all at once: each one's result and seconds."""
    out: list[Any] = [None] * len(whats)

    async def one(i: int, what: Any) -> None:
        out[i] = await timed(what)

    async with anyio.create_task_group() as group:
        for i, what in enumerate(whats):
            group.start_soon(one, i, what)
    return out


def test_a_server_known_not_to_answer_is_answered_at_once_and_used_again_once_it_runs(
    tmp_path: Path,
) -> None:
    with (
        stopped_server() as (url, pid, _),
        gateway(tmp_path, f"url = {url!r}\n{OTHER}") as (proc, port),
    ):

        async def run() -> None:
            async with client(port) as mcp:
                assert int(text((await timed(mcp.call_tool("crasher__pid", {})))[0])) == pid
                text((await timed(mcp.call_tool("other__pid", {})))[0])
                os.kill(pid, signal.SIGSTOP)
                timed_out, took = await timed(mcp.call_tool("crasher__pid", {}))
                assert error(timed_out)["code"] == "timeout", timed_out
                assert took < CALL_TIMEOUT_MS / 1000 + LATE_BY_S, took
                # Found out: the gateway is reaching it again. Meanwhile, all at once:
                (
                    (down, down_s),
                    (listed, list_s),
                    (other, other_s),
                    (health, health_s),
                ) = await all_at_once(
                    mcp.call_tool("crasher__pid", {}),
                    mcp.list_tools(),
                    mcp.call_tool("other__pid", {}),
                    mcp.call_tool("llm_process_health", {}),
                )
                [status] = [
                    s for s in health.structured_content["mcpServers"] if s["name"] == "crasher"
                ]
                said = error(down)
                assert said["code"] == "upstream_server_failed", said
                assert "crasher" in said["message"] and "ping" in said["message"], said
                assert said["details"]["serverState"] == "not_answering", said
                assert said["details"]["notAnsweringSince"] and said["details"]["retry_after_s"]
                assert down_s < AT_ONCE_S, down_s
                assert "crasher__pid" in {t.name for t in listed.tools}, listed
                assert list_s < AT_ONCE_S, list_s
                text(other)
                assert other_s < AT_ONCE_S, other_s
                assert status["state"] == "not_answering", status
                assert "ping" in status["error"], status
                assert health_s < AT_ONCE_S, health_s
                # Later, while the gateway's new `initialize` waits on the stopped server: the
                # same, at once (the restart's close and back-off are over by then).
                await anyio.sleep(3)
                later, later_s = await timed(mcp.call_tool("crasher__pid", {}))
                assert error(later)["code"] == "upstream_server_failed", later
                assert later_s < AT_ONCE_S, later_s
                # Woken: used again, without restarting the gateway (retried until it is).
                os.kill(pid, signal.SIGCONT)
                woken = time.monotonic()
                with anyio.fail_after(RESUMED_WITHIN_S):
                    while True:
                        again, again_s = await timed(mcp.call_tool("crasher__pid", {}))
                        assert again_s < AT_ONCE_S, again_s
                        if not again.is_error:
                            break
                        await anyio.sleep(0.2)
                assert int(text(again)) == pid, time.monotonic() - woken

        anyio.run(run)
        assert proc.poll() is None


def test_calls_past_their_deadline_on_a_hung_server_share_one_ping(tmp_path: Path) -> None:
    with (
        stopped_server(proxied=True) as (url, pid, proxy),
        gateway(tmp_path, f"url = {url!r}\n") as (proc, port),
    ):

        async def run() -> None:
            async with client(port) as mcp:
                assert int(text((await timed(mcp.call_tool("crasher__pid", {})))[0])) == pid
                os.kill(pid, signal.SIGSTOP)
                answers = await all_at_once(
                    *(mcp.call_tool("crasher__pid", {}) for _ in range(CALLS_IN_FLIGHT))
                )
                for answer, took in answers:
                    # A timeout, or the connection that ended under it when the server was
                    # found hung by another call (its restart closes the session).
                    assert error(answer)["code"] in ("timeout", "upstream_server_failed"), answer
                    assert took < CALL_TIMEOUT_MS / 1000 + LATE_BY_S, took

        pings_before = proxy.count
        anyio.run(run)
        assert proxy.count - pings_before == 1, proxy.count
        assert proc.poll() is None
