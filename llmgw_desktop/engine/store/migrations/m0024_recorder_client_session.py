"""Schema 24: a recorder row keeps the session its client named.

`client_session` is the id a coding tool sends with every request of one of its sessions, so a
gateway can group a session's requests, tokens and cost without reading bodies: Claude Code's
`X-Claude-Code-Session-Id`, Codex's `session-id` (`transports/gateway/callers.py`). NULL: a
client that names none, or a row made before this schema. It is not the gateway's own
`session_id` (a conversation a CLI model continues).

Its index holds only the rows that have one (as schema 21's on SQLite; PostgreSQL takes the
same clause): a session's rows are read by its id, newest first.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    "ALTER TABLE requests ADD COLUMN client_session TEXT",
    "CREATE INDEX requests_client_session ON requests (client_session, started_at)"
    " WHERE client_session IS NOT NULL",
)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
