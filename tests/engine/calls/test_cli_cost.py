"""A CLI job's recorder row keeps the cost the CLI reported; else the table prices it."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.engine.calls import CallParams
from llmgw_desktop.engine.calls.runner import Call, Finished
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.tokens.pricing import PRICES_REVISED, price_table
from llmgw_desktop.engine.tokens.usage import Usage
from tests.contract.conftest import engine_settings, offline, vibe  # noqa: F401
from tests.engine.calls.test_runner import engine  # noqa: F401


async def _row_of(engine: Engine, params: CallParams) -> dict[str, Any]:  # noqa: F811
    outcome = await engine.runner.run(Call("mistral", params, "local"))
    assert isinstance(outcome, Finished) and outcome.completed and outcome.record_id
    await engine.recorder.flush()
    detail = await engine.recorder_query.detail(outcome.record_id)
    assert detail is not None
    return detail.record


async def test_cli_reported_cost_is_kept_as_the_clis(
    engine: Engine,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIBE_TEST_SESSION_COST", "0.0123")
    row = await _row_of(engine, CallParams(prompt="hello", model="devstral-2"))
    assert row["cost_usd"] == pytest.approx(0.0123)
    assert row["cost_source"] == "cli" and row["cost_prices"] is None
    assert row["route"] is None  # a CLI row has no gateway route, only the cost note


async def test_cli_without_a_reported_cost_is_priced_from_the_table(
    engine: Engine,  # noqa: F811
) -> None:
    row = await _row_of(engine, CallParams(prompt="hello", model="devstral-2"))
    usage = Usage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
    )
    assert row["cost_usd"] == pytest.approx(price_table().cost_of("devstral-2", usage))
    assert (row["cost_source"], row["cost_prices"]) == ("table", PRICES_REVISED)
