"""A call the gateway itself stops waiting for, under a hard budget, counts at its hold.

Red team, 2026-11-29: with `upstream_timeout_ms` (a whole answer) or `first_byte_timeout_ms`
(a stream) passed, the attempt's row was written `failed` at no cost and its hold given back,
while the vendor, which had the request, went on and billed the answer nobody read. Ten such
calls in a row recorded $0.00 against an upstream bill of $0.40, and nothing stopped an
eleventh. A call whose client leaves in the same wait already counted at its hold; the
gateway's own leaving now counts the same way, and the budget is used up, not passed.

Side by side, the legitimate path: a call the upstream refuses with a status (a 500) was not
taken, is not billed, and counts nothing, so the budget still admits the next.

The upstream is a small real HTTP server on loopback that never answers (or answers 500).
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from aiohttp import web

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._budget_support import (
    HeldChat,
    mallory_openai,
    openai_served_by,
    status_of,
    stored_records,
)
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    Start,
    provider_env,
    start,
)

MODEL = "gpt-5"  # $1.25 in, $10 out a million: 4,000 output tokens are $0.04
LIMIT = 4000
BUDGET = 0.10
WAIT_MS = 400


class _Silent(HeldChat):
    """Takes every request and says nothing until released; `fail` answers 500 at once."""

    def __init__(self) -> None:
        super().__init__()
        self.limits: list[Any] = []
        self.fail = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.limits.append(body.get("max_completion_tokens"))
        if self.fail:
            return web.json_response({"error": {"message": "overloaded"}}, status=500)
        try:
            async with asyncio.timeout(10):
                await self.release.wait()
        except TimeoutError:
            pass
        return web.json_response({"error": {"message": "late"}}, status=500)


silent = openai_served_by(_Silent)


async def _gateway(start: Start, stream: bool) -> GatewayRuntime:  # noqa: F811
    wait = "gateway.first_byte_timeout_ms" if stream else "gateway.upstream_timeout_ms"
    gateway: GatewayRuntime = await start(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": USER_HEADER,
            "budgets": [{"scope": "global", "unit": "usd", "period": "daily", "hard": BUDGET}],
            wait: WAIT_MS,
        },
    )
    return gateway


async def _ask(client: openai.AsyncOpenAI, stream: bool) -> int:
    async def call() -> None:
        made = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "think hard"}],
            max_completion_tokens=LIMIT,
            stream=stream,
        )
        if stream:
            async for _chunk in made:  # type: ignore[union-attr]
                pass

    return await status_of(call())


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_call_the_gateway_stopped_waiting_for_counts_its_hold(
    start: Start,  # noqa: F811
    silent: _Silent,
    stream: bool,
) -> None:
    gateway = await _gateway(start, stream)
    client = mallory_openai(gateway).with_options(max_retries=0)

    # Refused with a status: not taken, not billed, nothing counted.
    silent.fail = True
    assert await _ask(client, stream) == 502  # all routes failed
    (refused,) = await stored_records(gateway)
    assert refused["cost_usd"] in (None, 0), refused
    silent.fail = False

    statuses = []
    for _ in range(6):  # $0.10 holds two calls of $0.04 and a third lowered to what is left
        status = await _ask(client, stream)
        statuses.append(status)
        if status == 402:
            break
    assert statuses[-1] == 402 and set(statuses) == {504, 402}, statuses
    rows = [r for r in await stored_records(gateway) if r["error_code"] == "upstream_timeout"]
    assert len(rows) == statuses.count(504) == len(silent.limits) - 1
    for row in rows:
        assert row["cost_source"] == "estimate" and row["cost_usd"] > 0, row
    assert sorted(r["output_tokens"] for r in rows) == sorted(silent.limits[1:])
    spent = gateway.engine.budget_ledger.statuses()[0].spent
    assert BUDGET - 0.01 <= spent <= BUDGET + 1e-9, (spent, statuses, silent.limits)
