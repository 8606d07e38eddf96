"""Schema 25: a gateway key's lent secret says whose it is.

`lent_from` is the id of the key a short-lived secret was lent from (`keys lend`, Claude Code's
`apiKeyHelper` asks for one every few minutes); NULL for a key of its own. The lists show keys
of their own only, a lend finds the key it lends from among those, and the spent loans of a
name are deleted as the next is made, so a day of Claude Code leaves one row, not hundreds.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = ("ALTER TABLE gateway_keys ADD COLUMN lent_from TEXT",)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
