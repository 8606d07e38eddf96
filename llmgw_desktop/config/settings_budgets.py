"""The budgets setting (`[[budgets]]` in config.toml): spending limits, checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config.budgets import check_budget_tables
from llmgw_desktop.config.settings_fields import setting

__all__ = ["BudgetSettings"]


@dataclass(frozen=True)
class BudgetSettings:
    """Part of `Settings`: the budgets (`config/budgets.py` says what one is)."""

    budgets: list[dict[str, Any]] = setting(
        "budgets",
        [],
        env="LLM_GATEWAY_BUDGETS",
        doc="Spending limits: an array of tables [[budgets]] with scope (global, agent=<name> "
        "or project=<name>), unit (usd or tokens), period (daily or monthly, local calendar), "
        "soft and/or hard (a JSON array in the env).",
        check=check_budget_tables,
    )
