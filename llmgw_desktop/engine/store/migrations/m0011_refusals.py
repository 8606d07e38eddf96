"""Schema 11: what the gateway refused at its door, counted per minute.

Requests the edge refuses before any route runs (a wrong or missing credential, a rate limit,
a route the principal may not use, a wrong Host or Origin, a body that is not JSON or too big,
an address holding too many connections) never reach the flight recorder: one session saw a
third of its requests vanish that way. They are counted instead of recorded one by one, so a
flood of 10,000 bad tokens costs a few rows, not 10,000: one row per minute, who (the
principal when the edge knew it, else the client's address; never the credential presented),
path group, status and code, with how many.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE refusals (
        minute      INTEGER NOT NULL,
        who         TEXT NOT NULL,
        path_group  TEXT NOT NULL,
        status      INTEGER NOT NULL,
        code        TEXT NOT NULL,
        count       INTEGER NOT NULL,
        PRIMARY KEY (minute, who, path_group, status, code)
    ) WITHOUT ROWID
    """,
)

# `WITHOUT ROWID` is SQLite's way to keep the rows in their primary key's order; PostgreSQL
# has no rowid to leave out.
POSTGRESQL_STATEMENTS = postgresql_types((STATEMENTS[0].replace(") WITHOUT ROWID", ")"),))
