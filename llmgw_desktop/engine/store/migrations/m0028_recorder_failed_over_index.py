"""Schema 28: an index of the recorder's attempts that failed over (schema 27).

The Flight recorder's "Unanswered only" counts the requests that ended without an answer less
the attempts that failed over (`engine/recorder/attempts.py`). The first count reads the
(state, started_at) index alone; the second reads this one, which holds only the rows marked
`failed_over` (a failed attempt of a request that went on: a few in a million rows), so the
count never walks the failures' rows to look at their mark. PostgreSQL takes the same clause.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    "CREATE INDEX requests_failed_over_started ON requests (state, started_at)"
    " WHERE failed_over = 1",
)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
