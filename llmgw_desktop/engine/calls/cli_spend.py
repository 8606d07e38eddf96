"""What a coding CLI's job holds against hard budgets, when it is counted at the upstream
instead, and what a run that ended without its usage is counted at.

Under a hard budget a CLI's job is counted where the money is spent: its model calls are
pointed back at the gateway (Claude Code, Codex, Gemini CLI and OpenCode, from the one table of
`providers/acp/gateway_env.py`; every ACP agent the gateway can point, budget or none), each
call held and counted on its own row as it is made, so the budget is never passed by a call the
CLI had sent before its last one was counted; the job itself holds nothing. The gateway's key
for the CLI's vendor pays (`auth/agent_callbacks.py` chooses). A job that cannot be routed so
(a CLI the gateway cannot point, its own settings choosing another route, no key for its
vendor, no door) is refused before anything is spawned (`unmetered`), unless the operator
accepted that the CLI may pass a hard budget (`providers.unmetered_clis`).

A CLI the operator accepts runs on its own login, as before, held as one call: at its model's
price and maximum output (`budgets/holds.py`; a CLI that reports its own cost, Claude Code,
called with no model or with an alias the price table does not know, at the dearest model of
its family, `ProviderInfo.model_family`, `PriceBook.dearest`). One that can stop itself at a
spend (Claude Code's `--max-budget-usd`) is told the dollars its hold paid for (`cap_usd`) and
stops at the first turn past them; OpenCode is stopped by the gateway once the step costs it
prints reach them (`providers/invoke.py`), which it reads only after it has sent its next call.

A held job that ends without the CLI's usage (cancelled, stopped, timed out, killed, failed)
ran the CLI, which called the vendor until then: its row is counted at what was held for it,
and says its cost is estimated; a CLI that said what its failed run cost (Claude Code's error
result carries `total_cost_usd`) is counted at that instead. A call whose CLI never started
counts nothing, and a routed job (`CliSpend.routed`) is counted by its model calls' own rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmgw_desktop.config.cli_catalog import ProviderInfo
from llmgw_desktop.config.provider_catalog import ProviderCatalog
from llmgw_desktop.engine.auth.agent_callbacks import AgentCallbacks, RouteChoice, RunFor
from llmgw_desktop.engine.budgets.holds import ESTIMATED_OUTPUT_TOKENS, CallAsk, Hold
from llmgw_desktop.engine.calls.params import RequestMeta
from llmgw_desktop.engine.errors import EngineError
from llmgw_desktop.engine.tokens.estimate import CHARS_PER_TOKEN
from llmgw_desktop.engine.tokens.price_book import PriceBook
from llmgw_desktop.engine.tokens.pricing import COST_ESTIMATED, COST_FROM_CLI, CostBasis

__all__ = ["CliSpend", "cli_ask", "cli_cost_basis", "run_for", "unmetered"]


def cli_ask(info: ProviderInfo, model: str | None, prompt: str, prices: PriceBook) -> CallAsk:
    """What a call of the CLI `info` asks of its budgets: its prompt, and its model's maximum
    output at its price (an unpriced model of a CLI that reports its cost: its family's
    dearest)."""
    priced_as = model
    if prices.price_of(model) is None:
        priced_as = prices.dearest(info.model_family, model, ESTIMATED_OUTPUT_TOKENS) or model
    return CallAsk(
        priced_as,
        len(prompt) // CHARS_PER_TOKEN,
        None,
        default_output=prices.max_output_of(priced_as) or ESTIMATED_OUTPUT_TOKENS,
        price=prices.price_of(priced_as),
        can_limit=False,
    )


def run_for(
    callbacks: AgentCallbacks,
    catalog: ProviderCatalog,
    provider: str,
    model: str | None,
    principal: str,
    meta: RequestMeta,
    executable: str | None = None,
) -> RunFor:
    """A call of `provider` as `AgentCallbacks.choose` looks at it (`executable`: the program
    that will run, once located)."""
    return RunFor(
        provider,
        model,
        principal,
        callbacks.principal_of(principal, meta.proven),
        meta.caller,
        meta.project,
        meta.acp_peer,
        acp=catalog.info(provider).speaks_acp,
        executable=executable,
        accepted=provider in catalog.unmetered_accepted,
    )


def cli_cost_basis(
    provider: str, model: str | None, prices: PriceBook, *, routed: bool
) -> CostBasis:
    """How a CLI job's dollar cost will be known: a `routed` agent's on its model calls' own
    rows, each priced (and held) as the gateway routes it; any other's as `CostBasis.cli`."""
    if routed:
        return CostBasis(provider, model or None, True, "cli")
    return CostBasis.cli(provider, model, prices)


def unmetered(catalog: ProviderCatalog, provider: str, *, route: RouteChoice) -> str | None:
    """Why a job of `provider` could not be counted as it runs under a hard budget (a clause
    naming the CLI, for the refusal), or None where it can: its model calls come back through
    the gateway, each held and counted on its own (`route`, `auth/agent_callbacks.py`), or the
    operator accepted it (`providers.unmetered_clis`)."""
    if provider in catalog.unmetered_accepted or route.routed:
        return None
    info = catalog.info(provider)
    why = route.why_not or "the gateway cannot point its model calls at itself"
    return (
        f"{info.display_name}'s model calls would not come back through the gateway, where each "
        f"is held and counted as it is made ({why}), and what it prints of its own spending "
        "is read only after it has sent its next call"
    )


@dataclass
class CliSpend:
    """One job's hold and whether its CLI ran: what its row counts if it ends without usage."""

    ask: CallAsk | None = None
    hold: Hold = field(default_factory=Hold)
    # A CLI process of the call started (the vendor may have been called).
    started: bool = False
    # One of the current attempt's: an attempt that may have spent is not tried again.
    attempt_started: bool = False
    # Its model calls came back through the gateway, each counted on a row of its own.
    routed: bool = False

    @property
    def cap_usd(self) -> float | None:
        """The dollars the hold paid for, which a CLI that can stop itself at a spend is
        told (None: no hard budget held the call, or its model has no price); under a hard
        token budget no more than its held tokens at the cheapest kind the model bills.

        A token budget counts every token alike, but the CLI's stop counts dollars, and a turn
        of a coding CLI mostly reads its context back from the cache, at a tenth of the input
        price: told the held tokens' price at input and output rates, one job used seventeen
        times the tokens it held (SECURITY 71). Spending no more than the held tokens at the
        cheapest rate, it cannot have used more tokens than were held."""
        if self.ask is None or self.ask.price is None or not self.hold.output_tokens:
            return None
        held = self.ask.cost(self.hold.output_tokens)
        if not self.hold.counts_tokens:
            return held.usd
        return min(held.usd, round(held.tokens * self.ask.price.cheapest / 1_000_000, 8))

    def may_retry(self, error: EngineError) -> bool:
        """Whether the attempt that failed with `error` may be tried again on this hold.

        The hold is for one run, and each attempt is told all of it: under a hard budget an
        attempt whose CLI started is tried again only where the CLI said it cost nothing (the
        vendor refused its first call), else a model that made the CLI fail with words that
        read as transient had the job spend its hold once per attempt (SECURITY 72)."""
        if self.ask is None or not self.hold.output_tokens or self.routed:
            return True
        return not self.attempt_started or _told_cost(error) == 0

    def unreported(self, error: EngineError | None = None) -> dict[str, Any]:
        """The recorder fields of a run that ended without the CLI's usage (`error`: how it
        failed, where the CLI may have said its cost), with `cost_source` (how the cost was
        found); empty where nothing is counted."""
        if self.ask is None or not self.hold.output_tokens or not self.started or self.routed:
            return {}
        told = _told_cost(error)
        if told is not None:
            return {"cost_usd": told, "cost_source": COST_FROM_CLI}
        estimate = self.ask.cost(self.hold.output_tokens)
        return {
            "input_tokens": self.ask.input_tokens,
            "output_tokens": self.hold.output_tokens,
            "cost_usd": estimate.usd if self.ask.price is not None else None,
            "cost_source": COST_ESTIMATED,
        }


def _told_cost(error: EngineError | None) -> float | None:
    """What the CLI said its failed run cost (Claude Code's error result), None where unsaid."""
    told = error.details.get("cost_usd") if error is not None else None
    if isinstance(told, int | float) and not isinstance(told, bool) and told >= 0:
        return float(told)
    return None
