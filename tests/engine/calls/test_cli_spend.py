"""What a CLI job that ended without its usage is counted at (`calls/cli_spend.py`)."""

from __future__ import annotations

from llmgw_desktop.config.cli_catalog import provider_info
from llmgw_desktop.engine.budgets.holds import Hold
from llmgw_desktop.engine.calls.cli_spend import CliSpend, cli_ask
from llmgw_desktop.engine.errors import ErrorCode, ProviderFailure
from llmgw_desktop.engine.tokens.price_book import PriceBook

PROMPT = "x" * 400  # about 100 tokens


def _spend(*, held: int = 64_000, started: bool = True, routed: bool = False) -> CliSpend:
    ask = cli_ask(provider_info("claude"), "claude-haiku-4-5", PROMPT, PriceBook())
    return CliSpend(ask, Hold(output_tokens=held), started=started, routed=routed)


def test_a_run_that_ended_without_usage_counts_its_hold() -> None:
    fields = _spend().unreported()
    assert fields["cost_source"] == "estimate"
    assert (fields["input_tokens"], fields["output_tokens"]) == (100, 64_000)
    assert abs(fields["cost_usd"] - (100 * 1.25 + 64_000 * 5.0) / 1_000_000) < 1e-9


def test_a_cost_the_cli_said_is_counted_instead() -> None:
    failure = ProviderFailure("claude: boom", code=ErrorCode.PROVIDER_ERROR, provider="claude")
    failure.details["cost_usd"] = 0.07
    assert _spend().unreported(failure) == {"cost_usd": 0.07, "cost_source": "cli"}


def test_nothing_is_counted_without_a_hold_a_started_cli_or_when_routed() -> None:
    assert _spend(held=0).unreported() == {}  # no hard budget held it
    assert _spend(started=False).unreported() == {}  # the CLI never ran
    assert _spend(routed=True).unreported() == {}  # its model calls have rows of their own
    assert CliSpend().unreported() == {}
