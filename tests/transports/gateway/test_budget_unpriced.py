"""A hard dollar budget cannot be dodged by naming a model without a price: through the OpenAI
Chat door with the official `openai` SDK, such a call is refused (402 `budget_exceeded`, the
message naming the model, the budget and how to proceed) before any upstream is asked. Side by
side, the legitimate paths: a priced model under the same budget is served and counted, and
the unpriced model under a token budget is served and its tokens counted."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from llmgw_desktop.engine.tokens.pricing import price_table
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.gateway.conftest import GatewayFactory

UNPRICED = "gpt-4o-audio-preview"  # priced apart from gpt-4o, and not in the price table
PRICED = "gpt-5-mini"
FIVE_DOLLARS_TODAY = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}]
SETTLE_S = 10.0


def _client(gateway: GatewayRuntime) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url + "/v1", api_key="unused")


async def _ask(gateway: GatewayRuntime, model: str) -> None:
    await _client(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}]
    )


async def _spent(gateway: GatewayRuntime) -> float:
    """The budget's spend once the call's row has been counted (bounded wait)."""
    async with asyncio.timeout(SETTLE_S):
        while True:
            status = gateway.engine.budgets.statuses()[0]
            if status.spent > 0:
                return status.spent
            await asyncio.sleep(0.02)


def test_the_models_these_tests_name_are_what_they_claim() -> None:
    assert price_table().price_of(UNPRICED) is None
    assert price_table().price_of(PRICED) is not None


async def test_an_unpriced_model_under_a_hard_dollar_budget_is_refused_before_the_upstream(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": FIVE_DOLLARS_TODAY})
    with pytest.raises(openai.APIStatusError) as caught:
        await _ask(gateway, UNPRICED)  # the SDK's own retries stay on: 402 is not retried
    assert caught.value.status_code == 402
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "budget_exceeded"
    message = error["message"]
    assert f"'{UNPRICED}'" in message and "not in the gateway's price table" in message
    assert "$5.00 daily hard budget of global" in message
    assert "choose a model" in message and 'unit = "tokens"' in message
    assert upstream.llm_requests == []
    rows = await gateway.engine.recorder.recent("local")
    (row,) = [r for r in rows if r["error_code"] == "budget_exceeded"]
    assert row["state"] == "refused" and row["cost_usd"] is None
    assert gateway.engine.budgets.statuses()[0].spent == 0


async def test_an_unpriced_stream_never_starts(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": FIVE_DOLLARS_TODAY})
    with pytest.raises(openai.APIStatusError) as caught:
        await _client(gateway).chat.completions.create(
            model=UNPRICED, messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert caught.value.status_code == 402
    assert upstream.llm_requests == []


async def test_a_priced_model_under_the_same_budget_is_served_and_counted(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": FIVE_DOLLARS_TODAY})
    await _ask(gateway, PRICED)
    assert len(upstream.llm_requests) == 1
    assert 0 < await _spent(gateway) < 5.0


async def test_an_unpriced_model_under_a_token_budget_is_served_and_its_tokens_count(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"budgets": [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 1_000_000}]}
    )
    await _ask(gateway, UNPRICED)
    assert len(upstream.llm_requests) == 1
    assert await _spent(gateway) > 0


@pytest.mark.parametrize(
    "budget",
    [
        {"scope": "global", "unit": "usd", "period": "daily", "soft": 1.0},
        {"scope": "agent=someone-else", "unit": "usd", "period": "daily", "hard": 5.0},
    ],
    ids=["soft", "hard-of-another-agent"],
)
async def test_a_dollar_budget_that_cannot_refuse_this_call_serves_an_unpriced_model(
    budget: dict[str, Any], start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"budgets": [budget]})
    await _ask(gateway, UNPRICED)
    assert len(upstream.llm_requests) == 1


async def test_an_unpriced_target_is_skipped_for_a_priced_fallback(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {
            "budgets": FIVE_DOLLARS_TODAY,
            "gateway.routes": {UNPRICED: {"fallback": ["claude-sonnet-4-6"]}},
        }
    )
    answer = await _client(gateway).chat.completions.with_raw_response.create(
        model=UNPRICED, messages=[{"role": "user", "content": "hi"}]
    )
    route = answer.parse().model_extra["x_gateway"]  # type: ignore[index]
    assert [a["outcome"] for a in route["attempts"]] == ["unpriced", "ok"]
    assert [r.path for r in upstream.llm_requests] == ["/v1/messages"]
    assert 0 < await _spent(gateway) < 5.0
