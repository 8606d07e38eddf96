"""A synchronous MCP call whose client cancels it or goes away stops its CLI; an async one's
job outlives its request, as designed.

The gateway runs in this process with its real HTTP front door; the client is the official
`mcp` SDK's, in this process (it cancels: `notifications/cancelled` in the 2025 era, closing
the response stream in 2026-07-28) or in a child process killed mid-call (it just goes away);
the CLI is the fake `claude` (`_crash_support.py`), a real process tree (leader, child,
grandchild), under a hard budget so every call holds room on it while it runs.

Before, a synchronous call cancelled mid-run left its job running: the CLI spent on the
operator's vendor account until its own timeout, its budget hold with it, and the client never
learned the job id, so only the dashboard could see or stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.calls import Call, CallParams, RequestMeta
from llmgw_desktop.engine.jobs.model import JobView
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests import waiting
from tests.gateways import gateway_starter
from tests.reliability._crash_support import (
    ANSWER,
    PIDS,
    install_fake_claude,
    read_pids,
)
from tests.reliability._crash_support import alive as is_alive
from tests.transports.mcp.conftest import structured

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

PRINCIPAL = LOCAL_CALLER.id
MODES = ["legacy", "2026-07-28"]
# Generous bounds for a loaded 2-core machine; each is a bound, never a wait for its own sake.
SETTLE_S = 20.0
# Loop turns after which a call is cut: enough to walk every await from the call's first to its
# CLI running (a few dozen turns), each cut once.
CUT_AFTER_TURNS = 40
PIDS_WAIT_S = 20.0
# A hard budget far from used up: every call is admitted and holds room on it while it runs.
BUDGET = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 50_000_000}]
# The client in a child process: it connects and waits on one synchronous call.
CHILD_CLIENT = """
import asyncio, sys
from mcp import Client

async def main():
    async with Client(sys.argv[1], mode=sys.argv[2]) as client:
        await client.call_tool("claude_request", {"prompt": sys.argv[3]})

asyncio.run(main())
"""


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> AsyncIterator[GatewayRuntime]:
    install_fake_claude(tmp_path / "bin")
    overrides = {
        "providers.cli_path": [str(tmp_path / "bin")],
        "providers.kill_grace_ms": 500,
        "budgets": BUDGET,
        # The fake calls no model: it runs as on its own login, its job held as one call.
        "providers.unmetered_clis": ["claude"],
    }
    async with gateway_starter(loaded) as start:
        yield await start(overrides)


# Polled as every test waits (`tests/waiting.py`), within this suite's bound.
until = functools.partial(waiting.until, timeout_s=SETTLE_S, step_s=0.05)


async def holds(gateway: GatewayRuntime) -> list[tuple[str, float]]:
    """The calls' budget holds in the store (not a process's reserves)."""
    database = gateway.engine.store.models.database
    rows = await gateway.engine.store.run(
        lambda: database.execute_sql("SELECT id, amount FROM budget_holds").fetchall()
    )
    return [(str(i), float(a)) for i, a in rows if ":" not in str(i)]


async def only_job(gateway: GatewayRuntime) -> JobView:
    jobs = await gateway.engine.jobs.list_jobs(PRINCIPAL, 10)
    assert len(jobs) == 1, jobs
    return jobs[0]


async def row_of(gateway: GatewayRuntime, job_id: str) -> dict[str, Any]:
    await gateway.engine.recorder.flush()
    rows = [r for r in await gateway.engine.recorder.recent(limit=50) if r["job_id"] == job_id]
    assert len(rows) == 1, rows
    return dict(rows[0])


def alive(pids: dict[str, int]) -> list[str]:
    """Those of `pids` still running."""
    return [name for name, pid in pids.items() if is_alive(pid)]


async def tree_running(tmp_path: Path, leftovers: list[int], name: str) -> dict[str, int]:
    """The fake's three pids once all of them run (read off the loop: it polls files)."""
    pids = await asyncio.to_thread(read_pids, tmp_path / name, PIDS, PIDS_WAIT_S)
    leftovers.extend(pids.values())
    return pids


async def check_stopped(gateway: GatewayRuntime, pids: dict[str, int]) -> None:
    """The call's CLI tree is gone, its job and row say canceled, and it holds nothing."""

    async def tree_gone() -> bool:
        return not alive(pids)

    await until(tree_gone, f"the CLI tree {pids} ended (left: {alive(pids)})")
    job = await only_job(gateway)

    async def ended() -> bool:
        return (await gateway.engine.jobs.get(job.id, PRINCIPAL)).finished

    await until(ended, f"job {job.id} ended")
    view = await gateway.engine.jobs.get(job.id, PRINCIPAL)
    assert view.state.value == "canceled", (view.state, view.error)
    assert (view.error or {}).get("code") == "canceled", view.error

    async def row_ended() -> bool:
        return (await row_of(gateway, job.id))["state"] != "started"

    await until(row_ended, "the call's row ended")
    assert (await row_of(gateway, job.id))["state"] == "canceled"

    async def released() -> bool:
        return not await holds(gateway)

    await until(released, "the call's budget hold was released")
    # Released into spend, not given back: its CLI ran until it was stopped, and a job that
    # ends without its usage counts what it held (finding 60), whoever stopped it; a caller
    # that leaves each call before its answer is charged as one that waits.
    row = await row_of(gateway, job.id)
    counted = row["input_tokens"] + row["output_tokens"]

    async def charged() -> bool:
        return spent(gateway) == counted > 0

    await until(charged, f"the budget counted the call's {counted} tokens ({spent(gateway)})")


def spent(gateway: GatewayRuntime) -> float:
    """What the one budget has spent this period, as this process counts it."""
    (status,) = gateway.engine.budgets.statuses()
    return status.spent


def tree_prompt(tmp_path: Path, name: str) -> str:
    directory = tmp_path / name
    directory.mkdir()
    return f"tree {directory}"


@pytest.mark.parametrize("mode", MODES)
async def test_a_sync_call_the_client_cancels_stops_its_cli(
    gateway: GatewayRuntime, tmp_path: Path, leftovers: list[int], mode: str
) -> None:
    async with Client(gateway.mcp_url, mode=mode) as client:
        call = asyncio.ensure_future(
            client.call_tool("claude_request", {"prompt": tree_prompt(tmp_path, "pids")})
        )
        try:
            pids = await tree_running(tmp_path, leftovers, "pids")
            # Running, and holding room on the budget (what the release below is about).
            assert await holds(gateway)
        finally:
            # What Esc in an editor does: the SDK tells the server the call is cancelled.
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call
        await check_stopped(gateway, pids)
        # The session serves on: the next call runs and answers.
        answer = structured(await client.call_tool("claude_request", {"prompt": "succeed"}))
    assert ANSWER in answer["text"], answer


@pytest.mark.parametrize("mode", MODES)
async def test_a_sync_call_whose_client_dies_stops_its_cli(
    gateway: GatewayRuntime, tmp_path: Path, leftovers: list[int], mode: str
) -> None:
    prompt = tree_prompt(tmp_path, "pids")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD_CLIENT,
        gateway.mcp_url,
        mode,
        prompt,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    leftovers.append(child.pid)
    try:
        pids = await tree_running(tmp_path, leftovers, "pids")
        assert await holds(gateway)
        # The client goes away without a word (an editor killed, a laptop lid shut).
        child.kill()
    finally:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await asyncio.wait_for(child.wait(), SETTLE_S)
    await check_stopped(gateway, pids)


@pytest.mark.parametrize("mode", MODES)
async def test_an_async_calls_job_outlives_its_request_and_its_client(
    gateway: GatewayRuntime, tmp_path: Path, mode: str
) -> None:
    release = tmp_path / "release"
    async with Client(gateway.mcp_url, mode=mode) as client:
        started = structured(
            await client.call_tool("claude_request_async", {"prompt": f"until {release}"})
        )
    job_id = started["jobId"]

    async def running() -> bool:
        return (await gateway.engine.jobs.get(job_id, PRINCIPAL)).state.value == "running"

    await until(running, "the async job runs")
    # Its request answered and its client left (its session ended); it runs on until its CLI
    # answers. A bounded look a moment later, in which a wrong cancel on leaving would land.
    await asyncio.sleep(1.0)
    assert (await gateway.engine.jobs.get(job_id, PRINCIPAL)).state.value == "running"
    release.touch()
    view = await gateway.engine.jobs.wait(job_id, PRINCIPAL, SETTLE_S)
    assert view.state.value == "completed" and ANSWER in str(view.result), view
    assert (await row_of(gateway, job_id))["state"] == "completed"

    async def released() -> bool:
        return not await holds(gateway)

    await until(released, "the async call's budget hold was released")


@pytest.mark.parametrize("mode", MODES)
async def test_a_sync_call_that_answers_is_unchanged(gateway: GatewayRuntime, mode: str) -> None:
    async with Client(gateway.mcp_url, mode=mode) as client:
        answer = structured(await client.call_tool("claude_request", {"prompt": "succeed"}))
    assert ANSWER in answer["text"] and answer["state"] == "completed", answer
    assert (await row_of(gateway, answer["jobId"]))["state"] == "completed"

    async def released() -> bool:
        return not await holds(gateway)

    await until(released, "the call's budget hold was released")


async def test_a_sync_call_cut_at_any_await_by_a_cancel_scope_leaves_nothing_running(
    gateway: GatewayRuntime,
) -> None:
    # The SDK cancels a tool call through an anyio cancel scope, which cancels every await of
    # the call again until the scope is left: cut at each await in turn, from before its row
    # starts, through approval and the job's row written, to its CLI running.
    meta = RequestMeta(transport="mcp-http", tool="claude_request")
    for turns in range(CUT_AFTER_TURNS):
        scope = anyio.CancelScope()
        call = Call("claude", CallParams(prompt=f"hang {turns}"), PRINCIPAL, meta)

        async def run(scope: anyio.CancelScope = scope, call: Call = call) -> None:
            with scope:
                await gateway.engine.runner.run(call)

        running = asyncio.ensure_future(run())
        for _ in range(turns):
            await asyncio.sleep(0)
        scope.cancel()
        await asyncio.wait_for(running, SETTLE_S)

        async def settled() -> bool:
            jobs = await gateway.engine.jobs.list_jobs(PRINCIPAL, 200)
            rows = await gateway.engine.recorder.recent(limit=500)
            return (
                not any(not j.finished for j in jobs)
                and all(r["state"] != "started" for r in rows)
                # The hold is released by the budget's next flush, a moment after the call ends.
                and not await holds(gateway)
            )

        await until(settled, f"the call cut after {turns} turns left nothing open or held")
    jobs = await gateway.engine.jobs.list_jobs(PRINCIPAL, 200)
    assert {j.state.value for j in jobs} <= {"canceled"}, [(j.id, j.state) for j in jobs]
    assert not await holds(gateway)
