"""kill -9 of the gateway with Claude Code's Bedrock streams in flight under a hard budget (the
reliability pass of issue 66).

The real gateway as a child process on SQLite, a daily hard budget in its `config.toml`;
`IN_FLIGHT` streams on Bedrock's `invoke-with-response-stream` door, each held by the scripted
upstream after its first half, and SIGKILL once every client has seen its first bytes. After
the restart and one more call: every stream a client saw begin has its row, `interrupted`, none
is left `started`; no hold of the dead process is left in the store, and what it held is
counted as spent (the vendor may bill a cut stream in full), never more than the budget.
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

IN_FLIGHT = 6
LEASE_MS = 1500  # the process lease the dead process's holds outlive (default 30 s)
HARD_TOKENS = 250_000
BEGIN_WITHIN_S = 60.0  # a bound for a loaded machine, never waited out when all is well
SETTLE_S = 15.0
BUDGET_TOML = f"""
[[budgets]]
scope = "global"
unit = "tokens"
period = "daily"
hard = {HARD_TOKENS}
"""
STREAM = "/model/gpt-4o/invoke-with-response-stream"
BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 1000,
    "messages": [{"role": "user", "content": "hi"}],
}


class _LeasedGateway(ChildGateway):
    def env(self) -> dict[str, str]:
        return {**super().env(), "LLM_GATEWAY_JOB_LEASE_MS": str(LEASE_MS)}


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute(sql))


async def _begin_then_kill(gateway: ChildGateway) -> list[str]:
    """`IN_FLIGHT` Bedrock streams at once, SIGKILL once each has shown its first bytes; the
    request ids their clients saw."""
    assert gateway.proc is not None
    url = f"http://127.0.0.1:{gateway.port}{STREAM}"
    seen: list[str] = []
    all_begun = asyncio.Event()
    killed = asyncio.Event()

    async def stream(http: aiohttp.ClientSession) -> None:
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.post(url, json=BODY) as response:
                first = await response.content.readany()
                request_id = response.headers.get("x-gateway-request-id")
                assert response.status == 200 and first and request_id, response.status
                seen.append(request_id)
                if len(seen) == IN_FLIGHT:
                    all_begun.set()
                await killed.wait()
                await response.read()  # cut by the kill

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:
        streams = [asyncio.create_task(stream(http)) for _ in range(IN_FLIGHT)]
        async with asyncio.timeout(BEGIN_WITHIN_S):
            await all_begun.wait()
        os.kill(gateway.proc.pid, signal.SIGKILL)
        killed.set()
        await asyncio.gather(*streams)
    return seen


async def test_kill9_under_bedrock_streams_leaves_no_hold_and_counts_what_was_held(
    tmp_path: Path,
) -> None:
    with upstream_in_thread() as upstream:
        upstream.stream_gate = asyncio.Event()  # never set: every stream holds its second half
        gateway = _LeasedGateway(tmp_path / "home", upstream)
        gateway.home.mkdir(parents=True)
        (gateway.home / "config.toml").write_text(BUDGET_TOML, encoding="utf-8")
        try:
            await asyncio.to_thread(gateway.start)
            seen = await _begin_then_kill(gateway)
            assert gateway.proc is not None
            await asyncio.to_thread(gateway.proc.communicate)
            gateway.proc = None
            held = _query(gateway.db, "SELECT process, sum(amount) FROM budget_holds GROUP BY 1")
            assert held, "the streams in flight held nothing against the hard budget"
            (dead, held_tokens), *_ = held
            await asyncio.to_thread(gateway.start)
            upstream.stream_gate.set()
            restarted = time.monotonic()
            deadline = restarted + SETTLE_S
            calls = 0
            while _query(gateway.db, f"SELECT 1 FROM budget_holds WHERE process = '{dead}'"):
                assert time.monotonic() < deadline, "the dead process's holds were never counted"
                status, _ = await asyncio.to_thread(gateway.chat, "after the restart")
                assert status == 200
                calls += 1
                await asyncio.sleep(0.1)
            print(f"counted {time.monotonic() - restarted:.1f} s after the restart, {calls} calls")
            code, _, err = await asyncio.to_thread(gateway.stop)
            assert code == 0, err
        finally:
            gateway.kill()
    states = dict(_query(gateway.db, "SELECT id, state FROM requests"))
    assert {i: states.get(i) for i in seen} == dict.fromkeys(seen, "interrupted")
    assert "started" not in states.values()
    assert not _query(gateway.db, "SELECT * FROM budget_holds")
    (spent,) = _query(gateway.db, "SELECT sum(spent) FROM budget_spend")[0]
    print(f"held at the kill {held_tokens}, spent after the restart {spent}")
    assert float(spent) >= float(held_tokens), (spent, held_tokens)  # type: ignore[arg-type]
    assert float(spent) <= HARD_TOKENS  # type: ignore[arg-type]
