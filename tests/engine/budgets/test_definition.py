"""`[[budgets]]` as the file gives it: every mistake stops start-up naming the budget and the
field; periods follow the local calendar, or on a shared store one zone for every process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from llmgw_desktop.config.budgets import MAX_LIMIT, BudgetProblem, parse_budgets
from llmgw_desktop.config.file import ConfigFileWriter
from llmgw_desktop.config.settings import ConfigError, load_settings
from llmgw_desktop.engine.budgets.definition import (
    budget_zone,
    format_amount,
    format_share,
    period_bounds,
)

GOOD = """
[[budgets]]
scope = "project=shop"
unit = "usd"
period = "daily"
soft = 4.0
hard = 5.0

[[budgets]]
scope = "agent=claude-code"
unit = "tokens"
period = "monthly"
hard = 200000
"""


def test_budgets_load_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(GOOD)
    loaded = load_settings(config, environ={})
    shop, agent = parse_budgets(loaded.settings.budgets)
    assert (shop.label, shop.unit, shop.period, shop.soft, shop.hard) == (
        "project shop",
        "usd",
        "daily",
        4.0,
        5.0,
    )
    # An agent budget keeps a lane per principal; a project budget one total.
    assert agent.lane("local", "claude-code", None) == "local"
    assert agent.lane("oauth:bot", "claude-code", None) == "oauth:bot"
    assert agent.lane("local", "codex", None) is None
    assert shop.lane("local", "anyone", "shop") == "" and shop.lane("local", "anyone", None) is None
    assert loaded.sources["budgets"].startswith("file ")


@pytest.mark.parametrize(
    ("table", "said"),
    [
        (
            'scope = "team=x"\nunit = "usd"\nperiod = "daily"\nhard = 1.0',
            "budget 2 (team=x): scope",
        ),
        (
            'scope = "agent="\nunit = "usd"\nperiod = "daily"\nhard = 1.0',
            "budget 2 (agent=): scope",
        ),
        ('scope = "global"\nunit = "eur"\nperiod = "daily"\nhard = 1.0', "budget 2 (global): unit"),
        (
            'scope = "global"\nunit = "usd"\nperiod = "weekly"\nhard = 1',
            "budget 2 (global): period",
        ),
        ('scope = "global"\nunit = "usd"\nperiod = "daily"\nhard = -1', "budget 2 (global): hard"),
        ('scope = "global"\nunit = "usd"\nperiod = "daily"\nsoft = "a"', "budget 2 (global): soft"),
        ('scope = "global"\nunit = "tokens"\nperiod = "daily"\nhard = 1.5', "(global): hard"),
        ('scope = "global"\nunit = "usd"\nperiod = "daily"', "budget 2 (global): hard: set"),
        ('scope = "global"\nunit = "usd"\nperiod = "daily"\nsoft = 5.0\nhard = 4.0', ": soft"),
        ('scope = "global"\nunit = "usd"\nperiod = "daily"\nhard = 1.0\nlimit = 2', ": limit"),
        (
            'scope = "project=shop"\nunit = "usd"\nperiod = "daily"\nhard = 9.0',
            "2 (project=shop): a",
        ),
    ],
)
def test_a_bad_budget_stops_start_up_naming_it_and_the_field(
    tmp_path: Path, table: str, said: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(GOOD.split('[[budgets]]\nscope = "agent')[0] + "[[budgets]]\n" + table)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert caught.value.key == "budgets"
    assert said in str(caught.value), str(caught.value)


def test_budgets_from_the_environment_are_checked_too(tmp_path: Path) -> None:
    env = {"LLM_GATEWAY_BUDGETS": '[{"scope": "global", "unit": "usd", "period": "yearly"}]'}
    with pytest.raises(ConfigError, match="budget 1 \\(global\\): period"):
        load_settings(tmp_path / "none.toml", environ=env)


def test_saved_budgets_read_back_as_an_array_of_tables(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# mine\n[http]\nport = 3333\n")
    tables = [b.to_table() for b in parse_budgets([{"unit": "usd", "period": "daily", "hard": 2}])]
    ConfigFileWriter(config).update("budgets", tables)
    assert "# mine" in config.read_text()
    loaded = load_settings(config, environ={})
    assert loaded.settings.budgets == [
        {"scope": "global", "unit": "usd", "period": "daily", "hard": 2.0}
    ]


def test_periods_follow_the_local_calendar() -> None:
    noon = datetime(2026, 12, 31, 12, 0).timestamp()
    day_start, day_end = period_bounds("daily", noon)
    assert datetime.fromtimestamp(day_start) == datetime(2026, 12, 31)
    assert datetime.fromtimestamp(day_end) == datetime(2027, 1, 1)
    month_start, month_end = period_bounds("monthly", noon)
    assert datetime.fromtimestamp(month_start) == datetime(2026, 12, 1)
    assert datetime.fromtimestamp(month_end) == datetime(2027, 1, 1)


def test_a_named_zone_gives_every_process_the_same_periods() -> None:
    # What a gateway on a shared store counts under, whatever its own clock's zone says.
    paris = ZoneInfo("Europe/Paris")
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC).timestamp()  # 00:30 in Paris
    assert period_bounds("daily", late, paris) == (
        datetime(2026, 12, 1, tzinfo=paris).timestamp(),
        datetime(2026, 12, 2, tzinfo=paris).timestamp(),
    )
    assert period_bounds("monthly", late, UTC) == (
        datetime(2026, 11, 1, tzinfo=UTC).timestamp(),
        datetime(2026, 12, 1, tzinfo=UTC).timestamp(),
    )
    # A day of 23 hours where the clocks go forward is one period.
    start, end = period_bounds("daily", datetime(2026, 3, 29, 12, tzinfo=paris).timestamp(), paris)
    assert end - start == 23 * 3600


def test_a_shared_store_counts_in_utc_unless_a_zone_is_named() -> None:
    assert budget_zone("", shared_store=True) == UTC
    assert budget_zone("", shared_store=False) is None  # the local calendar
    assert budget_zone("utc", shared_store=False) == UTC
    assert budget_zone("Asia/Tokyo", shared_store=True) == ZoneInfo("Asia/Tokyo")


def test_an_unknown_budget_zone_stops_start_up_naming_it(tmp_path: Path) -> None:
    env = {"LLM_GATEWAY_BUDGET_TIMEZONE": "Mars/Olympus_Mons"}
    with pytest.raises(ConfigError, match="Mars/Olympus_Mons"):
        load_settings(tmp_path / "none.toml", environ=env)


def test_amounts_read_as_money_or_tokens() -> None:
    assert format_amount("usd", 4.1) == "$4.10"
    assert format_amount("tokens", 950) == "950 tokens"
    assert format_amount("tokens", 200_000) == "200k tokens"
    assert format_amount("tokens", 1_500_000) == "1.5M tokens"


def test_a_budget_of_a_principal_is_named_in_words() -> None:
    """A key's budget notice read "principal key:ci-bot daily dollars" (the helpers' pass,
    2026-11-30); a principal is named as the tray names a lane."""
    tables = [
        {"scope": "principal=key:ci-bot", "unit": "usd", "period": "daily", "hard": 1},
        {"scope": "principal=*", "unit": "tokens", "period": "daily", "hard": 100},
        {"scope": "principal=local", "unit": "usd", "period": "monthly", "hard": 5},
        {"scope": "project=shop", "unit": "usd", "period": "monthly", "hard": 5},
    ]
    assert [b.name for b in parse_budgets(tables)] == [
        "key ci-bot daily dollars",
        "each remote caller daily tokens",
        "you monthly dollars",
        "project shop monthly dollars",
    ]


def test_a_share_of_a_budget_reads_as_spent_or_not_and_full_only_when_it_is() -> None:
    """A person's pass (2026-11-30): the tray's line read a budget "0%" used where it had
    spent, beside a dollar figure of 0.2 %; a share rounded to 100 % read as used up."""
    assert format_share(0) == "0%"
    assert format_share(0.002) == "under 1%"
    assert format_share(0.002, short=True) == "<1%"  # the Budgets page's cell beside its bar
    assert format_share(0.006) == "1%"
    assert format_share(0.82) == "82%"
    assert format_share(0.996) == "99%"
    assert format_share(1.0) == "100%"
    assert format_share(1.3) == "130%"


@pytest.mark.parametrize(
    "hard", [10**400, 10**20, 1e300, float("inf"), float("nan"), -1, 0, True, "5", None]
)
@pytest.mark.parametrize("unit", ["usd", "tokens"])
def test_an_out_of_range_limit_is_a_budget_problem_never_a_crash(hard: object, unit: str) -> None:
    # JSON (LLM_GATEWAY_BUDGETS) and the desk's form give integers of any size: one past what
    # a float holds used to raise OverflowError out of the check (a traceback at start-up).
    with pytest.raises(BudgetProblem, match="budget 1 \\(global\\): hard"):
        parse_budgets([{"unit": unit, "period": "daily", "hard": hard}])


def test_a_huge_limit_in_the_environment_stops_start_up_with_a_config_error(
    tmp_path: Path,
) -> None:
    env = {
        "LLM_GATEWAY_BUDGETS": '[{"unit": "tokens", "period": "daily", "hard": 1%s}]' % ("0" * 400)
    }
    with pytest.raises(ConfigError, match="hard: must be at most"):
        load_settings(tmp_path / "none.toml", environ=env)


def test_the_largest_limit_saves_and_reads_back_exactly(tmp_path: Path) -> None:
    (budget,) = parse_budgets([{"unit": "tokens", "period": "daily", "hard": MAX_LIMIT}])
    assert budget.to_table()["hard"] == MAX_LIMIT
    assert parse_budgets([budget.to_table()]) == (budget,)
