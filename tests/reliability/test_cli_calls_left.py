"""A CLI call whose caller leaves at any moment still ends: its recorder row, its job, its CLI.

The gateway runs in this process with its real HTTP front door; the CLI is a fake `claude` (a
real process, `_crash_support.py`) whose prompt picks what it does. A client that hangs up
cancels its request's handler wherever it waits (aiohttp's handler cancellation), so the call
is cut at every await between "row started" and "job running": each such cut once left its
row `started` for good, a job `queued` in the store with no task to run it, or a CLI running
for nobody.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import DIALECT_OPENAI_CHAT, CallerInfo
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.calls import Call, CallParams, RequestMeta
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests import waiting
from tests.gateways import gateway_starter
from tests.reliability._crash_support import install_fake_claude

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

MODEL = "claude-cli/sonnet"
PRINCIPAL = LOCAL_CALLER.id
# Loop turns after which a call is cancelled: enough to walk every await from the request's
# first to its CLI running (a few dozen turns), each cut once.
CUT_AFTER_TURNS = 60
SETTLE_S = 15.0
FINISHED = {"completed", "failed", "canceled", "interrupted", "refused", "denied", "deduped"}


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> AsyncIterator[GatewayRuntime]:
    install_fake_claude(tmp_path / "bin")
    overrides = {
        "providers.cli_path": [str(tmp_path / "bin")],
        "providers.kill_grace_ms": 500,
        # One job at a time: a second call waits in the queue.
        "jobs.max_concurrent": 1,
    }
    async with gateway_starter(loaded) as start:
        yield await start(overrides)


def _request(gateway: GatewayRuntime, prompt: str, *, stream: bool) -> bytes:
    host = gateway.base_url.split("//", 1)[1]
    body = json.dumps(
        {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": prompt}]}
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _hang_up_once(
    gateway: GatewayRuntime, prompt: str, *, stream: bool, when: Callable[[], Awaitable[bool]]
) -> None:
    """Send one request on a real socket and drop the connection once `when()` holds."""
    host, port = gateway.base_url.split("//", 1)[1].rsplit(":", 1)
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(_request(gateway, prompt, stream=stream))
    await writer.drain()
    await _until(when)
    writer.transport.abort()


# Polled as every test waits (`tests/waiting.py`), within this suite's bound.
_until = functools.partial(waiting.until, timeout_s=SETTLE_S, step_s=0.02)


async def _jobs(gateway: GatewayRuntime) -> Counter[str]:
    return Counter(str(j.state) for j in await gateway.engine.jobs.list_jobs(PRINCIPAL, 200))


async def _settled(gateway: GatewayRuntime) -> tuple[Counter[str], Counter[str]]:
    """Rows and jobs by state once none is open (or as they stand when SETTLE_S is up)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        rows = Counter(r["state"] for r in await gateway.engine.recorder.recent(limit=500))
        jobs = await _jobs(gateway)
        still = rows["started"] + jobs["queued"] + jobs["running"]
        if not still or time.monotonic() > deadline:
            return rows, jobs
        await asyncio.sleep(0.1)


async def test_a_streamed_cli_call_whose_client_leaves_while_queued_ends_its_row(
    gateway: GatewayRuntime,
) -> None:
    busy = await gateway.engine.jobs.list_jobs(PRINCIPAL, 10)
    assert not busy
    # The one slot taken by a call that hangs, over a socket kept open.
    host, port = gateway.base_url.split("//", 1)[1].rsplit(":", 1)
    _, holder = await asyncio.open_connection(host, int(port))
    holder.write(_request(gateway, "hang", stream=True))
    await holder.drain()

    async def queued() -> bool:
        return (await _jobs(gateway))["queued"] == 1

    async def running() -> bool:
        return (await _jobs(gateway))["running"] == 1

    await _until(running)
    # The second waits in the queue; its client leaves, which cancels its job there.
    await _hang_up_once(gateway, "succeed", stream=True, when=queued)

    async def cancelled() -> bool:
        return (await _jobs(gateway))["canceled"] == 1

    await _until(cancelled)
    holder.transport.abort()
    rows, jobs = await _settled(gateway)
    assert set(jobs) == {"canceled"}, jobs
    # Both rows end as their jobs did: the queued one too, though its CLI never ran.
    assert rows == Counter({"canceled": 2}), rows


async def test_a_whole_cli_call_whose_client_leaves_stops_its_cli(
    gateway: GatewayRuntime,
) -> None:
    async def running() -> bool:
        return (await _jobs(gateway))["running"] == 1

    # Not streamed: the gateway waits for the job's end before it answers. The client that
    # left will never read it, so the CLI is stopped, as it is for a stream or a timeout.
    await _hang_up_once(gateway, "hang", stream=False, when=running)
    rows, jobs = await _settled(gateway)
    assert jobs == Counter({"canceled": 1}), jobs
    assert rows == Counter({"canceled": 1}), rows


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_cli_call_cut_at_any_await_leaves_no_row_or_job_open(
    gateway: GatewayRuntime, stream: bool
) -> None:
    # What a hang-up does to the request's handler, at each loop turn in turn: from before its
    # row starts, through approval, the queue and the job's row written, to its CLI running.
    caller = CallerInfo(principal=PRINCIPAL, endpoint="/v1/chat/completions")
    body = {"model": MODEL, "messages": [{"role": "user", "content": "succeed"}]}
    for turns in range(CUT_AFTER_TURNS):
        call = asyncio.ensure_future(
            gateway.engine.gateway.chat(DIALECT_OPENAI_CHAT, dict(body), caller, stream=stream)
        )
        for _ in range(turns):
            await asyncio.sleep(0)
        call.cancel()
        try:
            answer = await call
        except asyncio.CancelledError:
            continue
        # Answered before the cut: a stream is closed unread, as a front door would.
        chunks = getattr(answer, "chunks", None)
        if chunks is not None:
            await chunks.aclose()
    rows, jobs = await _settled(gateway)
    assert set(rows) <= FINISHED, rows
    assert set(jobs) <= FINISHED, jobs


async def test_a_job_cancelled_as_soon_as_it_was_started_ends(gateway: GatewayRuntime) -> None:
    # Its task has not had a turn yet: cancelling that task would stop it before the `try`
    # whose `finally` ends the job, and the cancel would wait for that end for good.
    started = await gateway.engine.runner.start(
        Call("claude", CallParams(prompt="hang"), PRINCIPAL, RequestMeta())
    )
    async with asyncio.timeout(SETTLE_S):
        view = await gateway.engine.jobs.cancel(started.job_id, PRINCIPAL)
    assert str(view.state) == "canceled"
    rows, jobs = await _settled(gateway)
    assert jobs == Counter({"canceled": 1}), jobs
    assert rows == Counter({"canceled": 1}), rows
