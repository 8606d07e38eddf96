"""The ledger on a real engine and store: spend counted from finished rows, per scope; a soft
limit told once; a hard limit refusing the CLI path before anything runs; spend read back
after a restart and at the local midnight rollover."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import (
    LOCAL_CALLER,
    LOCAL_PRINCIPAL,
    BudgetExceeded,
    CallParams,
    Engine,
    Notice,
    RequestMeta,
)
from llmgw_desktop.engine.budgets import lanes
from llmgw_desktop.engine.budgets.holds import CallAsk
from llmgw_desktop.engine.budgets.lanes import LaneKey
from tests.engine.recorder.test_flight_recorder import CAPTURED

SETTLE_S = 10.0


def _row(
    engine: Engine, *, caller: str = "agent-a", project: str | None = None, **used: Any
) -> str:
    recorder = engine.recorder
    record = recorder.start(principal="local", provider="claude", caller=caller, project=project)
    recorder.finish(record, state="completed", **used)
    return record


async def _engine(loaded: LoadedSettings, budgets: list[dict[str, Any]], **kw: Any) -> Engine:
    engine = Engine(loaded.settings.with_values({"budgets": budgets}), **kw)
    await engine.start()
    return engine


async def test_each_scope_counts_only_its_calls(loaded: LoadedSettings) -> None:
    engine = await _engine(
        loaded,
        [
            {"scope": "global", "unit": "tokens", "period": "daily", "hard": 10_000},
            {"scope": "agent=agent-a", "unit": "tokens", "period": "daily", "hard": 10_000},
            {"scope": "project=shop", "unit": "usd", "period": "monthly", "hard": 5.0},
        ],
    )
    try:
        _row(engine, caller="agent-a", input_tokens=100, output_tokens=10, cache_read_tokens=5)
        _row(engine, caller="agent-b", project="shop", input_tokens=7, cost_usd=1.25)
        spent = [s.spent for s in engine.budgets.statuses()]
        assert spent == [122, 115, 1.25]
    finally:
        await engine.stop()


async def test_a_soft_limit_is_told_once_per_period(loaded: LoadedSettings) -> None:
    engine = await _engine(
        loaded, [{"scope": "global", "unit": "usd", "period": "daily", "soft": 1.0, "hard": 3.0}]
    )
    told: list[Notice] = []
    engine.events.subscribe(Notice, told.append)
    try:
        for _ in range(3):
            _row(engine, cost_usd=0.6)
        assert [n.message for n in told] == [
            "Budget global daily dollars passed its soft limit: $1.20 of $1.00 today."
        ]
        (status,) = engine.budgets.statuses()
        assert status.state == "soft"
        _row(engine, cost_usd=2.0)
        assert len(told) == 2 and "is used up: $3.80 of $3.00 today" in told[1].message
        assert engine.budgets.statuses()[0].state == "exceeded"
        _row(engine, cost_usd=2.0)
        assert len(told) == 2
    finally:
        await engine.stop()


async def test_the_cli_path_is_refused_before_anything_runs(loaded: LoadedSettings) -> None:
    engine = await _engine(
        loaded, [{"scope": "project=shop", "unit": "tokens", "period": "daily", "hard": 10}]
    )
    try:
        _row(engine, project="shop", input_tokens=50)
        meta = RequestMeta(transport="mcp-http", caller="agent-a", project="shop")
        with pytest.raises(BudgetExceeded) as caught:
            await engine.calls.submit("claude", CallParams(prompt="hi"), LOCAL_PRINCIPAL, meta)
        error = caught.value
        assert error.code == "budget_exceeded" and error.http_status == 402
        assert error.details["spent"] == 50 and error.details["limit"] == 10
        assert "project shop" in error.message and "resets at" in error.message
        assert engine.jobs.health()["live"] == 0
        rows = await engine.recorder.recent("local")
        refused = next(r for r in rows if r["error_code"] == "budget_exceeded")
        # Refused, not failed: the gateway said no before any provider was asked.
        assert refused["state"] == "refused" and refused["project"] == "shop"
        # Another project is not covered by it.
        other = RequestMeta(caller="agent-a", project="other")
        engine.budget_ledger.check("local", other.caller, other.project)
    finally:
        await engine.stop()


async def test_a_restart_reads_the_periods_spend_back(loaded: LoadedSettings) -> None:
    budgets = [
        {"scope": "agent=agent-a", "unit": "tokens", "period": "monthly", "hard": 100},
        {"scope": "global", "unit": "usd", "period": "daily", "hard": 9.0},
    ]
    first = await _engine(loaded, budgets)
    _row(first, input_tokens=60, output_tokens=60, cost_usd=0.5)
    _row(first, caller="agent-b", input_tokens=1000, cost_usd=0.25)
    await first.stop()
    second = await _engine(loaded, budgets)
    try:
        assert [s.spent for s in second.budgets.statuses()] == [120, 0.75]
        with pytest.raises(BudgetExceeded):
            second.budget_ledger.check("local", "agent-a", None)
        second.budget_ledger.check("local", "agent-b", None)
    finally:
        await second.stop()


async def test_a_budget_refusing_for_too_little_left_reads_so_after_a_restart(
    loaded: LoadedSettings,
) -> None:
    """Person pass, 2026-11-29: a hard budget that refused a call for too little left (its
    spend short of its limit) read "ok" again after a restart, in the header and on the key's
    row, until its next refusal."""
    budget = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 100}
    first = await _engine(loaded, [budget])
    try:
        _row(first, input_tokens=40)
        with pytest.raises(BudgetExceeded) as caught:
            await first.budget_ledger.reserve("local", "agent-a", None, CallAsk(None, 200, 10))
        assert "too little left" in caught.value.message
        assert first.budgets.statuses()[0].state == "exceeded"
    finally:
        await first.stop()
    told: list[Notice] = []
    second = Engine(loaded.settings.with_values({"budgets": [budget]}))
    second.events.subscribe(Notice, told.append)
    await second.start()
    try:
        (status,) = second.budgets.statuses()
        assert status.spent == 40 and status.refusing and status.state == "exceeded"
        assert not [n for n in told if n.topic == "budget"]  # told before the restart
    finally:
        await second.stop()
    raised = await _engine(loaded, [{**budget, "hard": 1000}])
    try:
        assert raised.budgets.statuses()[0].state == "ok"  # refused under a lower limit
    finally:
        await raised.stop()


async def test_the_refusal_is_told_when_the_spend_read_back_lands_during_its_admission(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI, 2026-11-30: the desk's Notifications had no "used up" notice. The admission that
    refuses writes the lane's mark in the store's thread; the ledger's read of the spend back
    ran on the loop before the admission's coroutine resumed, learned the mark as another
    process's refusal (told there), and the refusal this process made was never told."""
    budget = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 100}
    told: list[Notice] = []
    engine = Engine(loaded.settings.with_values({"budgets": [budget]}))
    engine.events.subscribe(Notice, told.append)
    await engine.start()
    ledger = engine.budget_ledger
    admit = ledger.accounts.admit

    async def read_back_lands_first(*args: Any, **kwargs: Any) -> Any:
        decided = await admit(*args, **kwargs)
        await ledger._reread()  # as the flush's read of the spend, between commit and resume
        return decided

    monkeypatch.setattr(ledger.accounts, "admit", read_back_lands_first)
    try:
        _row(engine, input_tokens=40)
        with pytest.raises(BudgetExceeded, match="too little left"):
            await ledger.reserve("local", "agent-a", None, CallAsk(None, 200, 10))
        refusals = [n.message for n in told if n.topic == "budget" and n.level == "error"]
        assert len(refusals) == 1, told
        with pytest.raises(BudgetExceeded):  # refused again: told once
            await ledger.reserve("local", "agent-a", None, CallAsk(None, 200, 10))
        await ledger._reread()
        assert len([n for n in told if n.topic == "budget" and n.level == "error"]) == 1, told
    finally:
        await engine.stop()


async def test_spend_read_back_while_a_flush_writes_never_reads_short(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI, 2026-11-30 (`test_budget_reserve_wait_redteam`): a read of the spend taken before a
    flush's commit and answered after it read a finished call's cost in neither the store nor
    what this process owes: the budget said $0.45 where $0.54 was spent. A read a flush wrote
    during is not used (the flush's own read back follows)."""
    budget = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 10_000}
    engine = await _engine(loaded, [budget])
    ledger = engine.budget_ledger
    accounts = ledger.accounts
    read = accounts.read

    async def flush_during_the_read(periods: Any) -> Any:
        before = await read(periods)  # the store before the flush
        assert await accounts.flush()  # the finished call's cost written meanwhile
        return before

    try:
        _row(engine, input_tokens=40)
        assert engine.budgets.statuses()[0].spent == 40
        monkeypatch.setattr(accounts, "read", flush_during_the_read)
        await ledger._reread()
        assert engine.budgets.statuses()[0].spent == 40
        monkeypatch.setattr(accounts, "read", read)
        await ledger._reread()
        assert engine.budgets.statuses()[0].spent == 40  # read back whole, counted once
    finally:
        await engine.stop()


async def test_a_prompt_too_large_for_the_room_left_is_refused_alone(
    loaded: LoadedSettings,
) -> None:
    """Review of 2026-11-30: any refusal for too little left marked the lane refusing, in the
    store, for the rest of the period; one oversized prompt (held at a token a byte, nothing
    sent) made a budget with room for every other call read "refusing calls" everywhere."""
    budget = {"scope": "global", "unit": "tokens", "period": "daily", "hard": 10_000}
    told: list[Notice] = []
    engine = Engine(loaded.settings.with_values({"budgets": [budget]}))
    engine.events.subscribe(Notice, told.append)
    await engine.start()
    try:
        with pytest.raises(BudgetExceeded, match="too little left"):
            await engine.budget_ledger.reserve("local", "agent-a", None, CallAsk(None, 20_000, 10))
        (status,) = engine.budgets.statuses()
        assert not status.refusing and status.state == "ok"
        assert not [n for n in told if n.topic == "budget"]
        await engine.budget_ledger.reserve("local", "agent-a", None, CallAsk(None, 100, 10))
    finally:
        await engine.stop()


async def test_local_midnight_starts_a_new_day_and_keeps_the_month(
    loaded: LoadedSettings,
) -> None:
    now = [datetime(2026, 11, 15, 23, 59, 0).timestamp()]
    engine = await _engine(
        loaded,
        [
            {"scope": "global", "unit": "tokens", "period": "daily", "hard": 100},
            {"scope": "global", "unit": "tokens", "period": "monthly", "hard": 1000},
        ],
        clock=lambda: now[0],
    )
    try:
        _row(engine, input_tokens=150)
        with pytest.raises(BudgetExceeded, match="resets at 2026-11-16 00:00"):
            engine.budget_ledger.check("local", "agent-a", None)
        now[0] = datetime(2026, 11, 16, 0, 0, 1).timestamp()
        engine.budget_ledger.check("local", "agent-a", None)  # a new day
        # The month is read back from the store in the background (the day starts at zero).
        async with asyncio.timeout(SETTLE_S):
            while True:
                if [s.spent for s in engine.budgets.statuses()] == [0, 150]:
                    break
                await asyncio.sleep(0.02)
    finally:
        await engine.stop()


async def test_a_queued_call_is_refused_when_it_leaves_the_queue_after_the_budget_ran_out(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    """A call that passed the check while others ran waits in the queue; by the time it would
    start, the budget is used up: it is refused then, and its CLI never starts."""
    started = tmp_path / "started.log"
    gate = tmp_path / "go"
    stand_in = tmp_path / "bin" / "claude"
    stand_in.parent.mkdir()
    stand_in.write_text(
        "#!/bin/sh\ncat > /dev/null\n"
        f"echo started >> '{started}'\n"
        f"while [ ! -e '{gate}' ]; do sleep 0.05; done\n"
        f"cat '{CAPTURED}'\n"
    )
    stand_in.chmod(0o755)
    engine = await _engine(
        replace(
            loaded,
            settings=loaded.settings.with_values(
                {
                    "providers.cli_path": [str(stand_in.parent)],
                    "jobs.max_concurrent": 1,
                    "jobs.max_concurrent_per_provider": 1,
                    # The stand-in cannot send its model calls back through a gateway: the
                    # operator accepts it, so the queue's own refusal is what is tested.
                    "providers.unmetered_clis": ["claude"],
                }
            ),
        ),
        # Room for one CLI run's hold (its input and 32,000 tokens of output: Claude Code's
        # unnamed model is held at its family's dearest, an Opus 4), not for two.
        [{"scope": "project=shop", "unit": "tokens", "period": "daily", "hard": 33_000}],
    )
    try:
        meta = RequestMeta(transport="mcp-http", caller="agent-a", project="shop")
        first = await engine.calls.submit("claude", CallParams(prompt="one"), "local", meta)
        second = await engine.calls.submit("claude", CallParams(prompt="two"), "local", meta)
        _row(engine, project="shop", input_tokens=33_000)  # another call used the budget up
        gate.touch()
        done = await engine.jobs.wait(first.job_id, "local", SETTLE_S)
        refused = await engine.jobs.wait(second.job_id, "local", SETTLE_S)
        assert done.state.value == "completed"
        assert refused.state.value == "failed"
        assert refused.error is not None and refused.error["code"] == "budget_exceeded"
        assert started.read_text().splitlines() == ["started"]  # the second CLI never ran
        rows = await engine.recorder.recent("local")
        assert any(r["error_code"] == "budget_exceeded" and r["state"] == "failed" for r in rows)
    finally:
        await engine.stop()


async def test_a_raised_limit_is_told_again_when_spend_crosses_it(loaded: LoadedSettings) -> None:
    budget = {"scope": "global", "unit": "usd", "period": "daily", "hard": 1.0}
    engine = await _engine(loaded, [budget])
    told: list[Notice] = []
    engine.events.subscribe(Notice, told.append)
    try:
        _row(engine, cost_usd=1.5)
        assert len(told) == 1 and "used up" in told[0].message
        await engine.budgets.replace(LOCAL_CALLER, [{**budget, "hard": 2.0}])
        assert len(told) == 1  # under the new limit: nothing to say
        _row(engine, cost_usd=1.0)
        assert len(told) == 2 and "$2.50 of $2.00" in told[1].message
    finally:
        await engine.stop()


async def test_a_token_budget_says_which_of_its_tokens_were_cache_reads_and_writes(
    loaded: LoadedSettings,
) -> None:
    """A token budget counts every token; the desk says how many were the prompt cache's, per
    lane (an agent budget: each caller's own), from the same rows (review 41-2, finding 7)."""
    engine = await _engine(
        loaded,
        [
            {"scope": "agent=agent-a", "unit": "tokens", "period": "daily", "hard": 10_000},
            {"scope": "global", "unit": "usd", "period": "daily", "hard": 5.0},
        ],
    )
    try:
        _row(engine, input_tokens=100, output_tokens=10, cache_read_tokens=5_000)
        _row(engine, input_tokens=1, cache_read_tokens=20, cache_write_tokens=3)
        _row(engine, caller="agent-b", cache_read_tokens=999)  # not this budget's
        statuses = engine.budgets.statuses()
        assert statuses[0].spent == 100 + 10 + 5_000 + 1 + 20 + 3
        tokens, dollars = await engine.budgets.cache_parts(statuses)
        assert (tokens.read, tokens.write) == (5_020, 3)
        assert (dollars.read, dollars.write) == (0, 0)  # a dollar budget counts no tokens
    finally:
        await engine.stop()


async def test_a_lowered_limit_refuses_the_next_check_of_a_caller_already_seen(
    loaded: LoadedSettings,
) -> None:
    # Which budgets cover a caller is remembered per caller (`covers.py`): a changed list must
    # not be checked against the limit remembered from before.
    budget = {"scope": "global", "unit": "usd", "period": "daily", "hard": 2.0}
    engine = await _engine(loaded, [budget])
    try:
        _row(engine, cost_usd=1.5)
        engine.budget_ledger.check("local", "agent-a", None)  # seen, under $2.00
        await engine.budgets.replace(LOCAL_CALLER, [{**budget, "hard": 1.0}])
        with pytest.raises(BudgetExceeded, match=r"\$1\.00"):
            engine.budget_ledger.check("local", "agent-a", None)
    finally:
        await engine.stop()


async def test_spend_read_back_from_the_store_refuses_the_next_check(
    loaded: LoadedSettings,
) -> None:
    # `check` and `reserve` look at a caller's lanes only while one is known used up
    # (`spend.used_up`): spend another process counted, read back from the store, makes it so.
    budget = {"scope": "global", "unit": "usd", "period": "daily", "hard": 2.0}
    engine = await _engine(loaded, [budget])
    try:
        ledger = engine.budget_ledger
        ledger.check("local", "agent-a", None)  # seen, nothing spent
        (status,) = ledger.statuses()
        key = LaneKey(status.budget.key, "", status.starts_at)
        database = engine.store.models.database
        await engine.store.run(lambda: lanes.settle(database, {key: 2.5}, []))
        ledger.check("local", "agent-a", None)  # not read back yet
        await ledger._reread()
        with pytest.raises(BudgetExceeded, match=r"\$2\.00"):
            ledger.check("local", "agent-a", None)
    finally:
        await engine.stop()
