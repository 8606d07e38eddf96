"""Budgets hold against another principal and against parallel calls (issue 26, item 5).

A running gateway with its front door locked (static bearer and a trusted proxy header naming
`user:mallory` and `user:alice`), API providers on the scripted upstream, the official SDKs
as clients. Mallory naming the local user's agent lane spends a lane of its own; a
`principal=*` budget stops mallory before a shared global budget, while alice and the local
user are served; OpenAI Responses `background: true`, which would be recorded at $0, is
refused under a hard budget; 50 calls at once under a small hard dollar budget stop at it
(each admitted only with room for its whole hold), and their holds are settled.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import pytest

from llmgw_desktop.engine.budgets.holds import CallAsk
from llmgw_desktop.engine.budgets.ledger import BudgetLedger
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import claude_client, openai_client
from tests.transports.auth.conftest import (  # noqa: F401
    TOKEN,
    USER_HEADER,
    Start,
    bearer,
    provider_env,
    start,
)

CLAUDE = "claude-sonnet-4-6"  # priced: a dollar budget counts it
PARALLEL = 50
MAX_TOKENS = 64
# Tokens: room for one call's hold (its body at a token a byte, and MAX_TOKENS: about 153),
# which the scripted upstream's usage (319 tokens, cache tokens included) uses up.
ROOM = 200


async def _locked(start: Start, budgets: list[dict[str, Any]]) -> GatewayRuntime:  # noqa: F811
    return await start(
        {"http.auth_token": TOKEN, "http.trusted_principal_header": USER_HEADER, "budgets": budgets}
    )


def _claude(gateway: GatewayRuntime, headers: dict[str, str]) -> anthropic.AsyncAnthropic:
    return claude_client(gateway, headers=headers)


def _as(name: str, caller: str = "agent-a") -> dict[str, str]:
    return bearer(**{USER_HEADER: name, "X-Caller": caller})


def _local(gateway: GatewayRuntime, caller: str = "agent-a") -> dict[str, str]:
    return {INSTANCE_TOKEN_HEADER: gateway.engine.auth.instance_token, "X-Caller": caller}


async def _ask(gateway: GatewayRuntime, headers: dict[str, str]) -> None:
    await _claude(gateway, headers).messages.create(
        model=CLAUDE, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": "hi"}]
    )


async def _refused(gateway: GatewayRuntime, headers: dict[str, str]) -> dict[str, Any]:
    with pytest.raises(anthropic.APIStatusError) as caught:
        await _ask(gateway, headers)
    assert caught.value.status_code == 402, caught.value.body
    body = caught.value.body
    assert isinstance(body, dict)
    return dict(body["error"])


async def test_another_principal_naming_my_agent_spends_its_own_lane(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
) -> None:
    gateway = await _locked(
        start, [{"scope": "agent=agent-a", "unit": "tokens", "period": "daily", "hard": ROOM}]
    )
    await _ask(gateway, _as("mallory"))  # mallory's lane agent-a: used up
    error = await _refused(gateway, _as("mallory"))
    assert "agent agent-a (user:mallory)" in error["message"], error
    # The local user's agent-a and alice's are lanes of their own.
    await _ask(gateway, _local(gateway))
    await _ask(gateway, _as("alice"))


async def test_a_per_principal_cap_keeps_one_caller_from_the_shared_budget(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
) -> None:
    gateway = await _locked(
        start,
        [
            {"scope": "global", "unit": "usd", "period": "daily", "hard": 100.0},
            {"scope": "principal=*", "unit": "tokens", "period": "daily", "hard": ROOM},
        ],
    )
    await _ask(gateway, _as("mallory", "any-name"))
    error = await _refused(gateway, _as("mallory", "another-name"))
    assert "each remote caller (user:mallory)" in error["message"], error
    await _ask(gateway, _as("alice"))
    await _ask(gateway, _local(gateway))
    await _ask(gateway, _local(gateway))  # the local user has no remote cap


async def test_responses_background_is_refused_under_a_hard_budget(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await _locked(
        start, [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}]
    )
    client = openai_client(gateway, TOKEN, headers={USER_HEADER: "mallory"})
    with pytest.raises(openai.APIStatusError) as caught:
        await client.responses.create(model="gpt-5", input="hi", background=True)
    assert caught.value.status_code == 402
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "budget_exceeded", body
    assert "background" in body["message"] and "global" in body["message"]
    assert upstream.llm_requests == []
    answer = await client.responses.create(model="gpt-5", input="hi")  # counted: served
    assert answer.output_text
    assert len(upstream.llm_requests) == 1


async def test_fifty_parallel_calls_stop_at_a_hard_budget(
    start: Start,  # noqa: F811
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    hard = 0.005
    gateway = await _locked(
        start, [{"scope": "global", "unit": "usd", "period": "daily", "hard": hard}]
    )
    # Each answer waits a little upstream, so all fifty are in flight together.
    upstream.default = Reply.ok(delay_s=0.5)
    attackers = [_claude(gateway, _as("mallory", f"lane-{i}")) for i in range(PARALLEL)]
    async with asyncio.timeout(60):
        results = await asyncio.gather(
            *(
                c.messages.create(
                    model=CLAUDE,
                    max_tokens=MAX_TOKENS,
                    messages=[{"role": "user", "content": "hi"}],
                )
                for c in attackers
            ),
            return_exceptions=True,
        )
    refused = [r for r in results if isinstance(r, anthropic.APIStatusError)]
    served = [r for r in results if not isinstance(r, BaseException)]
    assert len(served) + len(refused) == PARALLEL, results
    assert all(r.status_code == 402 for r in refused)
    assert refused and "held by calls still running" in str(refused[0].body)
    # Each call was held at what it may cost (its input and max_tokens, priced) before it was
    # sent, and admitted only with room for that beside the others' holds: the budget is not
    # passed (each real cost is below its hold here).
    ask = CallAsk(CLAUDE, 10, MAX_TOKENS, price=PriceBook().price_of(CLAUDE))
    one_call = ask.cost(MAX_TOKENS).usd
    assert served and len(served) * one_call <= hard, (len(served), one_call)
    ledger: BudgetLedger = gateway.engine.budget_ledger
    for _ in range(200):  # the finished calls' holds are settled soon after
        if not await _holds(gateway):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("holds left after the calls ended")
    spent = ledger.statuses()[0].spent
    assert 0 < spent <= hard, (spent, len(served))
    assert len(upstream.llm_requests) == len(served)


async def _holds(gateway: GatewayRuntime) -> int:
    """The holds in the store (the budget's running calls, of any process)."""
    database = gateway.engine.store.models.database
    rows = await gateway.engine.store.run(
        lambda: database.execute_sql("SELECT count(*) FROM budget_holds").fetchone()
    )
    return int(rows[0])
