"""A call sent again right after its client cancelled it runs anew; identical calls that are
not such a retry still share one job.

The gateway runs in this process with its real HTTP front door; the client is the official
`mcp` SDK's (it cancels: `notifications/cancelled` in the 2025 era, closing the response stream
in 2026-07-28); the CLI is the fake `claude` (`_crash_support.py`). Its `once DIR` prompt
outlives SIGTERM on its first run, so a cancelled job stays dying for the kill grace (its row
still `running`), and answers on every later run of the same prompt.

Before, the retry a user sends after pressing Esc attached to the dying job (both the
in-memory and the stored duplicate check counted it as live) and was answered `canceled`; the
same after `llm_job_cancel`. Two gateway processes on one PostgreSQL store are
tests/e2e/test_team_gateway.py; the job manager on both engines,
tests/engine/jobs/test_retry_after_cancel.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.jobs.model import JobView
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.reliability._crash_support import (
    ANSWER,
    install_fake_claude,
    read_pids,
)
from tests.reliability.test_mcp_calls_left import MODES, SETTLE_S, until
from tests.transports.mcp.conftest import structured

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

PRINCIPAL = LOCAL_CALLER.id
# How long a cancelled job dies: its CLI outlives SIGTERM until this grace ends. Long enough
# that the retry, sent as soon as the CLI got SIGTERM, is decided while it still dies.
KILL_GRACE_MS = 4000


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> AsyncIterator[GatewayRuntime]:
    install_fake_claude(tmp_path / "bin")
    overrides = {
        "providers.cli_path": [str(tmp_path / "bin")],
        "providers.kill_grace_ms": KILL_GRACE_MS,
    }
    async with gateway_starter(loaded) as start:
        yield await start(overrides)


async def first_run(directory: Path, leftovers: list[int]) -> int:
    """The pid of the `once` prompt's first CLI, once it runs (read off the loop)."""
    pid = (await asyncio.to_thread(read_pids, directory, ("ran",), SETTLE_S))["ran"]
    leftovers.append(pid)
    return pid


async def told_to_stop(directory: Path) -> None:
    """The first CLI got its SIGTERM: the cancel reached the job, which now dies."""

    async def termed() -> bool:
        return (directory / "term").exists()

    await until(termed, "the cancelled job's CLI was told to stop")


async def check_retry(gateway: GatewayRuntime, first_id: str, answer: dict[str, Any]) -> None:
    """`answer` came from a job of its own that answered, decided while the first was dying;
    the first ended `canceled`."""
    assert answer["jobId"] != first_id and not answer["attached"], answer
    assert answer["state"] == "completed" and ANSWER in answer["text"], answer

    async def ended() -> bool:
        return (await gateway.engine.jobs.get(first_id, PRINCIPAL)).finished

    await until(ended, f"the cancelled job {first_id} ended")
    first = await gateway.engine.jobs.get(first_id, PRINCIPAL)
    retry = await gateway.engine.jobs.get(answer["jobId"], PRINCIPAL)
    assert first.state.value == "canceled", (first.state, first.error)
    # Not a vacuous pass: the retry was taken while the first was still dying.
    assert first.finished_at is not None and retry.created_at < first.finished_at


async def only_job(gateway: GatewayRuntime) -> JobView:
    jobs = await gateway.engine.jobs.list_jobs(PRINCIPAL, 10)
    assert len(jobs) == 1, jobs
    return jobs[0]


@pytest.mark.parametrize("mode", MODES)
async def test_a_retry_right_after_esc_runs_anew_and_answers(
    gateway: GatewayRuntime, tmp_path: Path, leftovers: list[int], mode: str
) -> None:
    prompt = f"once {tmp_path}"
    async with Client(gateway.mcp_url, mode=mode) as client:
        call = asyncio.ensure_future(client.call_tool("claude_request", {"prompt": prompt}))
        try:
            await first_run(tmp_path, leftovers)
            first = await only_job(gateway)
        finally:
            call.cancel()  # Esc
            with contextlib.suppress(asyncio.CancelledError):
                await call
        await told_to_stop(tmp_path)
        answer = structured(await client.call_tool("claude_request", {"prompt": prompt}))
    await check_retry(gateway, first.id, answer)


@pytest.mark.parametrize("mode", MODES)
async def test_a_retry_sent_while_llm_job_cancel_stops_the_job_runs_anew(
    gateway: GatewayRuntime, tmp_path: Path, leftovers: list[int], mode: str
) -> None:
    prompt = f"once {tmp_path}"
    async with Client(gateway.mcp_url, mode=mode) as client:
        started = structured(await client.call_tool("claude_request_async", {"prompt": prompt}))
        await first_run(tmp_path, leftovers)
        # The cancel answers once the job has ended, a kill grace away; the retry goes now.
        cancelling = asyncio.ensure_future(
            client.call_tool("llm_job_cancel", {"jobId": started["jobId"]})
        )
        await told_to_stop(tmp_path)
        answer = structured(await client.call_tool("claude_request", {"prompt": prompt}))
        canceled = structured(await asyncio.wait_for(cancelling, SETTLE_S))
    assert canceled["state"] == "canceled", canceled
    await check_retry(gateway, started["jobId"], answer)


@pytest.mark.parametrize("mode", MODES)
async def test_identical_calls_at_once_still_share_one_job(
    gateway: GatewayRuntime, tmp_path: Path, mode: str
) -> None:
    release = tmp_path / "release"
    prompt = f"until {release}"
    async with Client(gateway.mcp_url, mode=mode) as client:
        calls = [
            asyncio.ensure_future(client.call_tool("claude_request", {"prompt": prompt}))
            for _ in range(2)
        ]
        try:

            async def both_in() -> bool:
                await gateway.engine.recorder.flush()
                rows = await gateway.engine.recorder.recent(limit=10)
                return len([r for r in rows if r["job_id"]]) == 2

            await until(both_in, "both calls were taken")
            release.touch()
            answers = [structured(await asyncio.wait_for(c, SETTLE_S)) for c in calls]
        finally:
            release.touch()
            for c in calls:
                c.cancel()
    assert answers[0]["jobId"] == answers[1]["jobId"], answers
    assert sorted(a["attached"] for a in answers) == [False, True], answers
    assert all(a["state"] == "completed" and ANSWER in a["text"] for a in answers), answers
    assert len(await gateway.engine.jobs.list_jobs(PRINCIPAL, 10)) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_completed_jobs_identical_repeat_is_answered_by_it(
    gateway: GatewayRuntime, mode: str
) -> None:
    async with Client(gateway.mcp_url, mode=mode) as client:
        first = structured(await client.call_tool("claude_request", {"prompt": "succeed"}))
        again = structured(await client.call_tool("claude_request", {"prompt": "succeed"}))
    assert first["state"] == "completed" and not first["attached"], first
    assert again["jobId"] == first["jobId"] and again["attached"], again
    assert again["state"] == "completed" and ANSWER in again["text"], again
