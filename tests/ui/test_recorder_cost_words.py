"""What a recorder row's details say of its cost when there is none: a call that failed before
any usage came is not "not priced" (the model is in the price table; nothing was used to
price), while a model the table lacks still says so. Real gateway, scripted upstream."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.engine.api import RecorderFilters
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.ui.pages.recorder_model import COST_COLUMN, format_cells
from llmgw_desktop.ui.pages.recorder_words import detail_sections, result_words
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)


async def _cost_row(gateway: GatewayRuntime, request_id: str) -> str:
    detail = await gateway.engine.recorder_query.detail(request_id)
    assert detail is not None
    rows = [row for s in detail_sections(detail) for row in s.rows if row.label == "Cost"]
    return rows[0].value


async def test_a_failed_call_says_it_used_nothing_not_that_its_model_is_unpriced(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    gateway = await start_gateway()
    chat = openai_client(gateway).chat.completions
    upstream.script(Reply.error(401))
    with pytest.raises(openai.APIStatusError) as refused:
        await chat.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    failed_id = refused.value.response.headers["x-gateway-request-id"]
    assert await _cost_row(gateway, failed_id) == (
        "none: it failed before any tokens were reported"
    )
    # Its result in words before its code (a review read a bare `upstream_key_refused`).
    detail = await gateway.engine.recorder_query.detail(failed_id)
    assert detail is not None
    said = result_words(detail.record)
    assert said.startswith("failed · the provider refused the key (upstream_key_refused)"), said
    # Its row in the list costs "none", as the detail says, not a blank cell "not priced".
    page = await gateway.engine.recorder_query.page(RecorderFilters())
    [summary] = [r for r in page.rows if r.id == failed_id]
    assert format_cells(summary)[COST_COLUMN] == "none"

    answered = await chat.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    priced = await _cost_row(gateway, answered.headers["x-gateway-request-id"])
    assert priced.startswith("$") and "estimated from prices" in priced


async def test_an_answer_without_usage_under_a_hard_budget_says_it_is_counted_at_its_hold(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    """Person pass, 2026-11-30: a stream the upstream broke under a hard budget is counted at
    the output its budget held (the most it could bill, a reasoning model's thinking
    included), 16,384 tokens for a few words, and its details called that "the gateway's
    guess"."""
    budgets = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 100.0}]
    gateway = await start_gateway({"budgets": budgets})
    chat = openai_client(gateway).chat.completions
    upstream.script(Reply.cut())
    stream = await chat.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=300,
        stream=True,
    )
    with pytest.raises(openai.APIError):
        async for _ in stream.parse():
            pass
    request_id = stream.headers["x-gateway-request-id"]
    detail = await gateway.engine.recorder_query.detail(request_id)
    assert detail is not None and detail.record["output_tokens"] == 300
    said = await _cost_row(gateway, request_id)
    assert "counted at the most it could cost" in said, said
    assert "300 output tokens" in said and "hard budget" in said, said
