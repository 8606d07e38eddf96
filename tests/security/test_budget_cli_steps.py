"""Under a hard budget a coding CLI's steps are counted at the upstream, so the budget is never
passed by a step the CLI had sent before its last one was counted (OpenCode).

A prompted model can keep a coding CLI calling tools step after step, each step billed its whole
context again. The gateway used to stop OpenCode by the step costs it prints (`step_finish`),
but OpenCode sends its next model call as soon as it has printed one, so the count lagged the
upstream's bill by as many steps as the reader lagged: against an upstream that answers at once,
OpenCode had sent six steps while the counted spend was three behind (CI of a7bf0ed8). Under a
hard budget its job is now pointed at the gateway itself (its providers through
`OPENCODE_CONFIG_CONTENT`, a connection key standing for the caller): each step is a request the
gateway holds and counts before it is sent, the first one the budget has no room for is refused
there, and the job ends `budget_exceeded` with the gateway's words. The gateway's own Anthropic
key pays; without one the job is refused before it starts. A project's `opencode.json`, which
the model can write for the next job, cannot send the calls elsewhere, and a managed
configuration, which comes over the inline one, keeps the job off the route (refused).

The real OpenCode CLI against the scripted upstream (`tests/fakes/upstream`) behind a real
gateway, each step billed 100,000 input tokens, its prompt as large as that (so the gateway's
estimate of each call is the upstream's bill, as a vendor bills what it is sent); the
legitimate path beside each attack: the same job with room runs to its answer. The stop by
printed step costs remains for an OpenCode the operator accepts (`providers.unmetered_clis`),
with its documented lag.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.jobs.model import JobView
from llmgw_desktop.engine.providers.acp.gateway_env import RoutePointing, pointed_environment
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.usage import Usage
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import CLI_SETTINGS, offline  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import (
    ANTHROPIC_CACHE_CREATION_TOKENS,
    ANTHROPIC_CACHE_READ_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    Reply,
    ScriptedUpstream,
)
from tests.fakes.upstream import anthropic as anthropic_fake
from tests.fakes.upstream.script import secret_digests
from tests.gateways import gateway_starter
from tests.security.test_budget_cli_jobs import JOB_TIMEOUT_S, _ended, _row

pytestmark = pytest.mark.contract

STEPS = 10
MODEL = "anthropic/claude-sonnet-4-5"  # OpenCode names a model with its provider
STEP_TOKENS = 100_000
# As many tokens by the gateway's estimate (about four characters a token) as each step is
# billed: the step's context is this prompt, sent again with each step.
PROMPT = "keep going " + "context " * (STEP_TOKENS * 4 // 8 + 2_000)
HARD = 1.5
# A routed job's: room for a step's hold (its body held at a token a byte, OpenCode's system
# prompt and tools at most 300 KB beside the prompt, at Sonnet's $3.75 cache-write price), then
# for three steps and a half of what the upstream bills ($0.30 each).
ROUTED_HARD = (len(PROMPT) + 300_000) * 3.75 / 1e6 + 3.5 * STEP_TOKENS * 3.0 / 1e6
GATEWAYS_KEY = "sk-ant-test-key"  # the offline set-up's, the gateway's Anthropic key


def _dollars(hard: float) -> dict[str, Any]:
    return {"scope": "global", "unit": "usd", "period": "daily", "hard": hard}


def _script(upstream: ScriptedUpstream) -> None:
    """Step after step of a harmless tool call, then the answer (OpenCode's side calls, such
    as its title, offer no tools and get the default answer)."""
    upstream.script_when_offered(
        "glob",
        *[Reply.tool_call("glob", {"pattern": f"*.step{n}"}) for n in range(STEPS)],
        Reply.ok("done"),
    )


@asynccontextmanager
async def _gateway(
    loaded: LoadedSettings, hard: float, **more: Any
) -> AsyncIterator[GatewayRuntime]:
    """A gateway (its Anthropic provider on the scripted upstream, as the offline set-up
    points it) with one hard global dollar budget."""
    async with gateway_starter(loaded) as start:
        yield await start({**CLI_SETTINGS, "budgets": [_dollars(hard)], **more})


async def _run(
    gateway: GatewayRuntime, prompt: str = PROMPT, working_dir: Path | None = None
) -> tuple[JobView, dict[str, Any], float]:
    engine = gateway.engine
    job = await engine.calls.submit(
        "opencode",
        CallParams(
            prompt=prompt,
            model=MODEL,
            working_dir=None if working_dir is None else str(working_dir),
        ),
        "local",
    )
    view = await _ended(engine, job.job_id)
    row = await _row(engine, job.job_id)
    return view, row, engine.budget_ledger.statuses()[0].spent


def _billed(upstream: ScriptedUpstream) -> float:
    """What the upstream billed for every call it answered, at the gateway's prices."""
    usage = Usage(
        input_tokens=anthropic_fake.ANTHROPIC_INPUT_TOKENS,
        output_tokens=ANTHROPIC_OUTPUT_TOKENS,
        cache_read_tokens=ANTHROPIC_CACHE_READ_TOKENS,
        cache_write_tokens=ANTHROPIC_CACHE_CREATION_TOKENS,
    )
    prices = PriceBook()
    return sum(
        prices.cost_of(json.loads(r.raw_body)["model"], usage) or 0.0 for r in upstream.llm_requests
    )


def _sent_by_the_gateway(upstream: ScriptedUpstream) -> bool:
    """Every call the upstream answered carried the gateway's own key (none came from the CLI
    with a key of its own)."""
    ours = secret_digests({"x-api-key": GATEWAYS_KEY})["x-api-key"]
    return all(r.secrets.get("x-api-key") == ours for r in upstream.llm_requests)


def _steps(upstream: ScriptedUpstream) -> int:
    return len([r for r in upstream.llm_requests if b'"glob"' in r.raw_body])


async def test_opencode_under_a_hard_budget_is_counted_at_the_upstream_and_stopped_there(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    find_cli("opencode")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", STEP_TOKENS)
    _script(upstream)
    async with _gateway(loaded, ROUTED_HARD) as gateway:
        view, row, spent = await _run(gateway)
    steps = _steps(upstream)
    # Stopped at the first step the budget had no room for, refused at the gateway: never all
    # ten, which it ran before finding 69, and never one the budget was not counting.
    assert 0 < steps < STEPS, (steps, view.state, view.error)
    assert view.error is not None and view.error["code"] == "budget_exceeded", view.error
    assert "a model call of this job was refused" in view.error["message"], view.error
    # Counted at the upstream: the budget's spend is exactly what the upstream billed, each
    # call as it was made (its side calls too), and the budget was not passed.
    assert spent == pytest.approx(_billed(upstream)) and 0 < spent <= ROUTED_HARD, (spent, steps)
    assert _sent_by_the_gateway(upstream)
    # The job's own row counts nothing again: its calls' rows hold the cost.
    assert row["state"] == "failed" and row["cost_usd"] is None, row


async def test_opencode_with_room_for_its_steps_runs_to_its_answer(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
) -> None:
    find_cli("opencode")
    _script(upstream)
    async with _gateway(loaded, 50.0) as gateway:
        view, row, spent = await _run(gateway, "keep going")
    assert view.error is None, view.error
    assert "done" in (view.result or {}).get("text", ""), view.result
    assert _steps(upstream) == STEPS + 1 and _sent_by_the_gateway(upstream)  # and the answer
    assert spent == pytest.approx(_billed(upstream)) and row["cost_usd"] is None, (spent, row)


def _elsewhere(tmp_path: Path, upstream: ScriptedUpstream) -> Path:
    """A working directory whose `opencode.json` (OpenCode reads a project's own, and a model
    can write it there for the next job) sends Anthropic's calls straight to the vendor with a
    key of its own, adds a provider of its own, and prices the model at $0."""
    free = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    own = {"baseURL": upstream.base_url + "/v1", "apiKey": "sk-ant-projects-own"}
    config = {
        "provider": {
            "anthropic": {"options": own, "models": {"claude-sonnet-4-5": {"cost": free}}},
            "mine": {"npm": "@ai-sdk/anthropic", "options": own, "models": {"m": {}}},
        },
        "enabled_providers": ["anthropic", "mine"],
        "small_model": "mine/m",
    }
    work = tmp_path / "work"
    work.mkdir()
    (work / "opencode.json").write_text(json.dumps(config), encoding="utf-8")
    return work


async def test_a_projects_opencode_json_cannot_send_a_routed_jobs_calls_elsewhere(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Finding 73's attack under a hard budget: a project's `opencode.json` priced the steps at
    $0 and the budget never filled. Routed, OpenCode's own prices count for nothing, and the
    project's endpoint, key and provider are overruled: every call still reaches the upstream
    through the gateway, counted there, and the job stops as it would without the file."""
    find_cli("opencode")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", STEP_TOKENS)
    _script(upstream)
    async with _gateway(loaded, ROUTED_HARD) as gateway:
        view, _, spent = await _run(gateway, working_dir=_elsewhere(tmp_path, upstream))
    assert 0 < _steps(upstream) < STEPS, (view.state, view.error)
    assert view.error is not None and view.error["code"] == "budget_exceeded", view.error
    assert _sent_by_the_gateway(upstream), [r.secrets for r in upstream.llm_requests]
    assert spent == pytest.approx(_billed(upstream)) and 0 < spent <= ROUTED_HARD, spent


async def test_without_a_key_for_its_vendor_a_routed_job_is_refused_before_it_starts(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gateway's Anthropic key pays for a routed OpenCode job's Anthropic calls. Without one
    the job would be refused call by call; it is refused before it starts instead, saying why,
    as one the gateway cannot count (OpenCode's own key is not used under a hard budget: its
    spend would be read from what it prints, after its next call was sent)."""
    find_cli("opencode")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    _script(upstream)
    async with _gateway(loaded, HARD) as gateway:
        with pytest.raises(Exception) as refused:
            await gateway.engine.calls.submit(
                "opencode", CallParams(prompt="keep going", model=MODEL), "local"
            )
        jobs = await gateway.engine.jobs.list_jobs("local")
    error = refused.value
    assert getattr(error, "code", None) == "budget_exceeded", error
    assert error.details["reason"] == "unmetered_cli", error.details
    assert "no anthropic key" in str(error) and "unmetered_clis" in str(error), str(error)
    assert jobs == [] and upstream.llm_requests == []


async def test_a_managed_configuration_keeps_opencode_off_the_route(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """OpenCode reads its managed configuration (`/etc/opencode`, the administrator's) over the
    inline one a job is given: one that names providers would send a routed job's calls
    elsewhere, uncounted, so such a job is refused under a hard budget, naming the file. The
    real OpenCode shows why: told the gateway inline, it calls where the managed file says."""
    find_cli("opencode")
    managed = tmp_path / "managed"
    managed.mkdir()
    own = {"baseURL": upstream.base_url + "/v1", "apiKey": "sk-ant-managed"}
    (managed / "opencode.json").write_text(
        json.dumps({"provider": {"anthropic": {"options": own}}})
    )
    monkeypatch.setenv("OPENCODE_TEST_MANAGED_CONFIG_DIR", str(managed))
    async with _gateway(loaded, HARD) as gateway:
        with pytest.raises(Exception) as refused:
            await gateway.engine.calls.submit(
                "opencode", CallParams(prompt="keep going", model=MODEL), "local"
            )
    assert getattr(refused.value, "code", None) == "budget_exceeded", refused.value
    assert "managed configuration" in str(refused.value), str(refused.value)
    assert upstream.llm_requests == []
    # The real OpenCode, pointed as a routed job is (at an address where nothing listens),
    # calls where its managed configuration says.
    pointed = pointed_environment(
        "opencode", os.environ, RoutePointing("http://127.0.0.1:9", "llmgw-acp-x", ("anthropic",))
    )
    opencode = await asyncio.create_subprocess_exec(
        find_cli("opencode"),
        *("run", "--format", "json", "--model", MODEL, "--dir", str(tmp_path)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=pointed,
        cwd=tmp_path,
    )
    await asyncio.wait_for(opencode.communicate(b"say hello"), JOB_TIMEOUT_S)
    managed_key = secret_digests({"x-api-key": "sk-ant-managed"})["x-api-key"]
    assert upstream.llm_requests, "the managed configuration's endpoint was not called"
    assert {r.secrets.get("x-api-key") for r in upstream.llm_requests} == {managed_key}


# -- an OpenCode the operator accepts: stopped by the step costs it prints (SECURITY 69, 73) --


async def _accepted(
    loaded: LoadedSettings,
    upstream: ScriptedUpstream,
    hard: float = HARD,
    working_dir: Path | None = None,
) -> tuple[JobView, dict[str, Any], float]:
    """A job of OpenCode the operator accepts: on its own login (its user configuration's
    key), held as one call."""
    _script(upstream)
    accepted = {"providers.unmetered_clis": ["opencode"]}
    async with _gateway(loaded, hard, **accepted) as gateway:
        return await _run(gateway, "keep going", working_dir)


async def test_an_accepted_opencode_is_stopped_by_the_step_costs_it_prints(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Accepted, OpenCode runs on its own login, held as one call and stopped by the gateway
    once the step costs it prints would pass the hold (about $0.96 here; each step about
    $0.30). It may have sent more steps by then (the count lags the upstream's bill by as many
    steps as the reader lags): the operator accepted that it may pass a hard budget."""
    find_cli("opencode")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", STEP_TOKENS)
    view, row, spent = await _accepted(loaded, upstream)
    assert _steps(upstream) < STEPS, (view.state, view.error)
    assert view.error is not None and view.error["code"] == "budget_exceeded", view.error
    step_usd = STEP_TOKENS * 3.0 / 1e6  # OpenCode's own Sonnet price, input alone
    assert row["cost_source"] == "cli" and row["cost_usd"] >= 3 * step_usd, row
    assert spent == pytest.approx(row["cost_usd"]), (spent, row)
    assert not _sent_by_the_gateway(upstream)  # its own key: not routed


def _priced_at_nothing(tmp_path: Path) -> Path:
    """A working directory whose `opencode.json` prices the model at $0: as a model OpenCode's
    own price list lacks is priced."""
    free = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    config = {"provider": {"anthropic": {"models": {"claude-sonnet-4-5": {"cost": free}}}}}
    work = tmp_path / "work"
    work.mkdir()
    (work / "opencode.json").write_text(json.dumps(config), encoding="utf-8")
    return work


async def test_an_accepted_opencode_pricing_its_steps_at_nothing_is_still_stopped_and_counted(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """OpenCode prices its steps by its own list, which a project's `opencode.json` can change
    and which lacks some models: an accepted job's steps count toward its stop, and its row,
    at no less than the gateway's price of the tokens OpenCode says it used (finding 73)."""
    find_cli("opencode")
    monkeypatch.setattr(anthropic_fake, "ANTHROPIC_INPUT_TOKENS", STEP_TOKENS)
    view, row, spent = await _accepted(loaded, upstream, working_dir=_priced_at_nothing(tmp_path))
    assert _steps(upstream) < STEPS, (view.state, view.error)
    assert view.error is not None and view.error["code"] == "budget_exceeded", view.error
    step_usd = STEP_TOKENS * 3.0 / 1e6  # the gateway's Sonnet price, input alone
    assert row["cost_usd"] >= 3 * step_usd, row
    assert spent == pytest.approx(row["cost_usd"]) and spent <= HARD + 2 * step_usd, (spent, row)


async def test_an_accepted_opencode_pricing_its_steps_at_nothing_is_counted_at_the_gateways_price(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    find_cli("opencode")
    view, row, spent = await _accepted(loaded, upstream, 50.0, _priced_at_nothing(tmp_path))
    assert view.error is None, view.error
    assert "done" in (view.result or {}).get("text", ""), view.result
    # Its steps at the gateway's price of the tokens OpenCode said they used, not at its $0.
    used = Usage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
    )
    assert row["cost_usd"] > 0 and row["cost_usd"] == PriceBook().cost_of(MODEL, used), row
    assert row["cost_source"] == "table" and spent == pytest.approx(row["cost_usd"]), row
