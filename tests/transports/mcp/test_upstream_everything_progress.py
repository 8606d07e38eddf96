"""A long call relayed to the reference server `@modelcontextprotocol/server-everything` (npm,
over stdio): its progress notifications reach our client under our client's own token, and our
client's cancel reaches the server as `notifications/cancelled` for the relayed request.

The server is started behind `tee`, which copies what the gateway writes to the server's stdin
into a file, so the test reads the very messages the server was sent (the server itself says
nothing when a call is cancelled). The official `mcp` client talks to the real gateway's /mcp.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import anyio

from tests.transports.mcp.upstream_support import EVERYTHING, Start, local_mcp, rows

TOOL = "everything__trigger-long-running-operation"
ARRIVAL_S = 60.0  # how long a notification or a cancel may take to arrive (bounded)


def _sent(log: Path) -> list[dict[str, Any]]:
    """The JSON-RPC messages the gateway has written to the server so far."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_progress_reaches_our_client_and_a_cancel_reaches_server_everything(
    start: Start, tmp_path: Path
) -> None:
    tee = shutil.which("tee")
    assert tee is not None, "tee (coreutils) is needed to watch the server's stdin"
    log = tmp_path / "to-everything.jsonl"
    pipeline = f"{shlex.quote(tee)} {shlex.quote(str(log))} | {shlex.quote(str(EVERYTHING))} stdio"
    gateway = await start(
        {"mcp.servers": {"everything": {"command": "sh", "args": ["-c", pipeline]}}}
    )
    seen: list[tuple[float, float | None]] = []
    two = anyio.Event()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total))
        if len(seen) >= 2:
            two.set()

    async with local_mcp(gateway) as client:
        async with anyio.create_task_group() as group:

            async def long_call() -> None:
                # 60 steps of 1 s: far longer than the test, so only the cancel ends it.
                await client.call_tool(
                    TOOL, {"duration": 60, "steps": 60}, progress_callback=progress
                )

            group.start_soon(long_call)
            with anyio.fail_after(ARRIVAL_S):
                await two.wait()
            group.cancel_scope.cancel()  # the SDK's client sends notifications/cancelled

        calls = [m for m in _sent(log) if m.get("method") == "tools/call"]
        assert [c["params"]["name"] for c in calls] == ["trigger-long-running-operation"]
        relayed_id = calls[0]["id"]
        cancelled: list[dict[str, Any]] = []
        async with asyncio.timeout(ARRIVAL_S):
            while not cancelled:  # a file another process writes: no event to await
                cancelled = [m for m in _sent(log) if m.get("method") == "notifications/cancelled"]
                await asyncio.sleep(0.05)
        # The session to the gateway stays usable after the cancel.
        echoed = await client.call_tool("everything__echo", {"message": "still here"})

    assert seen[:2] == [(1, 60), (2, 60)], seen
    assert cancelled[0]["params"]["requestId"] == relayed_id, cancelled
    assert not echoed.is_error and "still here" in echoed.content[0].text, echoed
    await _until_recorded(gateway, "canceled")
    states = {(r["tool"], r["state"]) for r in await rows(gateway, "everything")}
    assert {(TOOL, "canceled"), ("everything__echo", "completed")} <= states, states


async def _until_recorded(gateway: Any, state: str) -> None:
    """Wait (bounded) until the cancelled call's row is finished in the recorder."""
    async with asyncio.timeout(ARRIVAL_S):
        # The row is finished off the cancelled task; the recorder has no event to await.
        while not any(r["state"] == state for r in await rows(gateway, "everything")):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
