"""The budgets as the desk sees and edits them: each one's spend (and, for a token budget, how
much of it was cache reads and writes), and changes saved to `config.toml` (operator only),
checked exactly as the file is at start-up."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from llmgw_desktop.config.budgets import Budget, parse_budgets
from llmgw_desktop.engine.auth.access import Capability, require
from llmgw_desktop.engine.auth.principals import Principal
from llmgw_desktop.engine.budgets.ledger import BudgetLedger
from llmgw_desktop.engine.budgets.refusals import BudgetStatus
from llmgw_desktop.engine.budgets.spend import CacheParts, SpendGroup, cache_parts_of, read_spend
from llmgw_desktop.engine.recorder import FlightRecorder
from llmgw_desktop.engine.settings_saver import SettingsSaver
from llmgw_desktop.engine.store import Database

__all__ = ["SETTING_KEY", "Budgets"]

# The setting the budgets are kept under (`[[budgets]]`).
SETTING_KEY = "budgets"


class Budgets:
    """Read each budget's state; replace the list (the Budgets page's add, edit, remove)."""

    def __init__(
        self,
        ledger: BudgetLedger,
        saver: SettingsSaver,
        store: Database | None = None,
        recorder: FlightRecorder | None = None,
    ) -> None:
        """`store` and `recorder`: where `cache_parts` reads the rows (None: it says none)."""
        self._ledger = ledger
        self._saver = saver
        self._store = store
        self._recorder = recorder

    @property
    def can_save(self) -> bool:
        """Whether edits reach a settings file (else they last until the gateway stops)."""
        return self._saver.can_save

    def statuses(self) -> list[BudgetStatus]:
        """Every budget with its spend this period and its reset time."""
        return self._ledger.statuses()

    def key_status(self, principal: str) -> BudgetStatus | None:
        """The budget a gateway key carries (`key:<name>`) with its spend this period, or None
        when the key has none (the Access keys page's spent-of-budget bar)."""
        return self._ledger.key_status(principal)

    def key_statuses(self) -> list[BudgetStatus]:
        """The budgets the gateway keys carry (kept with the keys, not in `config.toml`), with
        their spend this period: the Budgets page lists them beside the configured ones."""
        return self._ledger.key_statuses()

    async def cache_parts(self, statuses: Sequence[BudgetStatus]) -> list[CacheParts]:
        """For each of `statuses`, the cache reads and writes among the tokens its period
        counted (one grouped read per period start, on the read lane; a dollar budget's are
        none): a token budget counts them, and the desk says so beside its total."""
        found = [CacheParts() for _ in statuses]
        wanted = [i for i, s in enumerate(statuses) if s.budget.unit == "tokens" and s.starts_at]
        if not wanted or self._store is None:
            return found
        if self._recorder is not None:
            await self._recorder.flush()  # what just finished is in the rows
        database, cut = self._store.models.database, time.time()
        starts = {statuses[i].starts_at for i in wanted}

        def read() -> dict[float, list[SpendGroup]]:
            return {start: read_spend(database, since=start, cut=cut) for start in starts}

        groups = await self._store.read(read)
        for i in wanted:
            status = statuses[i]
            lanes = cache_parts_of(status.budget, groups[status.starts_at])
            found[i] = lanes.get(status.lane, CacheParts())
        return found

    def nearest(self) -> BudgetStatus | None:
        """The budget closest to its limit (the tray's burn-down line), or None."""
        return self._ledger.nearest()

    def tables(self) -> list[dict[str, Any]]:
        """The budgets as `[[budgets]]` tables, in order."""
        return [b.to_table() for b in self._ledger.budgets]

    async def replace(self, principal: Principal, tables: Sequence[Any]) -> tuple[Budget, ...]:
        """Check `tables` as the file's `[[budgets]]` would be, save them to `config.toml`,
        then count against them at once (their spend read from the store).

        Raises:
            AccessDenied: `principal` is not the operator (code `operator_only`).
            BudgetProblem: a table is wrong (the message names the budget and the field).
            OSError: the settings file cannot be written.
        """
        require(principal, Capability.SETTINGS)
        budgets = parse_budgets(list(tables))
        if self._saver.can_save:
            await self._saver.write(SETTING_KEY, [b.to_table() for b in budgets])
        await self._ledger.replace(budgets)
        return budgets
