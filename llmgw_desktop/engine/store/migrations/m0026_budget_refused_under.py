"""Schema 26: a hard budget's lane remembers that it refuses calls.

Calls are held at what they may cost, so a hard budget refuses calls with its spend short of
its limit, once even the smallest call (no input, the least output a call is sent) would not
fit. `refused_under` is the hard limit in force when the lane refused so (NULL: not this
period): while the budget's limit is no higher, the lane is refusing, and the desk says so
after a restart and in every process sharing the store, not only in the one that refused.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = ("ALTER TABLE budget_spend ADD COLUMN refused_under REAL",)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
