"""What a start could not read while its store failed is read once the store answers
(`engine/store/redo.py`), with nobody calling meanwhile.

The real engine on SQLite, each test failing one read of the store's once, at start, with the
error a PostgreSQL outage raises (`StoreUnavailable`; an SQLite file is never unreachable, so
the failure is injected: the real outage of a real PostgreSQL is `test_store_outage.py`'s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import LOCAL_CALLER, Engine
from llmgw_desktop.engine.auth import gateway_keys
from llmgw_desktop.engine.auth.key_spec import KeySpec
from llmgw_desktop.engine.budgets.lane_accounts import LaneAccounts
from llmgw_desktop.engine.errors import DiskRefused
from llmgw_desktop.engine.store import StoreUnavailable
from llmgw_desktop.engine.vault import VaultError
from llmgw_desktop.engine.vault import service as vault_service
from tests.waiting import until

SOFT = [{"scope": "global", "unit": "usd", "period": "daily", "soft": 1.0}]


def _fails_once(real: Callable[..., Any], failure: Exception) -> Callable[..., Any]:
    """`real`, whose first call raises `failure` (a read at start meeting the outage)."""
    calls = 0

    def first_fails(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise failure
        return real(*args)

    return first_fails


def _row(engine: Engine, cost_usd: float) -> None:
    row = engine.recorder.start(principal="local", provider="claude", caller="agent-a")
    engine.recorder.finish(row, state="completed", cost_usd=cost_usd)


async def test_a_soft_budgets_spend_unread_at_start_is_read_once_the_store_answers(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = Engine(loaded.settings)
    await earlier.start()
    _row(earlier, 0.8)  # spent before this start, in the recorder's rows
    await earlier.stop()
    real_read = LaneAccounts.read
    down = _fails_once(lambda: None, StoreUnavailable("the test's store", "the server is stopped"))

    async def read_after_outage(self: LaneAccounts, periods: Any) -> Any:
        down()
        return await real_read(self, periods)

    monkeypatch.setattr(LaneAccounts, "read", read_after_outage)
    engine = Engine(loaded.settings.with_values({"budgets": SOFT}))
    await engine.start()
    try:
        _row(engine, 0.5)
        # Before: $0.50 for good (the period never counted in, this run's spend never
        # written); now the earlier $0.80 too, once the store answers.
        await until(
            lambda: abs(engine.budgets.statuses()[0].spent - 1.3) < 1e-9,
            "the period's spend read again: $0.80 earlier and $0.50 now",
        )
        assert engine.store.redo.owed == []
    finally:
        await engine.stop()


async def test_a_gateway_keys_budget_unread_at_start_is_shown_once_the_store_answers(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = Engine(loaded.settings)
    await earlier.start()
    await earlier.keys.create(LOCAL_CALLER, KeySpec(name="ci", budget_usd=5.0))
    await earlier.stop()
    failure = StoreUnavailable("the test's store", "the server is stopped")
    monkeypatch.setattr(
        gateway_keys.store, "list_keys", _fails_once(gateway_keys.store.list_keys, failure)
    )
    engine = Engine(loaded.settings)
    await engine.start()
    try:
        # Before: missing from the desk's budgets until the key's first call.
        statuses = await until(engine.budgets.key_statuses, "the key's budget, read again")
        assert [(s.budget.value, s.budget.hard) for s in statuses] == [("key:ci", 5.0)]
    finally:
        await engine.stop()


@pytest.mark.parametrize(
    "failure",
    [
        StoreUnavailable("the test's store", "the server is stopped"),
        DiskRefused("the test's store", "it is full", "database or disk is full"),
    ],
    ids=["unreachable", "disk_refused"],
)
async def test_a_vault_whose_open_met_the_store_failing_opens_once_it_answers(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    monkeypatch.setattr(
        vault_service.queries,
        "read_state",
        _fails_once(vault_service.queries.read_state, failure),
    )
    engine = Engine(loaded.settings)
    await engine.start(vault_later=True)
    try:
        # No call needs a key meanwhile: it opens by itself (before: "not open yet" for good,
        # and a disk's refusal was never tried again).
        await until(lambda: engine.vault.status()["state"] == "open", "the vault open again")
        assert await engine.vault.resolve_keys("openai") == []
    finally:
        await engine.stop()


async def test_a_bug_in_a_read_at_start_is_logged_once_not_tried_forever(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        gateway_keys.store, "list_keys", _fails_once(gateway_keys.store.list_keys, KeyError("x"))
    )
    engine = Engine(loaded.settings)
    await engine.start()
    try:
        await asyncio.sleep(0)
        assert engine.store.redo.owed == []
        assert "could not read the gateway keys' budgets" in caplog.text
    finally:
        await engine.stop()


async def test_a_vault_whose_open_met_a_bug_is_not_opened_again_at_each_call(
    loaded: LoadedSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reads = 0
    real = vault_service.queries.read_state

    def read_state(models: Any) -> Any:
        nonlocal reads
        reads += 1
        if reads == 1:
            raise KeyError("a bug")
        return real(models)

    monkeypatch.setattr(vault_service.queries, "read_state", read_state)
    engine = Engine(loaded.settings)
    await engine.start(vault_later=True)
    try:
        for _ in range(3):
            with pytest.raises(VaultError, match="could not be opened"):
                await engine.vault.resolve_keys("openai")
        assert reads == 1 and engine.store.redo.owed == []
        assert caplog.text.count("the vault could not be opened") == 1  # with its traceback
    finally:
        await engine.stop()
