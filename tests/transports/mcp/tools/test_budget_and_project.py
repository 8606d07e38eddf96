"""Budgets through the MCP tools, with the Vibe stand-in as the CLI (it does not report its own
cost, so its calls are priced only by the model they name).

Side by side: under a hard dollar budget, a model without a price and the CLI's unnamed default
model are refused before the CLI runs, by the sync tool and by the job tool; a priced model is
served and counted; a token budget serves the unpriced model and counts its tokens. And a
call's `project` argument (else the X-Project header) reaches the recorder and the project's
budgets, as on the HTTP doors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.tokens.pricing import price_table
from llmgw_desktop.transports.mcp.caller import STDIO_CALLER, Caller
from llmgw_desktop.transports.mcp.tools.providers import RequestInput
from tests.contract.conftest import vibe_engine
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.mcp.tools.conftest import call, call_error, connect

PRICED = "devstral-small-latest"
# A model no price table knows (the bundled one, the maintained database, config.toml).
UNPRICED = "mistral-unreleased-2099"
HARD_DOLLARS = [{"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0}]
# Vibe reports no cost as it runs, so the gateway cannot stop its job at its hold: its jobs run
# under a hard budget only with the operator's acceptance (SECURITY 70), which these tests,
# about what a job is held and counted at, give.
ACCEPTED = {"providers.unmetered_clis": ["mistral"]}
SETTLE_S = 10.0


@pytest.fixture
async def dollars(loaded: LoadedSettings, vibe: None) -> AsyncIterator[Engine]:
    async with vibe_engine(loaded, {"budgets": HARD_DOLLARS, **ACCEPTED}) as engine:
        yield engine


async def _spent(engine: Engine, index: int = 0) -> float:
    async with asyncio.timeout(SETTLE_S):
        while True:
            spent = engine.budgets.statuses()[index].spent
            if spent > 0:
                return spent
            await asyncio.sleep(0.02)


def test_the_models_these_tests_name_are_what_they_claim() -> None:
    assert price_table().price_of(PRICED) is not None and price_table().price_of(UNPRICED) is None


async def test_an_unpriced_model_is_refused_before_the_cli_runs(
    dollars: Engine, upstream: ScriptedUpstream
) -> None:
    async with connect(dollars) as client:
        error = await call_error(client, "mistral_request", {"prompt": "hi", "model": UNPRICED})
    assert error["code"] == "budget_exceeded"
    details = error["details"]
    assert details["reason"] == "unpriced_model" and details["model"] == UNPRICED
    assert details["budget"] == "global" and details["requestId"]
    assert f"'{UNPRICED}'" in error["message"] and "token budget" in error["message"]
    assert upstream.llm_requests == []


async def test_the_clis_unnamed_default_model_is_refused_and_told_to_name_one(
    dollars: Engine, upstream: ScriptedUpstream
) -> None:
    async with connect(dollars) as client:
        error = await call_error(client, "mistral_request", {"prompt": "hi"})
    assert error["code"] == "budget_exceeded"
    assert error["details"]["reason"] == "unpriced_model" and error["details"].get("model") is None
    assert "names no model" in error["message"] and "name a model" in error["message"]
    assert upstream.llm_requests == []


async def test_the_job_tool_is_refused_before_a_job_exists(
    dollars: Engine, upstream: ScriptedUpstream
) -> None:
    async with connect(dollars) as client:
        error = await call_error(
            client, "mistral_request_async", {"prompt": "hi", "model": UNPRICED}
        )
    assert error["code"] == "budget_exceeded"
    assert error["details"]["reason"] == "unpriced_model"
    assert await dollars.jobs.list_jobs("local") == []
    assert upstream.llm_requests == []


@pytest.mark.parametrize("tool", ["mistral_request", "mistral_request_async"])
async def test_a_cli_that_cannot_be_stopped_at_its_hold_is_refused_without_the_operators_word(
    loaded: LoadedSettings, vibe: None, upstream: ScriptedUpstream, tool: str
) -> None:
    """SECURITY 70 through both MCP doors: Vibe reports no cost as it runs, so under a hard
    budget (here of tokens, which a priced model passes) its job is refused before one exists,
    naming the CLI and the ways out."""
    tokens = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 10**6}]
    async with vibe_engine(loaded, {"budgets": tokens}) as engine:
        async with connect(engine) as client:
            error = await call_error(client, tool, {"prompt": "hi", "model": PRICED})
        assert await engine.jobs.list_jobs("local") == []
    assert error["code"] == "budget_exceeded"
    assert (
        error["details"]["reason"] == "unmetered_cli" and error["details"]["provider"] == "mistral"
    )
    for words in ("Mistral Vibe", "Claude Code", "OpenCode", "API model", "unmetered_clis"):
        assert words in error["message"], error["message"]
    assert upstream.llm_requests == []


async def test_a_priced_model_under_the_same_budget_is_served_and_counted(
    dollars: Engine, upstream: ScriptedUpstream
) -> None:
    async with connect(dollars) as client:
        answer = await call(client, "mistral_request", {"prompt": "hi", "model": PRICED})
    assert "FAKE-OK" in answer["text"]
    assert len(upstream.llm_requests) == 1
    assert 0 < await _spent(dollars) < 5.0


async def test_a_token_budget_serves_the_unpriced_model_and_counts_its_tokens(
    loaded: LoadedSettings, vibe: None, upstream: ScriptedUpstream
) -> None:
    async with vibe_engine(
        loaded,
        {
            "budgets": [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 10**6}],
            **ACCEPTED,
        },
    ) as engine:
        async with connect(engine) as client:
            answer = await call(client, "mistral_request", {"prompt": "hi", "model": UNPRICED})
        assert "FAKE-OK" in answer["text"]
        assert await _spent(engine) > 0


async def test_the_project_argument_reaches_the_recorder_and_the_project_budget(
    loaded: LoadedSettings, vibe: None, upstream: ScriptedUpstream
) -> None:
    async with vibe_engine(
        loaded,
        # Room for one CLI run's hold (its prompt and 4,096 tokens of output): a CLI cannot be
        # sent a limit, so the next run, with less room left, is refused.
        {
            "budgets": [
                {"scope": "project=shop", "unit": "tokens", "period": "daily", "hard": 4200}
            ],
            **ACCEPTED,
        },
    ) as engine:
        async with connect(engine) as client:
            await call(client, "mistral_request", {"prompt": "elsewhere", "model": PRICED})
            await asyncio.sleep(0.2)
            assert engine.budgets.statuses()[0].spent == 0  # another project's call
            await call(
                client, "mistral_request", {"prompt": "hi", "model": PRICED, "project": "shop"}
            )
            assert await _spent(engine) > 1
            error = await call_error(
                client, "mistral_request", {"prompt": "again", "model": PRICED, "project": "shop"}
            )
        assert error["code"] == "budget_exceeded" and "project shop" in error["message"]
        rows = await engine.recorder.recent("local")
        assert {r["project"] for r in rows} == {None, "shop"}
        assert len(upstream.llm_requests) == 2


async def test_a_malformed_project_is_refused_with_the_field_named(engine: Engine) -> None:
    async with connect(engine) as client:
        error = await call_error(client, "mistral_request", {"prompt": "hi", "project": "../x"})
    assert error["code"] == "invalid_request" and error["message"].startswith("project:")


def _meta_project(caller: Caller, **arguments: Any) -> str | None:
    inputs = RequestInput(prompt="hi", **arguments)
    return inputs.to_call("mistral", "mistral_request", caller).meta.project


def test_the_argument_beats_the_x_project_header_as_the_body_does_on_http() -> None:
    over_http = Caller("local", "mcp-http", "agent", project_header="from-header")
    assert _meta_project(over_http) == "from-header"
    assert _meta_project(over_http, project="from-argument") == "from-argument"
    assert _meta_project(STDIO_CALLER) is None
