"""Whether a call's dollar cost will be known, decided before it runs.

A hard dollar budget is only a limit if every call it covers is counted in dollars. A call whose
model the price table does not know costs None (`tokens/pricing.py`), which adds nothing to a
dollar total, so without this check a caller could spend without bound by naming such a model.
The ledger therefore refuses, under a hard dollar budget, a call whose cost cannot be known:

- an upstream API call is priced when the table knows the model it is sent with;
- a CLI call is priced when the CLI reports its own cost for the turn (`ProviderInfo.
  reports_cost`: Claude Code's `total_cost_usd`), whatever the model,
  or else when the call names a model the table knows. A call that names no model runs on the
  CLI's own default, which the gateway cannot see before the run (it lives in the CLI's config
  and changes with its version), so it is not priced: naming the model is the honest fix.

Soft budgets and token budgets never refuse on this: tokens are counted for every call.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmgw_desktop.engine.tokens.pricing import price_of

__all__ = ["CostBasis"]


@dataclass(frozen=True)
class CostBasis:
    """What a call will be charged on, as far as it is known before the call."""

    provider: str
    model: str | None  # the model the call names; None: the CLI's own default
    priced: bool  # its dollar cost will be known when it finishes
    kind: str = "api"  # "api" (an upstream API) or "cli"

    @classmethod
    def api(cls, provider: str, model: str | None) -> CostBasis:
        """An upstream API call: priced when the price table knows `model`."""
        return cls(provider, model or None, price_of(model) is not None)

    @classmethod
    def cli(cls, provider: str, model: str | None, *, reports_cost: bool) -> CostBasis:
        """A CLI call: priced when the CLI reports its own cost, else as its named model."""
        named = model or None
        priced = reports_cost or (named is not None and price_of(named) is not None)
        return cls(provider, named, priced, "cli")

    def unpriced_reason(self) -> str:
        """Why the cost cannot be known, for the refusal's message."""
        if self.model is None:
            return (
                f"the call names no model, so {self.provider} would run its own default model, "
                "which the gateway cannot price before the call"
            )
        return f"the model {self.model!r} ({self.provider}) is not in the gateway's price table"
