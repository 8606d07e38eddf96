"""SIGTERM mid-job: the real gateway stops within about a second, with its jobs and their
recorder rows `interrupted`, partial output flushed, every CLI process group killed, the
results of finished jobs intact and the store sound. Real processes throughout (see
`test_kill9.py`, whose gateway and fake CLI this shares).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from typing import Any

import aiohttp
import pytest

from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.reliability._crash_support import (
    ANSWER,
    Gateway,
    call,
    check_the_store_tells_the_truth,
    finished_job,
    gateway,  # noqa: F401 - the fixture
    query,
    start_tree,
    wait_dead,
)
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; the signal is POSIX"
)

# The promise is "within 1 s"; the bound leaves room for a loaded 2-core machine.
STOP_BOUND_S = 3.0
EXIT_TIMEOUT_S = 20.0


def test_sigterm_mid_job_stops_within_a_second_and_interrupts_the_jobs(
    gateway: Gateway,  # noqa: F811
) -> None:
    gateway.start()
    completed = finished_job(gateway)
    # The hardest kind of run: every process of it ignores SIGTERM.
    job_id, pids = start_tree(gateway, "stubborn")
    # A caller waiting on a synchronous call holds a request open in the front door.
    waiting: dict[str, Any] = {}
    waiter = threading.Thread(
        target=lambda: waiting.update(answer=call(gateway.url, "claude_request", prompt="hang"))
    )
    waiter.start()
    running = "SELECT count(*) FROM jobs WHERE state = 'running' AND process_group IS NOT NULL"
    deadline = time.monotonic() + 20
    while query(gateway.db, running) != [(2,)] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert query(gateway.db, running) == [(2,)]

    assert gateway.proc is not None
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)
    code = gateway.proc.wait(timeout=EXIT_TIMEOUT_S)
    took = time.monotonic() - sent
    _, err = gateway.proc.communicate()
    gateway.proc = None
    print(f"SIGTERM to exit with two running jobs: {took:.2f}s")
    assert code == 0, err
    assert "Traceback" not in err
    assert took < STOP_BOUND_S, f"stopping took {took:.2f}s"
    # The groups were killed before the gateway exited (allow the kernel a moment).
    assert wait_dead(pids.values(), 0.5) == []

    waiter.join(timeout=10)
    answer = waiting.get("answer")
    if answer is not None:  # it may also have lost its connection: either is an honest end
        assert answer["error"]["code"] == "interrupted", answer
    check_the_store_tells_the_truth(gateway, job_id, completed)
    assert "stopped" in gateway.log()

    gateway.start()
    result = call(gateway.url, "llm_job_result", jobId=completed)
    assert ANSWER in result["text"]
    gateway.stop()


def test_a_stop_with_nothing_running_is_quick_too(gateway: Gateway) -> None:  # noqa: F811
    gateway.start()
    finished_job(gateway)
    assert gateway.proc is not None
    sent = time.monotonic()
    gateway.proc.send_signal(signal.SIGTERM)
    code = gateway.proc.wait(timeout=EXIT_TIMEOUT_S)
    took = time.monotonic() - sent
    gateway.proc.communicate()
    gateway.proc = None
    print(f"SIGTERM to exit, idle: {took:.2f}s")
    assert code == 0 and took < STOP_BOUND_S


async def test_a_stop_cuts_a_hung_upstream_stream_quickly_and_says_interrupted(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """In process this time (the runtime's own stop, as SIGTERM runs it): a client waits on a
    stream whose upstream never begins; the stop does not wait for the upstream."""
    runtime = await start_gateway()
    upstream.script(Reply.slow(60))
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}

    async def stream() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(runtime.base_url + "/v1/chat/completions", json=body) as response,
        ):
            await response.read()
            return response.status

    client = asyncio.get_running_loop().create_task(stream())
    while not upstream.llm_requests:  # noqa: ASYNC110 - the upstream is another server
        await asyncio.sleep(0.02)
    began = time.monotonic()
    await runtime.stop()
    took = time.monotonic() - began
    print(f"runtime stop with a hung upstream stream: {took:.2f}s")
    assert took < STOP_BOUND_S
    # Its answer had not begun: told the gateway is stopping (a 503 it may retry), not cut off.
    assert await asyncio.wait_for(client, 5) == 503
    rows = query(
        runtime.settings.database_file, "SELECT state, error_code FROM requests ORDER BY started_at"
    )
    assert rows == [("interrupted", "gateway_stopping")]
