"""A lent secret (`keys lend`, Claude Code's `apiKeyHelper`) whose key is revoked, or which
expires, while its stream is in flight (the reliability pass of issue 66).

A stream admitted under the secret runs to its end (it was allowed when it began, and its
hold is its key's), its cost lands on its key's budget, its row ends and no hold is left; the
very next call with the secret, over HTTP at once, is refused 401: no cache of the secret's
verification outlives the revocation or the expiry.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clock import Clock
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_cloud_doors_cut import _holds

TOKEN = "operator-bearer-token-0123456789-abcdefghij"
BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 200,
    "stream": True,
    "messages": [{"role": "user", "content": "hi"}],
}
TTL_S = 300
WAIT_S = 10.0


async def _post(http: aiohttp.ClientSession, url: str, secret: str) -> aiohttp.ClientResponse:
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    return await http.post(url, json=BODY, headers=headers)


@pytest.mark.parametrize("ending", ["revoked", "expired"])
async def test_a_lent_secret_ended_mid_stream_finishes_the_stream_and_refuses_the_next(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream, ending: str
) -> None:
    clock = Clock(time.time())
    gateway: GatewayRuntime = await start_gateway({"http.auth_token": TOKEN}, clock=clock)
    keys = gateway.engine.keys
    await keys.create(OPERATOR, KeySpec(name="claude-code", budget_usd=5))
    lent = await keys.lend(OPERATOR, "claude-code", ttl_s=TTL_S)
    upstream.stream_gate = asyncio.Event()
    url = gateway.base_url + "/v1/messages"
    async with aiohttp.ClientSession() as http:
        first = await _post(http, url, lent.secret)
        assert first.status == 200
        assert await asyncio.wait_for(first.content.readany(), WAIT_S)
        if ending == "revoked":
            await keys.revoke(OPERATOR, "claude-code")
        else:
            clock.advance(TTL_S + 1)
        again = await _post(http, url, lent.secret)
        refused = again.status
        again.release()
        upstream.stream_gate.set()
        rest = await asyncio.wait_for(first.read(), WAIT_S)
    assert b"message_stop" in rest, "the stream admitted before the end runs to its end"
    assert refused == 401, f"the next call with a {ending} secret was answered {refused}"
    assert len(upstream.llm_requests) == 1
    deadline = time.monotonic() + WAIT_S
    while True:
        rows = await gateway.engine.recorder.recent(limit=10)
        status = gateway.engine.budgets.key_status("key:claude-code")
        holds = await _holds(gateway)
        answered = [r for r in rows if r["state"] == "completed"]
        if (answered and status and status.spent > 0 and not holds) or (
            time.monotonic() > deadline
        ):
            break
        await asyncio.sleep(0.05)
    assert [r["owner_principal"] for r in answered] == ["key:claude-code"], rows
    assert not [r for r in rows if r["state"] == "started"], rows
    assert status is not None and status.spent > 0, "the stream's cost is its key's"
    assert holds == [], holds
