"""Two real gateway processes on one PostgreSQL database behind a load balancer on loopback,
used by the official MCP client over 2025-era Streamable HTTP (the handshake that opens a
session; 2026-era requests carry no session in either mode).

With `mcp.stateless` any process answers any request, so a plain round-robin balancer works:
the handshake, the tool list, a provider call, and a job started on one process and read
through the other. Without it (the default) a session lives in the process that opened it: a
round-robin balancer sends the next request to the other process, which answers "Session not
found"; a balancer sticky on the `Mcp-Session-Id` the process opened keeps the flow working.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp import Client, MCPError

from tests.e2e import gateway_process as gp
from tests.e2e.loopback_balancer import LoopbackBalancer, balancer
from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.reliability._crash_support import ANSWER, JOB_WAIT_S
from tests.transports.mcp.conftest import structured

LEGACY = "legacy"  # the 2025-era handshake: what opens a session


async def _join_two(crew: Team, **env: str) -> list[TeamGateway]:
    """Two members, started off the event loop (starting one waits for it to be ready)."""
    return list(
        await asyncio.gather(
            asyncio.to_thread(crew.join, "first", **env),
            asyncio.to_thread(crew.join, "second", **env),
        )
    )


@asynccontextmanager
async def _behind(
    members: list[TeamGateway], *, sticky: bool = False
) -> AsyncIterator[LoopbackBalancer]:
    async with balancer([m.base_url for m in members], sticky=sticky) as front:
        yield front


async def _job_flow(client: Client, front: LoopbackBalancer) -> None:
    """A provider call, then a job started through one process and read through the other."""
    answer = structured(await client.call_tool("claude_request", {"prompt": "succeed"}))
    assert ANSWER in answer["text"], answer
    started = structured(await client.call_tool("claude_request_async", {"prompt": "succeed"}))
    job = {"jobId": started["jobId"]}
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        status = structured(await client.call_tool("llm_job_status", job))
        if status["state"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert status["state"] == "completed", status
    for _ in range(2):  # two reads in a row: one of them reaches each process
        result = structured(await client.call_tool("llm_job_result", job))
        assert result["state"] == "completed" and ANSWER in result["text"], result


def _backends_of(front: LoopbackBalancer, tool: str) -> set[int]:
    return {s.backend for s in front.served if s.tool == tool}


async def test_stateless_any_process_answers_any_request(team: Team) -> None:  # noqa: F811
    members = await _join_two(team, LLM_GATEWAY_MCP_STATELESS="true")
    async with _behind(members) as front, Client(front.url, mode=LEGACY) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"claude_request", "llm_job_status", "llm_job_result"} <= tools
        await _job_flow(client, front)
    counts = front.counts
    assert counts[0] > 2 and counts[1] > 2, counts
    assert all(s.status < 400 for s in front.served), front.served
    assert len({s.backend for s in front.served if s.rpc == "initialize"}) == 1
    started, read = (
        _backends_of(front, "claude_request_async"),
        _backends_of(front, "llm_job_result"),
    )
    assert read - started, (started, read)  # the job was read through the other process
    assert all(gp.health(m.port)["mcp"] == {"sessions": "stateless"} for m in members)


async def test_stateful_sessions_break_on_round_robin(team: Team) -> None:  # noqa: F811
    members = await _join_two(team)
    refused: list[str] = []
    async with _behind(members) as front:
        async with Client(front.url, mode=LEGACY) as client:
            for _ in range(4):
                try:
                    await client.list_tools()
                except MCPError as error:
                    refused.append(str(error))
        # 2026-era requests carry no session: round robin serves them in either mode.
        async with Client(front.url, mode="2026-07-28") as modern:
            for _ in range(2):
                assert (await modern.list_tools()).tools
    assert refused and all("Session not found" in r for r in refused), refused
    assert any(s.status == 404 for s in front.served), front.served
    assert all(gp.health(m.port)["mcp"] == {"sessions": "per-process"} for m in members)


async def test_stateful_sessions_work_behind_a_sticky_balancer(team: Team) -> None:  # noqa: F811
    members = await _join_two(team)
    async with _behind(members, sticky=True) as front:
        async with Client(front.url, mode=LEGACY) as client:
            await client.list_tools()
            await _job_flow(client, front)
        # A second client's session may open on the other process; it sticks there too.
        async with Client(front.url, mode=LEGACY) as other:
            await other.list_tools()
    assert all(s.status < 400 for s in front.served), front.served
    assert set(front.counts) == {0, 1}, front.counts
