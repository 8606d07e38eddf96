"""Schema 10: the session a call continues by default is chosen per caller, not per principal.

Before, `sessions.active` marked one session per principal and provider, so after one agent's
`session_create` every other agent of the same user (and the HTTP bridge) silently continued
that conversation. `active_sessions` keeps, for each principal, caller (the MCP client's own
name, or `X-Caller`) and provider, the session its calls without a `sessionId` continue.

The old marks cannot say which caller set them, so they are not carried over (a caller's next
call starts a fresh conversation until it names a session or makes one active again), and the
`sessions.active` column is no longer read.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE active_sessions (
        owner_principal TEXT NOT NULL,
        caller          TEXT NOT NULL,
        provider        TEXT NOT NULL,
        session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        set_at          REAL NOT NULL,
        PRIMARY KEY (owner_principal, caller, provider)
    )
    """,
    "CREATE INDEX active_sessions_session ON active_sessions (session_id)",
    "UPDATE sessions SET active = 0",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
