"""Schema 23: a recorder row says why its target was tried.

`chosen_because` is the reason the route put the attempt's target where it was: its strategy's
choice ("weighted: 3 of 5 shares", "lowest-latency: 210 ms (...)"), a pin, the small-request
rule, the model's owner, a fallback, or a cool-down that moved it behind the others
(`engine/gateway/balancing/`). NULL: a row made before this schema, or not by a route (a job's
CLI call, a cache hit).
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = ("ALTER TABLE requests ADD COLUMN chosen_because TEXT",)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
