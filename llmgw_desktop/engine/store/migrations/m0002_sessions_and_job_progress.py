"""Schema 2: conversation sessions, and job progress and attempt counts.

Sessions hold ids and metadata only, never conversation content: the CLI keeps the
conversation; the gateway remembers which CLI session a gateway session maps to.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE sessions (
        id                  TEXT PRIMARY KEY,
        owner_principal     TEXT NOT NULL,
        provider            TEXT NOT NULL,
        provider_session_id TEXT,
        title               TEXT NOT NULL DEFAULT '',
        active              INTEGER NOT NULL DEFAULT 0,
        metadata_json       TEXT NOT NULL DEFAULT '{}',
        created_at          REAL NOT NULL,
        updated_at          REAL NOT NULL,
        last_used_at        REAL
    )
    """,
    "CREATE INDEX sessions_owner_provider ON sessions (owner_principal, provider)",
    "ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN progress_json TEXT NOT NULL DEFAULT '{}'",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
