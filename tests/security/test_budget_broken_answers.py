"""Red-team review of issue 37: a whole answer that breaks after the upstream accepted the call
is counted, and is not sent again on the same hold.

An upstream that has answered 200 has taken the call, and bills it, whatever happens to its
body on the way back. The gateway counted such an attempt at nothing when the body then broke:
larger than `gateway.max_answer_bytes` (a key holder asks for that: `n`, `logprobs` with
`top_logprobs: 20`), cut off mid-body, or not JSON. A key with a $0.50 hard budget had every one
of eight calls sent and billed, and its spend stayed $0. Such an attempt is now counted as a
cut stream is (finding 51): at the larger of its estimate and its hold, its row saying the cost
is estimated; and under a hard budget the request is not sent to the provider's next key on the
same hold (another target of the route is admitted anew).

The key is made by the real `llmgw-desktop keys create --budget` in another process; the
upstream is the scripted one (`tests/fakes/upstream`), which answers 200 and then breaks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import HI, openai_client
from tests.security._budget_support import status_of, stored_records
from tests.security.keys.conftest import provider_env, start_gateway  # noqa: F401
from tests.security.keys.test_budgets_made_elsewhere import keys_cli
from tests.transports.gateway.conftest import GatewayFactory

MODEL = "gpt-4o-mini"
# Only output priced, at a cent a token: a call held at 16 tokens holds $0.16.
OUTPUT_ONLY = {"input": 0.0, "output": 10_000.0, "cache_read": 0.0}
MAX_TOKENS = 16
BUDGET = 0.50
CALLS = 8
ANSWER_CAP = 64 * 1024


async def _call(client: openai.AsyncOpenAI) -> int:
    return await status_of(
        client.chat.completions.create(model=MODEL, messages=HI, max_tokens=MAX_TOKENS)
    )


async def _rows(gateway: GatewayRuntime) -> list[dict[str, Any]]:
    """Every attempt's record that reached the upstream, with its cost's source."""
    return await stored_records(gateway, lambda r: r["state"] != "refused")


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(Reply.ok("x" * (2 * ANSWER_CAP), verbatim=True), id="too-large"),
        pytest.param(Reply.cut(), id="cut-mid-body"),
        pytest.param(Reply.malformed(), id="not-json"),
    ],
)
async def test_answers_broken_after_the_upstream_accepted_use_the_budget_up(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    broken: Reply,
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"gateway.prices": {MODEL: OUTPUT_ONLY}, "gateway.max_answer_bytes": ANSWER_CAP}
    )
    made = await keys_cli("create", "breaker", "--budget", str(BUDGET))
    client = openai_client(gateway, made["secret"])
    upstream.default = broken
    async with asyncio.timeout(60):
        statuses = [await _call(client) for _ in range(CALLS)]
    # $0.50 holds three calls of $0.16; the fourth has $0.02 left and is refused.
    assert statuses == [502, 502, 502] + [402] * (CALLS - 3), statuses
    assert len(upstream.llm_requests) == 3
    rows = await _rows(gateway)
    assert len(rows) == 3
    for row in rows:
        assert row["state"] == "failed" and row["cost_source"] == "estimate", row
        assert row["output_tokens"] == MAX_TOKENS and row["cost_usd"] >= 0.16, row
    key_spend = gateway.engine.budget_ledger.key_status("key:breaker")
    assert key_spend is not None and 0.48 - 1e-9 <= key_spend.spent <= BUDGET, key_spend

    # The legitimate path: a well-formed answer on a key with room is served and counted at
    # the usage the upstream reported (9 output tokens, $0.09), not at its hold.
    roomy = await keys_cli("create", "roomy", "--budget", "5")
    upstream.default = Reply.ok()
    assert await _call(openai_client(gateway, roomy["secret"])) == 200
    served = gateway.engine.budget_ledger.key_status("key:roomy")
    async with asyncio.timeout(10):
        while served is None or served.spent == 0:
            await asyncio.sleep(0.05)
            served = gateway.engine.budget_ledger.key_status("key:roomy")
    assert abs(served.spent - 0.09) < 1e-9, served


async def test_a_broken_answer_is_not_sent_again_to_the_next_key_under_a_hard_budget(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"gateway.prices": {MODEL: OUTPUT_ONLY}, "gateway.max_answer_bytes": ANSWER_CAP}
    )
    # A second OpenAI key in the vault: the provider's pool has two.
    await gateway.engine.vault.store_key(
        OPERATOR, "openai", "sk-second-key-for-the-pool", key_name="second"
    )
    made = await keys_cli("create", "pooled", "--budget", str(BUDGET))
    client = openai_client(gateway, made["secret"])
    upstream.default = Reply.cut()
    assert await _call(client) == 502
    # Sent once, billed once: the pool's other key was not given the same request.
    assert len(upstream.llm_requests) == 1

    # The operator's own call, with no budget, still moves on to the next key.
    await _operator_call(gateway)
    assert len(upstream.llm_requests) == 3


async def _operator_call(gateway: GatewayRuntime) -> None:
    assert await _call(openai_client(gateway, "x")) != 200
