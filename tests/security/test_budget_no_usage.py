"""Red-team review of issue 37: a whole answer without the vendor's usage is not counted at $0.

An upstream that leaves `usage` out of a whole (non-streamed) answer (a compatible server that
does not report it, or a hostile one) had its calls counted at nothing: a key with a $0.50 hard
budget was served every one of eight calls, and its spend stayed $0, whether the answer was
relayed as it came or translated for another dialect's client. A stream without usage was
already counted at its estimate (finding 31). Such an answer is now counted at its estimate
(the prompt, and the answer's size, about four bytes a token) and, under a hard budget, at
least at what was held for it; its row says the cost is estimated.

The upstream is `HostileUpstream` (the bytes a test writes); the clients the official `openai`
and `anthropic` SDKs, with a key made by the operator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.sdk_clients import HI, claude_client, openai_client
from tests.security._budget_support import chat_completion, status_of, stored_records
from tests.security.keys.conftest import provider_env, start_gateway  # noqa: F401
from tests.transports.gateway.conftest import GatewayFactory, point_providers_at
from tests.transports.gateway.hostile_upstream import HostileUpstream, whole

MODEL = "gpt-4o-mini"
# Only output priced, at a cent a token: a call held at 16 tokens holds $0.16.
OUTPUT_ONLY = {"input": 0.0, "output": 10_000.0, "cache_read": 0.0}
MAX_TOKENS = 16
BUDGET = 0.50
CALLS = 8
COMPLETION = chat_completion(MODEL, "an answer")  # no usage


@pytest.fixture
async def hostile(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[HostileUpstream]:
    async with HostileUpstream() as up:
        point_providers_at(up.base_url, monkeypatch)
        yield up


async def _openai(gateway: GatewayRuntime, key: str) -> int:
    return await status_of(
        openai_client(gateway, key).chat.completions.create(
            model=MODEL, messages=HI, max_tokens=MAX_TOKENS
        )
    )


async def _anthropic(gateway: GatewayRuntime, key: str) -> int:
    """An Anthropic client's call to the OpenAI model: the answer is translated."""
    return await status_of(
        claude_client(gateway, key).messages.create(model=MODEL, max_tokens=MAX_TOKENS, messages=HI)
    )


@pytest.mark.parametrize("client", ["openai", "anthropic"], ids=["relayed", "translated"])
async def test_answers_without_usage_use_the_budget_up(
    start_gateway: GatewayFactory,  # noqa: F811
    hostile: HostileUpstream,
    client: str,
) -> None:
    gateway: GatewayRuntime = await start_gateway({"gateway.prices": {MODEL: OUTPUT_ONLY}})
    made = await gateway.engine.keys.create(OPERATOR, KeySpec(name="counted", budget_usd=BUDGET))
    hostile.answer = whole(COMPLETION)
    call = _openai if client == "openai" else _anthropic
    async with asyncio.timeout(60):
        statuses = [await call(gateway, made.secret) for _ in range(CALLS)]
    # $0.50 holds three calls counted at $0.16 each; the fourth is refused.
    assert statuses == [200, 200, 200] + [402] * (CALLS - 3), statuses
    assert len(hostile.llm_requests) == 3
    for record in await stored_records(gateway, lambda r: r["state"] == "completed"):
        assert record["cost_source"] == "estimate", record
        assert record["output_tokens"] == MAX_TOKENS

    # The legitimate path: an answer with its usage is counted at that (7 tokens, $0.07).
    roomy = await gateway.engine.keys.create(OPERATOR, KeySpec(name="roomy", budget_usd=5))
    hostile.answer = whole(
        COMPLETION | {"usage": {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10}}
    )
    assert await call(gateway, roomy.secret) == 200
    async with asyncio.timeout(10):
        while True:
            status = gateway.engine.budget_ledger.key_status("key:roomy")
            if status is not None and status.spent:
                break
            await asyncio.sleep(0.05)
    assert abs(status.spent - 0.07) < 1e-9, status
