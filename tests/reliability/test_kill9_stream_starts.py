"""kill -9 moments after streams began: every stream a client saw begin has its row, ended
`interrupted` at the restart.

Rows reach the store in batches every quarter second, and a request's end is journaled before
its answer completes; its start was not, so a stream cut by a crash less than about 0.2 s after
it began left no row at all (15 of 27 and 9 of 26 in two runs of the reliability pass). The
start of an answer's row is now on disk (the journal) before its first byte goes out.

The real gateway as a child process before the scripted upstream, whose streams send their
first half and then hold; `IN_FLIGHT` streamed chat requests at once, and SIGKILL the moment the
last of them has shown its client its first bytes; `KILLS` times over one data dir, then a
clean start and stop. Each stream whose client saw its status, its `x-gateway-request-id` and
its first bytes must have a row, `interrupted`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp

from tests.reliability._recfaults_support import ChildGateway, upstream_in_thread

KILLS = 3
IN_FLIGHT = 12
BEGIN_WITHIN_S = 60.0  # a bound for a loaded machine, never waited out when all is well


async def begin_streams_then_kill(gateway: ChildGateway, seen: dict[str, float]) -> float:
    """Open `IN_FLIGHT` streams at once; SIGKILL the gateway the moment every one has sent its
    client its first bytes. Each begun stream's request id goes into `seen` with when its
    client saw it begin; when the kill came."""
    assert gateway.proc is not None
    url = f"http://127.0.0.1:{gateway.port}/v1/chat/completions"
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    begun = 0
    all_begun = asyncio.Event()
    killed = asyncio.Event()

    async def stream(http: aiohttp.ClientSession) -> None:
        nonlocal begun
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.post(url, json=body) as response:
                first = await response.content.readany()
                request_id = response.headers.get("x-gateway-request-id")
                assert response.status == 200 and first and request_id, response.status
                seen[request_id] = time.monotonic()
                begun += 1
                if begun == IN_FLIGHT:
                    all_begun.set()
                await killed.wait()
                await response.read()  # cut by the kill

    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as http:
        streams = [asyncio.create_task(stream(http)) for _ in range(IN_FLIGHT)]
        async with asyncio.timeout(BEGIN_WITHIN_S):
            await all_begun.wait()
        os.kill(gateway.proc.pid, signal.SIGKILL)
        at = time.monotonic()
        killed.set()
        await asyncio.gather(*streams)
    return at


def rows(db: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT id, state FROM requests"))


async def test_every_stream_a_client_saw_begin_has_its_row_after_kill9(tmp_path: Path) -> None:
    seen: dict[str, float] = {}
    before_kill: list[float] = []
    with upstream_in_thread() as upstream:
        upstream.stream_gate = asyncio.Event()  # never set: every stream holds its second half
        gateway = ChildGateway(tmp_path / "home", upstream)
        try:
            for _ in range(KILLS):
                await asyncio.to_thread(gateway.start)
                round_seen: dict[str, float] = {}
                killed_at = await begin_streams_then_kill(gateway, round_seen)
                before_kill += [killed_at - began for began in round_seen.values()]
                seen |= round_seen
                assert gateway.proc is not None
                await asyncio.to_thread(gateway.proc.communicate)
                gateway.proc = None
            await asyncio.to_thread(gateway.start)
            code, _, err = await asyncio.to_thread(gateway.stop)
            assert code == 0, err
        finally:
            gateway.kill()
    stored = rows(gateway.db)
    missing = sorted(i for i in seen if i not in stored)
    wrong = {i: stored[i] for i in seen if i in stored and stored[i] != "interrupted"}
    print(
        f"{len(seen)} streams begun over {KILLS} kills, each {min(before_kill):.3f}-"
        f"{max(before_kill):.3f} s before its kill; {len(missing)} without a row"
    )
    assert len(seen) == KILLS * IN_FLIGHT
    assert not missing, f"{len(missing)} of {len(seen)} streams a client saw begin have no row"
    assert not wrong, wrong
