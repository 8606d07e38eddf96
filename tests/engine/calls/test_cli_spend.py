"""What a CLI job that ended without its usage is counted at, and which CLI jobs a hard budget
admits: those whose model calls come back through the gateway, and those the operator accepts
(`calls/cli_spend.py`, `auth/agent_callbacks.py`)."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.cli_catalog import STOP_STEPS, STOP_TOLD, provider_info
from llmgw_desktop.config.provider_catalog import SHIPPED_CATALOG, ProviderCatalog
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks, RouteChoice, RunFor
from llmgw_desktop.engine.auth.connection_keys import ConnectionKeys
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.engine.budgets.holds import Hold
from llmgw_desktop.engine.calls.cli_spend import CliSpend, cli_ask, unmetered
from llmgw_desktop.engine.errors import ErrorCode, ProviderFailure
from llmgw_desktop.engine.providers.acp.peer import AcpPeer
from llmgw_desktop.engine.providers.base import ProviderRequest
from llmgw_desktop.engine.providers.cli_adapters import adapter_for
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


def test_an_attempt_that_may_have_spent_its_hold_is_not_tried_again() -> None:
    overloaded = ProviderFailure("claude: overloaded", code=ErrorCode.PROVIDER_ERROR)
    spend = _spend()
    spend.attempt_started = True
    assert not spend.may_retry(overloaded)  # its CLI ran: it may have spent all of the hold
    refused = ProviderFailure("claude: 429", code=ErrorCode.RATE_LIMITED)
    refused.details["cost_usd"] = 0
    assert spend.may_retry(refused)  # the CLI said the vendor billed nothing
    refused.details["cost_usd"] = 0.01
    assert not spend.may_retry(refused)
    spend.attempt_started = False
    assert spend.may_retry(overloaded)  # this attempt's CLI never started
    # Without a hard budget's hold, or with each model call held on its own, as before.
    for free in (_spend(held=0), _spend(routed=True), CliSpend()):
        free.attempt_started = True
        assert free.may_retry(overloaded)


def test_a_token_budgets_stop_is_its_held_tokens_at_the_cheapest_rate() -> None:
    ask = cli_ask(provider_info("claude"), "claude-haiku-4-5", PROMPT, PriceBook())
    assert ask.price is not None
    dollars = CliSpend(ask, Hold(output_tokens=64_000))
    assert dollars.cap_usd == ask.cost(64_000).usd
    # Haiku reads its cache at $0.10 a million: 64,100 tokens are $0.00641 at that rate.
    tokens = CliSpend(ask, Hold(output_tokens=64_000, counts_tokens=True))
    assert tokens.cap_usd == pytest.approx(64_100 * ask.price.cache_read / 1_000_000)
    assert ask.price.cheapest == ask.price.cache_read
    assert tokens.cap_usd is not None and dollars.cap_usd is not None
    assert tokens.cap_usd < dollars.cap_usd


# -- which CLIs stop at their hold once the operator accepts them (SECURITY 69, 70) -------


def test_only_claude_code_and_opencode_stop_at_their_hold() -> None:
    stopping = {info.id: info.budget_stop for info in SHIPPED_CATALOG if info.budget_stop}
    assert stopping == {"claude": STOP_TOLD, "opencode": STOP_STEPS}


def test_the_catalogs_stop_is_what_the_adapters_do() -> None:
    """A guard against the catalog and the adapters drifting apart: a CLI said to be told its
    hold is started with it, one said to be stopped by its step costs has a parser that counts
    them, and no other CLI's parser counts any (`providers/invoke.py` would stop it unsaid)."""
    request = ProviderRequest(prompt="hello", max_budget_usd=0.96)
    for info in SHIPPED_CATALOG:
        if info.speaks_acp:
            assert not info.budget_stop, info.id  # usage only as the turn ends
            continue
        prepared = adapter_for(info.id).prepare(request, "/bin/cli")
        told = "--max-budget-usd" in prepared.invocation.argv
        counts_steps = hasattr(prepared.parser, "spent_usd")
        assert told == (info.budget_stop == STOP_TOLD), info.id
        assert counts_steps == (info.budget_stop == STOP_STEPS), info.id


def test_a_cli_whose_calls_do_not_come_back_is_unmetered_and_named() -> None:
    for provider in ("codex", "gemini", "grok", "copilot", "mistral", "qwen", "claude"):
        why = unmetered(SHIPPED_CATALOG, provider, route=RouteChoice(False, "no door"))
        assert why is not None and SHIPPED_CATALOG.info(provider).display_name in why, provider
        assert "no door" in why
        assert unmetered(SHIPPED_CATALOG, provider, route=RouteChoice(True)) is None


def test_the_operators_acceptance_is_metered_whatever_the_route() -> None:
    accepted = ProviderCatalog.of({}, ["codex", "gemini-acp"])
    assert unmetered(accepted, "codex", route=RouteChoice(False, "no key")) is None
    assert unmetered(accepted, "gemini-acp", route=RouteChoice(False)) is None
    assert unmetered(accepted, "gemini", route=RouteChoice(False)) is not None  # the CLI


class _Budgets:
    """Which callers a hard budget covers, and which vendors the gateway holds a key for."""

    def __init__(self, covered: bool = True, keyed: tuple[str, ...] = ("anthropic",)) -> None:
        self.covered, self.keyed = covered, keyed

    def covers(self, principal: str, caller: str, project: str | None) -> bool:
        return self.covered

    async def has_key(self, provider: str, project: str | None) -> bool:
        return provider in self.keyed


def _callbacks(budgets: _Budgets, url: str = "http://127.0.0.1:1") -> AgentCallbacks:
    callbacks = AgentCallbacks(ConnectionKeys(), covered=budgets.covers, keyed=budgets.has_key)
    callbacks.url = url
    return callbacks


def _cli(provider: str, model: str | None = None, **more: Any) -> RunFor:
    return RunFor(provider, model, "local", LOCAL_CALLER, "lane", None, **more)


async def test_under_a_hard_budget_a_cli_is_routed_on_the_gateways_key_for_its_vendor() -> None:
    every = _Budgets(keyed=("anthropic", "openai", "google"))
    for provider, model in (
        ("claude", None),
        ("codex", "gpt-5.5"),
        ("gemini", "gemini-2.5-flash"),
        ("opencode", "anthropic/claude-sonnet-4-5"),
        ("opencode", "openai/gpt-5"),
        ("opencode", None),  # its default: only the providers the gateway has a key for
    ):
        choice = await _callbacks(every).choose(_cli(provider, model))
        assert choice.routed and choice.vendors == ("anthropic", "openai", "google"), provider
    # Without a hard budget covering the call, the CLI's own login, as set up.
    assert await _callbacks(_Budgets(covered=False)).choose(_cli("claude")) == RouteChoice(False)


async def test_a_cli_the_gateway_cannot_route_says_why() -> None:
    every = _Budgets(keyed=("anthropic", "openai", "google"))
    cases = [
        (_Budgets(), _cli("codex", "gpt-5.5"), "no openai key"),
        (_Budgets(keyed=()), _cli("opencode"), "a key for none"),
        (every, _cli("opencode", "openrouter/some-model"), "'openrouter'"),
        (every, _cli("grok", "grok-4"), "no xai key"),
        (every, _cli("copilot"), "cannot point"),
        (every, _cli("gemini", executable="/usr/bin/agy"), "agy cannot be pointed"),
        (every, RunFor("claude", None, "key:remote", None, "lane", None), "no credential"),
    ]
    for budgets, run, words in cases:
        choice = await _callbacks(budgets).choose(run)
        assert not choice.routed and words in (choice.why_not or ""), (run, choice)
    closed = await _callbacks(every, url="").choose(_cli("claude"))
    assert not closed.routed and "door is not open" in (closed.why_not or "")


async def test_a_jobs_key_counts_on_its_project_and_hears_its_calls_refused() -> None:
    keys = ConnectionKeys()
    callbacks = AgentCallbacks(keys, covered=_Budgets().covers, keyed=_Budgets().has_key)
    callbacks.url = "http://127.0.0.1:1"
    run = RunFor("claude", None, "local", LOCAL_CALLER, "lane", "shop")
    choice = await callbacks.choose(run)
    with callbacks.opened(run, choice) as back:
        assert back is not None
        proven = keys.verify(back.key)
        assert proven is not None and proven.project == "shop" and proven.caller == "lane"
        other = ProviderFailure("no", code=ErrorCode.PROVIDER_ERROR)
        callbacks.refused(proven, other)
        assert back.refused is None  # only a budget's refusal ends the job
        refusal = ProviderFailure("used up", code=ErrorCode.BUDGET_EXCEEDED)
        callbacks.refused(proven, refusal)
        assert back.refused is refusal
    assert keys.verify(back.key) is None  # revoked when the job's runs end


async def test_an_acp_agent_is_routed_wherever_it_can_be_as_before() -> None:
    callbacks = _callbacks(_Budgets(covered=False), url="")
    editor = AcpPeer(ask=_never_asked, update=_no_update, gateway_url="http://127.0.0.1:1")
    no_door = AcpPeer(ask=_never_asked, update=_no_update)
    for agent, peer, routed in (
        ("codex-acp", editor, True),
        ("opencode-acp", editor, False),  # no row: its endpoint is in its own config
        ("codex-acp", no_door, False),
    ):
        choice = await callbacks.choose(_cli(agent, peer=peer, acp=True))
        assert choice.routed is routed, agent
    # From any other door once the gateway's door is bound, as the caller it stands for.
    local = _cli("claude-acp", acp=True)
    assert not (await callbacks.choose(local)).routed
    callbacks.url = "http://127.0.0.1:1"
    assert (await callbacks.choose(local)).routed
    nobody = RunFor("claude-acp", None, "key:remote", None, "lane", None, acp=True)
    assert "no credential" in ((await callbacks.choose(nobody)).why_not or "")
    assert not (await callbacks.choose(_cli("opencode-acp", acp=True))).routed


async def _never_asked(_question: Any) -> bool:
    raise AssertionError("not asked")


async def _no_update(_update: Any) -> None:
    return None
