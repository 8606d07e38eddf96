"""A used-up hard budget refuses the next call in every dialect, through the official SDKs:
402 `budget_exceeded` in the dialect's own error body, before any upstream is asked (a
stream never starts), recorded as a failed row that spent nothing, and not retried."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import claude_client, gemini_client, openai_client
from tests.transports.gateway.conftest import GatewayFactory

# Room for the first call's hold (its body at a token a byte and `max_tokens: 16`: about 105),
# and the scripted upstream's usage (319 tokens, its cache tokens included) uses it up: the
# next call is refused.
ONE_CALL_TODAY = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 200}]
SETTLE_S = 10.0


async def _spent(gateway: GatewayRuntime, index: int = 0) -> float:
    """The budget's spend once the first call's row has been counted (bounded wait)."""
    async with asyncio.timeout(SETTLE_S):
        while True:
            status = gateway.engine.budgets.statuses()[index]
            if status.spent > 0:
                return status.spent
            await asyncio.sleep(0.02)


async def _spend_once(gateway: GatewayRuntime, caller: str = "agent-a") -> None:
    claude = claude_client(gateway, headers={"X-Caller": caller})
    await claude.messages.create(
        model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )


async def _refusal_rows(gateway: GatewayRuntime) -> list[dict[str, Any]]:
    rows = await gateway.engine.recorder.recent("local")
    return [r for r in rows if r["error_code"] == "budget_exceeded"]


@pytest.fixture
async def spent(start_gateway: GatewayFactory, upstream: ScriptedUpstream) -> GatewayRuntime:
    gateway: GatewayRuntime = await start_gateway({"budgets": ONE_CALL_TODAY})
    await _spend_once(gateway)
    assert await _spent(gateway) > 1
    assert len(upstream.llm_requests) == 1
    return gateway


async def test_openai_chat_is_refused_with_402_and_not_retried(
    spent: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    # The SDK's own retries (two by default, on 408/409/429/5xx) stay on: 402 is not retried.
    client = openai.AsyncOpenAI(base_url=spent.base_url + "/v1", api_key="unused")
    with pytest.raises(openai.APIStatusError) as caught:
        await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 402
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "budget_exceeded"
    assert "global" in error["message"] and "resets at" in error["message"]
    assert len(upstream.llm_requests) == 1
    (row,) = await _refusal_rows(spent)
    assert row["state"] == "refused" and row["input_tokens"] == 0 and row["cost_usd"] is None


async def test_openai_chat_stream_is_refused_before_it_starts(
    spent: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = openai_client(spent)
    with pytest.raises(openai.APIStatusError) as caught:
        await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert caught.value.status_code == 402
    assert len(upstream.llm_requests) == 1


async def test_openai_responses_is_refused_in_its_envelope(
    spent: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = openai_client(spent)
    with pytest.raises(openai.APIStatusError) as caught:
        await client.responses.create(model="gpt-4o", input="hi", stream=True)
    assert caught.value.status_code == 402
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "budget_exceeded"
    assert len(upstream.llm_requests) == 1


async def test_anthropic_is_refused_with_its_error_type(
    spent: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    claude = anthropic.AsyncAnthropic(base_url=spent.base_url, api_key="unused")
    with pytest.raises(anthropic.APIStatusError) as caught:
        await claude.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 402
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "billing_error"
    assert "budget exceeded" in body["error"]["message"]
    assert len(upstream.llm_requests) == 1
    assert len(await _refusal_rows(spent)) == 1  # the SDK did not retry


async def test_gemini_is_refused_in_googles_envelope(
    spent: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    client = gemini_client(spent)
    with pytest.raises(genai_errors.ClientError) as caught:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert caught.value.code == 402
    assert caught.value.status == "FAILED_PRECONDITION"  # not a rate limit: nobody retries
    assert "budget exceeded" in (caught.value.message or "")
    assert len(upstream.llm_requests) == 1


async def test_an_agent_budget_counts_and_refuses_only_that_agent(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {
            "budgets": [
                {"scope": "agent=agent-a", "unit": "tokens", "period": "monthly", "hard": 200}
            ]
        }
    )
    await _spend_once(gateway, caller="agent-b")  # another agent's call: not counted
    await asyncio.sleep(0.3)
    assert gateway.engine.budgets.statuses()[0].spent == 0
    await _spend_once(gateway, caller="agent-a")
    assert await _spent(gateway) > 1
    with pytest.raises(anthropic.APIStatusError) as caught:
        await _spend_once(gateway, caller="agent-a")
    assert caught.value.status_code == 402
    assert "agent agent-a" in str(caught.value.body)
    await _spend_once(gateway, caller="agent-b")  # still served
    assert len(upstream.llm_requests) == 3
