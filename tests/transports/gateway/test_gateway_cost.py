"""Every HTTP-gateway row has a cost: the price table's estimate from the reported tokens."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmgw_desktop.engine.tokens.pricing import PRICES_REVISED
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import OPENAI_CACHED_TOKENS, OPENAI_OUTPUT_TOKENS, OPENAI_PROMPT_TOKENS
from tests.sdk_clients import openai_client

ROW_TIMEOUT_S = 5.0


async def _settled_detail(gateway: GatewayRuntime) -> dict[str, Any]:
    async with asyncio.timeout(ROW_TIMEOUT_S):
        while True:
            rows = await gateway.engine.recorder.recent(limit=1)
            if rows and rows[0]["state"] != "started":
                detail = await gateway.engine.recorder_query.detail(rows[0]["id"])
                assert detail is not None
                return detail.record
            await asyncio.sleep(0.05)


async def test_openai_sdk_request_records_a_table_cost_with_cached_tokens(
    gateway: GatewayRuntime,
) -> None:
    await openai_client(gateway).chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}]
    )
    row = await _settled_detail(gateway)
    assert row["cache_read_tokens"] == OPENAI_CACHED_TOKENS
    assert row["input_tokens"] == OPENAI_PROMPT_TOKENS - OPENAI_CACHED_TOKENS
    # gpt-5-mini: 0.25 input, 0.025 cache read, 2.00 output (USD per million tokens).
    expected = (
        (OPENAI_PROMPT_TOKENS - OPENAI_CACHED_TOKENS) * 0.25
        + OPENAI_CACHED_TOKENS * 0.025
        + OPENAI_OUTPUT_TOKENS * 2.0
    ) / 1_000_000
    assert row["cost_usd"] == pytest.approx(expected)
    assert (row["cost_source"], row["cost_prices"]) == ("table", PRICES_REVISED)
    assert row["route"]["attempts"]  # the route itself is intact beside the cost note


async def test_model_missing_from_the_price_table_has_no_cost(gateway: GatewayRuntime) -> None:
    await openai_client(gateway).chat.completions.create(
        model="gpt-4o-audio-preview", messages=[{"role": "user", "content": "hi"}]
    )
    row = await _settled_detail(gateway)
    assert row["input_tokens"] > 0
    assert row["cost_usd"] is None and row["cost_source"] is None
