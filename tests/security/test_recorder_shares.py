"""Finding 21 (issue 26, item 7): one principal's rows pushed everyone's out of the recorder.

Over `recorder.max_rows`, the prune dropped the oldest rows of the whole table: a low-privilege
caller sending refused requests (each one a row) as fast as it liked left, at the next prune,
only its own rows. Now each principal has a fair share of the cap, and the rows of those over
their share go first, their own oldest first.

Two real principals (named by a trusted proxy's header, behind the static token) call the
real gateway over HTTP: Alice a few times first, then Mallory many times with requests the
gateway refuses. The prune is the one the gateway runs hourly, called at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.security._edge_support import (  # noqa: F401 - fixtures
    Launch,
    _launch,
    _provider_keys,
    _scripted_upstream,
)

TOKEN = "recorder-shares-token-0123456789-abcdefghij"
HEADER = "X-Remote-User"
MAX_ROWS = 40
ALICE_CALLS = 6
MALLORY_CALLS = 3 * MAX_ROWS
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


async def call_as(
    http: aiohttp.ClientSession, gateway: GatewayRuntime, user: str, body: dict[str, Any]
) -> int:
    headers = {"Authorization": f"Bearer {TOKEN}", HEADER: user}
    async with http.post(
        gateway.base_url + "/v1/chat/completions", json=body, headers=headers
    ) as answer:
        await answer.read()
        return answer.status


async def test_one_principals_flood_does_not_prune_the_others(
    launch: Launch, provider_keys: None
) -> None:
    gateway = await launch(
        {
            "http.auth_token": TOKEN,
            "http.trusted_principal_header": HEADER,
            "recorder.max_rows": MAX_ROWS,
        },
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(ALICE_CALLS):
            assert await call_as(http, gateway, "alice", CHAT) == 200
        refused = CHAT | {"model": "no-such-model-anywhere"}
        statuses = await asyncio.gather(
            *(call_as(http, gateway, "mallory", refused) for _ in range(MALLORY_CALLS))
        )
    assert all(status >= 400 for status in statuses), statuses

    recorder = gateway.engine.recorder
    # Refused requests are rows (those past the rate limit are counted elsewhere).
    assert len(await recorder.recent("user:mallory", limit=1000)) > MAX_ROWS
    await recorder.prune()

    alice = await recorder.recent("user:alice", limit=1000)
    mallory = await recorder.recent("user:mallory", limit=1000)
    assert len(alice) == ALICE_CALLS, "Alice's rows were pruned for Mallory's"
    assert len(alice) + len(mallory) <= MAX_ROWS
    # Mallory keeps the rest of the cap, its newest rows.
    assert len(mallory) >= MAX_ROWS - ALICE_CALLS - 1
