"""Schema 6: the flight recorder keeps each gateway request's route.

`requested_model` is what the client asked for (before aliases and fallback), `project` the
credential scope, `fallback_used` whether something other than the first choice answered, and
`route_json` the attempts made on the way (target, key label, outcome; never a key value).
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    "ALTER TABLE requests ADD COLUMN requested_model TEXT",
    "ALTER TABLE requests ADD COLUMN project TEXT",
    "ALTER TABLE requests ADD COLUMN fallback_used INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE requests ADD COLUMN route_json TEXT",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
