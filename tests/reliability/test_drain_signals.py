"""SIGTERM under streaming load with `http.drain_s` set, on the real headless gateway under a hard
budget (the reliability pass of issue 66).

The gateway as a child process on SQLite, `IN_FLIGHT` streams each held by the scripted
upstream after its first half. First round: SIGTERM, and once the gateway has stopped
listening the streams are let go: every one finishes whole, the process exits 0, every row is
`completed`. Second round on the same data dir: SIGTERM, then a second SIGTERM during the
drain: the process exits at once (well inside the 30 s drain), 0, every stream is cut (none
ends as a whole answer would), every row is `interrupted`. After both: no row `started`, no
budget hold left.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import aiohttp

from tests.reliability._recfaults_support import ChildGateway, open_stream_gate, upstream_in_thread

IN_FLIGHT = 8
DRAIN_S = 30
WAIT_S = 30.0  # a bound for a loaded machine
EXIT_AFTER_SECOND_SIGNAL_S = 10.0
BUDGET_TOML = """
[[budgets]]
scope = "global"
unit = "tokens"
period = "daily"
hard = 250000
"""
BODY = {
    "model": "gpt-4o",
    "stream": True,
    "max_tokens": 500,
    "messages": [{"role": "user", "content": "hi"}],
}


class _DrainingGateway(ChildGateway):
    def env(self) -> dict[str, str]:
        return {**super().env(), "LLM_GATEWAY_DRAIN_S": str(DRAIN_S)}


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute(sql))


async def _until_not_listening(port: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        except TimeoutError:  # begun as listening ended: the socket dropped its SYN
            pass
        assert time.monotonic() < deadline, "the gateway kept listening after SIGTERM"
        await asyncio.sleep(0.05)


async def _streams_through(gateway: ChildGateway, signalled: asyncio.Event) -> list[bytes]:
    """`IN_FLIGHT` streams; `signalled` is set by the caller once all have begun (they are
    waiting on `begun`); each stream's whole body as its client read it (b"<cut>": broken)."""
    url = f"http://127.0.0.1:{gateway.port}/v1/chat/completions"
    begun: list[str] = []
    all_begun = asyncio.Event()

    async def stream(http: aiohttp.ClientSession) -> bytes:
        async with http.post(url, json=BODY) as response:
            first = await response.content.readany()
            assert response.status == 200 and first
            begun.append(response.headers["x-gateway-request-id"])
            if len(begun) == IN_FLIGHT:
                all_begun.set()
            try:
                return first + await response.content.read()
            except aiohttp.ClientPayloadError:
                return b"<cut>"

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:
        streams = [asyncio.create_task(stream(http)) for _ in range(IN_FLIGHT)]
        async with asyncio.timeout(WAIT_S):
            await all_begun.wait()
        signalled.set()
        return list(await asyncio.wait_for(asyncio.gather(*streams), WAIT_S * 2))


async def _exit(proc: subprocess.Popen[str]) -> int:
    return await asyncio.wait_for(asyncio.to_thread(proc.wait), WAIT_S)


async def test_a_drain_finishes_every_stream_and_a_second_sigterm_ends_them_at_once(
    tmp_path: Path,
) -> None:
    with upstream_in_thread() as upstream:
        gateway = _DrainingGateway(tmp_path / "home", upstream)
        gateway.home.mkdir(parents=True)
        (gateway.home / "config.toml").write_text(BUDGET_TOML, encoding="utf-8")
        try:
            # Round one: the drain lets every stream finish.
            upstream.stream_gate = asyncio.Event()
            await asyncio.to_thread(gateway.start)
            proc = gateway.proc
            assert proc is not None
            all_begun = asyncio.Event()
            load = asyncio.create_task(_streams_through(gateway, all_begun))
            await asyncio.wait_for(all_begun.wait(), WAIT_S)
            proc.send_signal(signal.SIGTERM)
            await _until_not_listening(gateway.port)
            open_stream_gate(upstream)
            whole = await load
            assert await _exit(proc) == 0
            gateway.proc = None
            finished = Counter(s for (s,) in _query(gateway.db, "SELECT state FROM requests"))
            # Round two: a second SIGTERM stops at once and cuts what is in flight.
            upstream.stream_gate = asyncio.Event()
            await asyncio.to_thread(gateway.start)
            proc = gateway.proc
            assert proc is not None
            all_begun = asyncio.Event()
            load = asyncio.create_task(_streams_through(gateway, all_begun))
            await asyncio.wait_for(all_begun.wait(), WAIT_S)
            proc.send_signal(signal.SIGTERM)
            await _until_not_listening(gateway.port)
            proc.send_signal(signal.SIGTERM)
            again = time.monotonic()
            assert await _exit(proc) == 0
            took = time.monotonic() - again
            gateway.proc = None
            cut = await load
        finally:
            gateway.kill()
    print(f"the second SIGTERM's exit took {took:.2f} s")
    assert all(body.rstrip().endswith(b"data: [DONE]") for body in whole), whole
    assert finished == {"completed": IN_FLIGHT}, finished
    assert not [body for body in cut if b"data: [DONE]" in body], cut
    states = Counter(s for (s,) in _query(gateway.db, "SELECT state FROM requests"))
    assert states == {"completed": IN_FLIGHT, "interrupted": IN_FLIGHT}, states
    assert took < EXIT_AFTER_SECOND_SIGNAL_S
    assert not _query(gateway.db, "SELECT * FROM budget_holds WHERE id NOT LIKE '%:%'")
