"""kill -9 under streaming load on SQLite: every request whose client received its whole answer
has a `completed` row (issue 24, item 5).

The real gateway as a child process, 16 streamed chat requests in flight at once through the
scripted fake upstream, and SIGKILL at a random moment (after a random number of answers) five
times over the same data dir. A client has its whole answer when the body ended as HTTP says it
ends (the chunked terminator) and carries `[DONE]`; such a request's `x-gateway-request-id` must
name a `completed` row once the gateway is back and has stopped cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp

from tests.reliability._recfaults_support import ChildGateway, upstream_in_thread

KILLS = 5
IN_FLIGHT = 16
ROUND_LIMIT_S = 60.0
MAX_PER_ROUND = 3_000


async def load_until_killed(gw: ChildGateway, kill_after: int, answered: set[str]) -> int:
    """Stream requests `IN_FLIGHT` at a time; SIGKILL the gateway the moment `kill_after`
    answers are whole; every whole answer's request id goes into `answered`. How many."""
    assert gw.proc is not None
    pid = gw.proc.pid
    url = f"http://127.0.0.1:{gw.port}/v1/chat/completions"
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    whole = 0
    sent = 0
    killed = asyncio.Event()
    deadline = time.monotonic() + ROUND_LIMIT_S

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal whole, sent
        while not killed.is_set() and sent < MAX_PER_ROUND and time.monotonic() < deadline:
            sent += 1
            try:
                async with http.post(url, json=body) as response:
                    text = await response.text()
                    request_id = response.headers.get("x-gateway-request-id")
            except (aiohttp.ClientError, OSError):
                continue  # cut by the kill: not a whole answer
            if response.status == 200 and "[DONE]" in text and request_id:
                answered.add(request_id)
                whole += 1
                if whole == kill_after and not killed.is_set():
                    os.kill(pid, signal.SIGKILL)
                    killed.set()

    connector = aiohttp.TCPConnector(limit=IN_FLIGHT, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(IN_FLIGHT)))
    assert killed.is_set(), f"only {whole} answers in the round; the kill never came"
    return whole


def rows(db: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT id, state FROM requests"))


async def test_kill9_under_streaming_load_keeps_every_whole_answer_completed(
    tmp_path: Path,
) -> None:
    seed = random.randrange(1 << 30)
    print(f"random seed {seed}")
    chance = random.Random(seed)
    answered: set[str] = set()
    with upstream_in_thread() as upstream:
        gw = ChildGateway(tmp_path / "home", upstream)
        try:
            for _ in range(KILLS):
                await asyncio.to_thread(gw.start)
                await load_until_killed(gw, chance.randrange(20, 400), answered)
                assert gw.proc is not None
                await asyncio.to_thread(gw.proc.communicate)
                gw.proc = None
            await asyncio.to_thread(gw.start)
            code, _, err = await asyncio.to_thread(gw.stop)
            assert code == 0, err
        finally:
            gw.kill()
    stored = rows(gw.db)
    missing = sorted(i for i in answered if i not in stored)
    not_completed = sorted(i for i in answered if i in stored and stored[i] != "completed")
    print(f"{len(answered)} whole answers over {KILLS} kills (seed {seed})")
    assert not missing, f"{len(missing)} of {len(answered)} whole answers have no row"
    assert not not_completed, f"{len(not_completed)} whole answers are not `completed`"
