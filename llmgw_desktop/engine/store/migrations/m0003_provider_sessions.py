"""Schema 3: the CLI conversations the gateway has started or continued.

Claude, Gemini and OpenCode find a conversation only from the directory it ran in, and Codex
and Copilot report usage summed over the whole conversation. So for each CLI session id the
gateway remembers its directory (and whether the gateway created that directory) and the
usage totals it last saw, to resume in the right place and to report each turn's own usage.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE provider_sessions (
        provider            TEXT NOT NULL,
        provider_session_id TEXT NOT NULL,
        owner_principal     TEXT NOT NULL,
        working_dir         TEXT NOT NULL,
        owns_dir            INTEGER NOT NULL DEFAULT 0,
        usage_totals_json   TEXT NOT NULL DEFAULT '{}',
        created_at          REAL NOT NULL,
        last_used_at        REAL NOT NULL,
        PRIMARY KEY (provider, provider_session_id)
    )
    """,
    "CREATE INDEX provider_sessions_owner"
    " ON provider_sessions (owner_principal, provider, last_used_at)",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
