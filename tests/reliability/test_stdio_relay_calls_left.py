"""A synchronous call through the stdio relay whose editor cancels it, quits or crashes stops
its CLI.

Real processes: the gateway (`--headless`, the fake `claude` of `_crash_support.py` as its
CLI, a hard budget so every call holds room on it while it runs), the relay (`llmgw-desktop
mcp`, relaying to that gateway) started by the official `mcp` SDK's stdio client as an editor
starts it, or by hand for an editor that crashes (its pipes close, nobody stops the relay).

Before, each of these left the job running: the relay passed a 2026-era cancel on to the
gateway, which drops such notifications; a 2025-era session ran a request whose POST went away
on for nobody; and a relay whose editor had gone waited for the answer it could no longer
deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests import waiting
from tests.reliability._crash_support import (
    ANSWER,
    PIDS,
    Gateway,
    alive,
    install_fake_claude,
    kill_quietly,
    query,
    read_pids,
)
from tests.transports.mcp.conftest import structured

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

MODES = ["legacy", "2026-07-28"]
# Generous bounds for a loaded 2-core machine; each is a bound, never a wait for its own sake.
SETTLE_S = 30.0
CONFIG = """
[providers]
kill_grace_ms = 500
# The fake `claude` cannot send its model calls back through the gateway to be metered: the
# operator accepts it under the hard budget, as one would a real CLI that cannot be pointed.
unmetered_clis = ["claude"]

[[budgets]]
scope = "global"
unit = "tokens"
period = "daily"
hard = 50000000
"""


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    install_fake_claude(tmp_path / "bin")
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    gw = Gateway(tmp_path)
    await asyncio.to_thread(gw.start)
    try:
        yield gw
    finally:
        if gw.proc is not None:
            gw.proc.kill()
            await asyncio.to_thread(gw.proc.communicate, timeout=SETTLE_S)
        kill_quietly(gw.leftovers)


def relay(gw: Gateway) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=gw.env()
    )


# Polled as every test waits (`tests/waiting.py`), off the loop, within this suite's bound.
until = functools.partial(waiting.until, timeout_s=SETTLE_S, step_s=0.05, off_loop=True)


def holds(gw: Gateway) -> list[tuple[Any, ...]]:
    """The calls' budget holds in the store (not a process's reserves)."""
    return [r for r in query(gw.db, "SELECT id, amount FROM budget_holds") if ":" not in r[0]]


async def tree_running(gw: Gateway, name: str) -> dict[str, int]:
    pids = await asyncio.to_thread(read_pids, gw.home / name, PIDS, SETTLE_S)
    gw.leftovers.extend(pids.values())
    return pids


def tree_prompt(gw: Gateway, name: str) -> str:
    directory = gw.home / name
    directory.mkdir()
    return f"tree {directory}"


async def check_stopped(gw: Gateway, pids: dict[str, int]) -> None:
    """The call's CLI tree is gone, its job and row say canceled, and it holds nothing."""
    left = [name for name, pid in pids.items() if alive(pid)]
    await until(lambda: not any(alive(p) for p in pids.values()), f"the CLI tree ended ({left})")
    await until(lambda: query(gw.db, "SELECT state FROM jobs") == [("canceled",)], "job canceled")
    await until(
        lambda: (
            query(gw.db, "SELECT state FROM requests WHERE job_id IS NOT NULL") == [("canceled",)]
        ),
        "its row canceled",
    )
    await until(lambda: not holds(gw), "its budget hold released")


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_the_editor_cancels_through_the_relay_stops_its_cli(
    gateway: Gateway, mode: str
) -> None:
    async with Client(relay(gateway), mode=mode) as client:
        call = asyncio.ensure_future(
            client.call_tool("claude_request", {"prompt": tree_prompt(gateway, "pids")})
        )
        try:
            pids = await tree_running(gateway, "pids")
            assert holds(gateway)
        finally:
            call.cancel()  # Esc: the SDK tells the server the call is cancelled
            with contextlib.suppress(asyncio.CancelledError):
                await call
        await check_stopped(gateway, pids)
        # The relay serves on: the next call runs and answers.
        answer = structured(await client.call_tool("claude_request", {"prompt": "succeed"}))
    assert ANSWER in answer["text"], answer


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_whose_editor_quits_stops_its_cli(gateway: Gateway, mode: str) -> None:
    pids: dict[str, int] = {}
    async with Client(relay(gateway), mode=mode) as client:
        call = asyncio.ensure_future(
            client.call_tool("claude_request", {"prompt": tree_prompt(gateway, "pids")})
        )
        pids = await tree_running(gateway, "pids")
        assert holds(gateway)
        # The editor quits with the call in flight: the SDK closes the relay's stdin, waits
        # a moment, and stops it.
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
    await check_stopped(gateway, pids)


@pytest.mark.parametrize("mode", MODES)
async def test_an_async_calls_job_outlives_its_editor(gateway: Gateway, mode: str) -> None:
    release = gateway.home / "release"
    async with Client(relay(gateway), mode=mode) as client:
        started = structured(
            await client.call_tool("claude_request_async", {"prompt": f"until {release}"})
        )
    job_id = started["jobId"]
    jobs = "SELECT state FROM jobs WHERE id = ?"
    await until(lambda: query(gateway.db, jobs, job_id) == [("running",)], "the job runs")
    # Its editor quit and the relay ended (the SDK waited for it): the job runs on.
    assert query(gateway.db, jobs, job_id) == [("running",)]
    release.touch()
    await until(lambda: query(gateway.db, jobs, job_id) == [("completed",)], "it completes")
    (result,) = query(gateway.db, "SELECT result_json FROM jobs WHERE id = ?", job_id)[0]
    assert ANSWER in result
    await until(lambda: not holds(gateway), "its budget hold released")


def _line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def relay_by_hand(gw: Gateway, prompt: str) -> subprocess.Popen[bytes]:
    """The relay started as an editor starts it, its session opened and one synchronous call
    sent on it (the answer not read)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmgw_desktop", "mcp"],
        env=gw.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    gw.leftovers.append(proc.pid)
    assert proc.stdin is not None and proc.stdout is not None
    # A whole clientInfo, as editors send: the handshake is then done at `initialize`, so the
    # call need not wait for `notifications/initialized` (the relay posts the two side by side).
    editor = {"name": "crashing-editor", "version": "1"}
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": editor}
    proc.stdin.write(_line({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}))
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["id"] == 1
    call = {"name": "claude_request", "arguments": {"prompt": prompt}}
    proc.stdin.write(_line({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    proc.stdin.write(_line({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}))
    proc.stdin.flush()
    return proc


async def test_a_call_whose_editor_crashes_stops_its_cli(gateway: Gateway) -> None:
    proc = await asyncio.to_thread(relay_by_hand, gateway, tree_prompt(gateway, "p"))
    try:
        pids = await tree_running(gateway, "p")
        assert holds(gateway)
        # An editor that crashes closes the relay's pipes and stops nothing: the relay runs on.
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.stdout.close()
        await check_stopped(gateway, pids)
        # The relay has nothing left to do and ends.
        await asyncio.to_thread(proc.wait, SETTLE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            await asyncio.to_thread(proc.wait, SETTLE_S)
