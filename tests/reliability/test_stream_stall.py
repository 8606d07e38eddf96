"""A stream whose upstream stops mid-way shows while it lasts, and is not cut for it.

The fault pass of 2026-11-29 (F6) stopped an upstream process with SIGSTOP after its streams
had begun: nothing showed anywhere (`/health`, the Providers page) until
`gateway.upstream_timeout_ms`, ten minutes by default, cut them. Now a stream silent for
`gateway.hung_check_after_ms` has the gateway probe its host, and a host that does not answer
is hung, as one found by a wait for an answer's head is: `/health` names it in `cooling`, other
requests pass it over. The stream waits on (it is the client's, and the host may go on): once
SIGCONT lets the process run, it ends whole and the target is back.

Beside it the legitimate path: a stream whose host runs but pauses longer than the check
between its frames (a model thinking) is left alone, nothing marked.

The upstream is the scripted one in a process of its own (`tests/fakes/upstream_process.py`),
stopped and resumed for real; requests are plain HTTP as an SDK streams them, default limits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import aiohttp

from llmgw_desktop.engine.gateway.router import Target
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream_process import upstream_process
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)
from tests.waiting import until

# With the default check and probe (2 s each) and the sweep's own period, a stalled stream's
# target shows hung within about 6 s; the rest is a loaded machine's slack.
SHOWN_WITHIN_S = 15.0
STOPPED_S = 4.0  # how long it stays stopped once the stall has shown
GIVE_UP_S = 60.0  # the test's own bound on the stream (the old wait was 600 s)


def _providers(base_url: str) -> dict[str, Any]:
    return {
        "alpha": {
            "kind": "openai-compatible",
            "base_url": base_url + "/v1",
            "models": ["gpt-4o-mini"],
            "api_key": "sk-alpha-key-0123456789",
        }
    }


async def _cooling(session: aiohttp.ClientSession, gateway: GatewayRuntime) -> list[str]:
    async with session.get(gateway.base_url + "/health") as response:
        cooling: list[str] = (await response.json())["cooling"]
        return cooling


async def _stream(
    session: aiohttp.ClientSession, gateway: GatewayRuntime, began: asyncio.Event
) -> bytes:
    """One streamed chat as an SDK sends it: its whole body; `began` set at its first bytes."""
    body = {
        "model": "alpha/gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": "count slowly to five"}],
    }
    async with session.post(gateway.base_url + "/v1/chat/completions", json=body) as response:
        assert response.status == 200, await response.text()
        received = await response.content.readany()
        began.set()
        async for chunk in response.content.iter_any():
            received += chunk
    return received


async def test_a_stream_stopped_mid_way_shows_its_target_hung_and_ends_whole_when_it_goes_on(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    with upstream_process(frame_gap_s=0.5) as alpha:
        gateway: GatewayRuntime = await start_gateway(
            {"gateway.providers": _providers(alpha.base_url)}
        )
        try:
            async with aiohttp.ClientSession() as session, asyncio.timeout(GIVE_UP_S):
                began = asyncio.Event()
                stream = asyncio.create_task(_stream(session, gateway, began))
                await began.wait()
                os.kill(alpha.pid, signal.SIGSTOP)
                stopped_at = time.monotonic()
                while await _cooling(session, gateway) != ["alpha"]:
                    assert time.monotonic() - stopped_at < SHOWN_WITHIN_S, "the stall never showed"
                    assert not stream.done(), stream
                    await asyncio.sleep(0.25)
                (view,) = gateway.engine.providers.cooling()
                assert view.label == "alpha/gpt-4o-mini" and view.state == "hung"
                await asyncio.sleep(STOPPED_S)
                assert not stream.done()  # not cut: it keeps its own limit
                os.kill(alpha.pid, signal.SIGCONT)
                received = await stream
            assert b"FAKE-OK" in received and received.rstrip().endswith(b"data: [DONE]")
            assert gateway.engine.providers.cooling() == []
            # The ended stream leaves the watch at its next sweep (its own response says so),
            # and its timer stops with it.
            liveness = gateway.engine.gateway.balancer._of(Target("alpha", "gpt-4o-mini")).liveness
            await until(lambda: not liveness.streams and liveness.stream_sweep is None, "left")
            (row,) = await gateway.engine.recorder.recent(limit=5)
            assert row["state"] == "completed" and row["provider"] == "alpha", row
        finally:
            os.kill(alpha.pid, signal.SIGCONT)


async def test_a_stream_that_pauses_on_a_host_that_runs_is_left_alone(
    start_gateway: GatewayFactory,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        upstream.frame_gap_s = 1.5  # thinking between frames, past a check of 0.5 s
        gateway: GatewayRuntime = await start_gateway(
            {"gateway.providers": _providers(upstream.base_url), "gateway.hung_check_after_ms": 500}
        )
        async with aiohttp.ClientSession() as session, asyncio.timeout(GIVE_UP_S):
            began = asyncio.Event()
            stream = asyncio.create_task(_stream(session, gateway, began))
            while not stream.done():
                assert await _cooling(session, gateway) == []
                await asyncio.sleep(0.25)
            received = await stream
        assert b"FAKE-OK" in received and received.rstrip().endswith(b"data: [DONE]")
        (row,) = await gateway.engine.recorder.recent(limit=5)
        assert row["state"] == "completed", row
        assert [a["outcome"] for a in row["route"]["attempts"]] == ["ok"], row
