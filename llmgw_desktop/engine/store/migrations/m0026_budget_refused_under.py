"""Schema 26: a hard budget's lane remembers that it refused a call for too little left.

Calls are held at what they may cost, so a hard budget refuses calls with its spend short of
its limit. `refused_under` is the hard limit in force when a call on the lane was refused so
(NULL: none this period): while the budget's limit is no higher, the lane is refusing, and the
desk says so after a restart and in every process sharing the store, not only in the process
that refused, until its next refusal.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = ("ALTER TABLE budget_spend ADD COLUMN refused_under REAL",)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
