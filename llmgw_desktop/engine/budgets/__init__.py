"""Budgets: spending limits per agent, project or everything, per local day or month; a hard
limit is a boundary every gateway process on the store holds.

What a budget is lives in `config/budgets.py`; `definition` is its calendar and amounts in
words. Open `ledger` first: the spend per budget and period, and the checks every call passes
before it runs. A call's way through: `covers` (which budgets and lanes count its spend),
`admission` (the rule it is admitted by), `holds` (what it holds while it runs),
`lane_accounts` (this process's admissions on the lanes, and the settlements it owes the store
afterwards) and `transactions` (what one of those writes).
Hard budgets are counted in the store shared by every process (`lanes`), with room reserved in
memory so a process can admit calls without a round trip (`reserves`).

The desk's side: `service` (each budget's spend, and edits saved to `config.toml`), `refusals`
(a budget as a refused caller reads it), `notices` (soft and hard limits passed, said once per
period) and `spend` (a period's spend read back from the recorder).

Import from the modules: the settings import `definition` alone, without the engine behind the
others.
"""
