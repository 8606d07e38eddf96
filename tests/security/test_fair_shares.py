"""One principal cannot starve the others (issue 26, item 6).

A running gateway with its front door locked (static bearer and a trusted proxy header naming
`user:mallory` and `user:alice`). Over HTTP, the API providers point at the scripted upstream,
which holds mallory's answers (Anthropic's dialect) far longer than the test lasts while it
answers alice's (OpenAI's) at once, on the same host and so the same connection pool: mallory,
sending many calls at once with the official `anthropic` SDK, holds only its share of the
pool and is told 429 with `Retry-After` for the rest, while alice's call through the `openai`
SDK is served. Over MCP, Claude Code is a stand-in that blocks on any prompt holding `HOLD`:
mallory filling the job queue gets `saturated` naming its share while alice's job is taken and
runs, and mallory's queued jobs do not keep alice's from running. The local user is not held
to a share. On the code before, alice got a 504 and `saturated`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import anthropic

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from tests.fakes.claude_stand_in import install_claude_stand_in
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.security._power_support import headers_mcp
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    Start,
    bearer,
    provider_env,
    start,
)

T = TypeVar("T")

POOL = 4  # connections to the upstream host; a remote principal's share is half
SHARE = POOL // 2
ATTACK = 8  # mallory's calls at once
CONNECT_TIMEOUT_MS = 1500  # how long a call beyond its share waits for one of its own
HELD_S = 120.0  # mallory's answers never come while the test runs
WAIT_S = 30.0
CLAUDE = "claude-sonnet-4-6"
SYNC_DEADLINE_MS = 10_000  # alice's job, run at once, answers well within it


def _as(name: str) -> dict[str, str]:
    return bearer(**{USER_HEADER: name})


async def _bounded(step: Awaitable[T]) -> T:
    async with asyncio.timeout(WAIT_S):
        return await step


# -- the upstream connection pool --------------------------------------------------------


async def _pool_gateway(start: Start, upstream: ScriptedUpstream) -> GatewayRuntime:  # noqa: F811
    upstream.by_dialect["anthropic"] = Reply.slow(HELD_S)
    return await start(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "gateway.max_connections_per_host": POOL,
            "gateway.connect_timeout_ms": CONNECT_TIMEOUT_MS,
        },
    )


def _claude(gateway: GatewayRuntime, headers: dict[str, str]) -> anthropic.AsyncAnthropic:
    return claude_client(gateway, headers=headers)


async def _held_call(client: anthropic.AsyncAnthropic) -> Any:
    return await client.messages.create(
        model=CLAUDE, max_tokens=16, messages=[{"role": "user", "content": "hold the line"}]
    )


async def _wait_done(tasks: list[asyncio.Task[Any]], count: int) -> list[asyncio.Task[Any]]:
    """Wait until `count` of `tasks` have ended (bounded); those that have."""
    async with asyncio.timeout(WAIT_S):
        while sum(task.done() for task in tasks) < count:
            await asyncio.wait([t for t in tasks if not t.done()], return_when="FIRST_COMPLETED")
    return [task for task in tasks if task.done()]


async def test_one_principal_holds_only_its_share_of_an_upstreams_connections(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await _pool_gateway(start, upstream)
    mallory = _claude(gateway, _as("mallory"))
    attack = [asyncio.create_task(_held_call(mallory)) for _ in range(ATTACK)]
    try:
        await upstream.wait_for_requests(SHARE, timeout=WAIT_S)
        # Alice, on the same upstream host, is served while mallory's calls are held.
        alice = openai_client(gateway, TOKEN, headers={USER_HEADER: "alice"})
        answer = await _bounded(
            alice.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
            )
        )
        assert answer.choices[0].message.content
        # Mallory's calls beyond its share wait for its own, then are told to retry.
        refused = await _wait_done(attack, ATTACK - SHARE)
        assert len(refused) == ATTACK - SHARE
        for task in refused:
            error = task.exception()
            assert isinstance(error, anthropic.RateLimitError), error
            assert error.response.headers.get("retry-after") == "1"
            body = error.body
            assert isinstance(body, dict) and body["type"] == "error", body
            message = body["error"]["message"]
            assert "user:mallory" in message and "gateway.principal_share_percent" in message
        held = [r for r in upstream.llm_requests if r.dialect == "anthropic"]
        assert len(held) == SHARE, len(held)  # never more of the pool than its share
    finally:
        await _cancel(attack)


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    """Calls still held when the test ends: cancelled, and their ends awaited."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_local_user_is_not_held_to_a_share(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await _pool_gateway(start, upstream)
    local = _claude(gateway, {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token})
    calls = [asyncio.create_task(_held_call(local)) for _ in range(POOL)]
    try:
        # Every connection of the pool carries one of the local user's calls.
        await upstream.wait_for_requests(POOL, timeout=WAIT_S)
        assert not any(task.done() for task in calls)
    finally:
        await _cancel(calls)


# -- CLI jobs ----------------------------------------------------------------------------


async def _jobs_gateway(
    start: Start,  # noqa: F811
    tmp_path: Path,
    *,
    max_queued: int,
) -> GatewayRuntime:
    bin_dir = tmp_path / "bin"
    install_claude_stand_in(bin_dir)
    (tmp_path / "web").mkdir()
    return await start(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "providers.cli_path": [str(bin_dir)],
            "workspaces.registry": {"web": str(tmp_path / "web")},
            "providers.retry_attempts": 1,
            "jobs.max_concurrent": 2,
            "jobs.max_concurrent_per_provider": 2,
            "jobs.max_queued": max_queued,
            "jobs.sync_deadline_ms": SYNC_DEADLINE_MS,
        },
    )


async def _submit_held(gateway: GatewayRuntime, count: int) -> list[dict[str, Any]]:
    """`count` jobs that never end, sent by mallory at once; each answer."""
    async with headers_mcp(gateway, _as("mallory")) as client:
        results = await _bounded(
            asyncio.gather(
                *(
                    client.call_tool(
                        "claude_request_async", {"prompt": f"HOLD {n}", "workspace": "web"}
                    )
                    for n in range(count)
                )
            )
        )
    answers = []
    for result in results:
        assert result.structured_content is not None, result
        answers.append(dict(result.structured_content) | {"is_error": bool(result.is_error)})
    return answers


async def _alice_asks(gateway: GatewayRuntime) -> dict[str, Any]:
    async with headers_mcp(gateway, _as("alice")) as client:
        result = await _bounded(
            client.call_tool("claude_request", {"prompt": "hello", "workspace": "web"})
        )
    assert result.structured_content is not None, result
    return dict(result.structured_content)


async def test_one_principal_filling_the_job_queue_leaves_room_for_another(
    start: Start,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Two running and four queued in all: mallory's share is three of the six.
    gateway = await _jobs_gateway(start, tmp_path, max_queued=4)
    answers = await _submit_held(gateway, 8)
    taken = [a for a in answers if not a["is_error"]]
    refused = [a for a in answers if a["is_error"]]
    assert len(taken) == 3 and len(refused) == 5, answers
    for answer in refused:
        error = answer["error"]
        assert error["code"] == "saturated" and error["retryable"] is True, answer
        assert "jobs.principal_share_percent" in error["message"], answer
        assert "user:mallory" in error["message"], answer
    # Alice's job is taken, runs beside mallory's and answers.
    answer = await _alice_asks(gateway)
    assert "error" not in answer and not answer.get("deferred"), answer
    assert "ANSWERED" in str(answer), answer


async def test_one_principals_running_jobs_leave_a_slot_for_another(
    start: Start,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Room in the queue for everyone; two run at once, of which mallory may hold one.
    gateway = await _jobs_gateway(start, tmp_path, max_queued=64)
    answers = await _submit_held(gateway, 4)
    assert not any(a["is_error"] for a in answers), answers
    answer = await _alice_asks(gateway)
    assert "error" not in answer and not answer.get("deferred"), answer
    assert "ANSWERED" in str(answer), answer
    # Mallory's jobs still wait for its own to end: one runs, the rest are queued.
    assert gateway.engine.jobs.health()["byState"] == {"running": 1, "queued": 3}
