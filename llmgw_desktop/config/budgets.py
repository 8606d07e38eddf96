"""What a budget is: a scope, a unit, a calendar period and a soft and/or hard limit.

A budget is written in `config.toml` as one table of the array `[[budgets]]`:

    [[budgets]]
    scope = "project=shop"   # "global", "agent=<caller>", "project=<project>", "principal=<id>"
    unit = "usd"                          # "usd" (the recorder's cost) or "tokens"
    period = "daily"                      # "daily" or "monthly"
    soft = 4.0                            # optional: a tray notice, once per period
    hard = 5.0                            # optional: new calls are refused

The agent is the recorder's `caller` and the project its `project`, compared exactly as the
Agents page shows them. An agent is a name the caller chooses, so an agent budget is a lane per
principal: `oauth:ci-bot` calling itself `claude-code` spends its own `claude-code` lane, not the
local user's, and each lane has the budget's limits. `principal=<id>` (`local`,
`gateway-bearer`, `oauth:<client id>`, `user:<name>`) covers one principal's calls, and
`principal=*` each principal other than the local user on its own lane: the cap that keeps one
remote caller from spending a global or project budget that others share.

Periods follow one calendar: a day starts at midnight, a month at midnight on the 1st, in
this computer's local time, or on a PostgreSQL store (which gateways in several time zones may
share) in UTC unless `store.budget_timezone` names a zone (DST-aware; `budgets/definition.py`).
Tokens count every token a row names: input, output, cache reads and cache writes. A row with
tokens but no price adds $0 to a dollar budget (it is "not priced" on the cost pages), so a hard
dollar budget refuses beforehand any call whose cost it could not count
(`tokens/pricing.CostBasis`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from llmgw_desktop.config.principals import LOCAL, is_principal_id, principal_words
from llmgw_desktop.config.words import one_of

__all__ = [
    "FIELDS",
    "PERIODS",
    "SCOPES",
    "UNITS",
    "Budget",
    "BudgetProblem",
    "Period",
    "Unit",
    "check_budget_tables",
    "parse_budget",
    "parse_budgets",
]

Unit = Literal["tokens", "usd"]
Period = Literal["daily", "monthly"]
UNITS: tuple[Unit, ...] = ("usd", "tokens")
PERIODS: tuple[Period, ...] = ("daily", "monthly")
SCOPES = ("global", "agent=", "project=", "principal=")
KINDS = ("global", "agent", "project", "principal")
# A unit as a budget's name says it ("global daily dollars").
UNIT_WORDS: dict[str, str] = {"usd": "dollars", "tokens": "tokens"}
# `principal=*`: every principal but the local user, each on its own lane.
EACH_REMOTE = "*"
FIELDS = ("scope", "unit", "period", "soft", "hard")
# A budget list is read on every call's check: a screenful, not thousands.
MAX_BUDGETS = 100
# The largest limit: a token count stays exact as a float (below 2**53) and a TOML integer
# (64 bits) when saved; an integer past what a float holds would otherwise overflow the check.
MAX_LIMIT = 10**15


class BudgetProblem(ValueError):
    """A budget table is wrong; the message names the budget and the field."""


@dataclass(frozen=True)
class Budget:
    """One budget, checked: `kind` is global/agent/project/principal and `value` the agent,
    project or principal."""

    kind: Literal["global", "agent", "project", "principal"]
    value: str
    unit: Unit
    period: Period
    soft: float | None = None
    hard: float | None = None

    @property
    def scope(self) -> str:
        return "global" if self.kind == "global" else f"{self.kind}={self.value}"

    @functools.cached_property
    def key(self) -> str:
        """Its identity: one budget per scope, unit and period (kept once made: a call asks
        for it about a dozen times, and the fields it is made of never change)."""
        return f"{self.scope}|{self.unit}|{self.period}"

    @property
    def label(self) -> str:
        """How a person reads its scope: `project shop`, `agent claude-code`, `global`, `key
        ci-bot` (a principal's, by `principal_words`), `each remote caller`."""
        if self.kind == "global":
            return "global"
        if self.kind == "principal":
            return (
                "each remote caller" if self.value == EACH_REMOTE else principal_words(self.value)
            )
        return f"{self.kind} {self.value}"

    @property
    def measure(self) -> str:
        """Its period and unit: `daily tokens`, `monthly dollars`. A scope may have one budget
        of each, so its scope alone does not tell it from another."""
        return f"{self.period} {UNIT_WORDS[self.unit]}"

    @property
    def name(self) -> str:
        """How a person tells it from every other budget, wherever it is named (the Budgets
        page, the header, the tray, a notice): `global daily tokens`, `project shop monthly
        dollars`."""
        return f"{self.label} {self.measure}"

    @property
    def period_word(self) -> str:
        return "today" if self.period == "daily" else "this month"

    @property
    def per_principal(self) -> bool:
        """Whether each principal has its own lane (its own spend) under this budget."""
        return self.kind == "agent" or (self.kind == "principal" and self.value == EACH_REMOTE)

    def lane(self, principal: str, caller: str, project: str | None) -> str | None:
        """The lane a call by `principal` as `caller` in `project` counts on (the principal,
        or "" where the budget has one total), or None when the budget does not cover it."""
        if self.kind == "agent":
            return principal if caller == self.value else None
        if self.kind == "principal":
            if self.value == EACH_REMOTE:
                return principal if principal != LOCAL else None
            return "" if principal == self.value else None
        if self.kind == "project" and project != self.value:
            return None
        return ""

    def to_table(self) -> dict[str, Any]:
        """The `[[budgets]]` table that reads back as this budget."""
        table: dict[str, Any] = {"scope": self.scope, "unit": self.unit, "period": self.period}
        for name in ("soft", "hard"):
            limit = getattr(self, name)
            if limit is not None:
                table[name] = int(limit) if self.unit == "tokens" else limit
        return table


def _limit(name: str, value: Any, unit: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BudgetProblem(f"{name}: {value!r} is not a number")
    # An int is never NaN or infinite, and math.isfinite overflows on a huge one.
    if not (isinstance(value, int) or math.isfinite(value)) or value <= 0:
        raise BudgetProblem(f"{name}: must be above 0 (got {value!r})")
    if value > MAX_LIMIT:
        raise BudgetProblem(f"{name}: must be at most {MAX_LIMIT:.0e}")
    if unit == "tokens" and float(value) != int(value):
        raise BudgetProblem(f"{name}: a token limit is a whole number (got {value!r})")
    return float(value)


def parse_budget(table: Any) -> Budget:
    """One `[[budgets]]` table as a `Budget`.

    Raises:
        BudgetProblem: a field is missing, unknown or out of range (the message names it).
    """
    if not isinstance(table, Mapping):
        raise BudgetProblem(f"is not a table (got {table!r})")
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise BudgetProblem(f"{unknown[0]}: is not a budget field (use {', '.join(FIELDS)})")
    scope = table.get("scope", "global")
    if not isinstance(scope, str):
        raise BudgetProblem(f"scope: {scope!r} is not a string")
    kind, sep, value = scope.strip().partition("=")
    if kind not in KINDS or (kind == "global") != (not sep):
        raise BudgetProblem(
            f'scope: {scope!r} is not "global", "agent=<name>", "project=<name>" or '
            '"principal=<id>" (or "principal=*")'
        )
    if kind != "global" and not value.strip():
        raise BudgetProblem(f"scope: {scope!r} names no {kind}")
    if kind == "principal" and value.strip() != EACH_REMOTE and not is_principal_id(value.strip()):
        raise BudgetProblem(
            f"scope: {value.strip()!r} is not a principal (local, gateway-bearer, "
            "oauth:<client id>, user:<name>, or * for each remote principal)"
        )
    unit = table.get("unit")
    if unit not in UNITS:
        raise BudgetProblem(f"unit: {one_of(unit, UNITS)}")
    period = table.get("period")
    if period not in PERIODS:
        raise BudgetProblem(f"period: {one_of(period, PERIODS)}")
    soft = _limit("soft", table.get("soft"), unit)
    hard = _limit("hard", table.get("hard"), unit)
    if soft is None and hard is None:
        raise BudgetProblem("hard: set a soft limit, a hard limit or both")
    if soft is not None and hard is not None and soft >= hard:
        raise BudgetProblem(f"soft: must be below hard ({soft:g} >= {hard:g})")
    return Budget(kind, value.strip(), unit, period, soft, hard)  # type: ignore[arg-type]


def parse_budgets(tables: Sequence[Any]) -> tuple[Budget, ...]:
    """Every budget of the `budgets` setting.

    Raises:
        BudgetProblem: one is wrong or two share a scope, unit and period; the message starts
            with which (`budget 2 (agent=x)`).
    """
    if len(tables) > MAX_BUDGETS:
        raise BudgetProblem(f"at most {MAX_BUDGETS} budgets (got {len(tables)})")
    budgets: list[Budget] = []
    for index, table in enumerate(tables, start=1):
        scope = table.get("scope", "global") if isinstance(table, Mapping) else "?"
        try:
            budget = parse_budget(table)
        except BudgetProblem as exc:
            raise BudgetProblem(f"budget {index} ({scope}): {exc}") from None
        if any(b.key == budget.key for b in budgets):
            raise BudgetProblem(
                f"budget {index} ({scope}): another budget has the same scope, unit and period"
            )
        budgets.append(budget)
    return tuple(budgets)


def check_budget_tables(value: Any) -> str | None:
    """The settings check of `budgets`: None when every table is a good budget."""
    if not isinstance(value, list):
        return "is not an array of tables ([[budgets]])"
    try:
        parse_budgets(value)
    except BudgetProblem as exc:
        return str(exc)
    return None
