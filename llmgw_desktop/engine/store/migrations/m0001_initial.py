"""Schema 1: store metadata and the jobs table.

Every row that belongs to a caller carries `owner_principal`, decided at the edge (`local` for
stdio and the desktop, the token or OAuth client otherwise), so isolation never needs a backfill.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE jobs (
        id              TEXT PRIMARY KEY,
        owner_principal TEXT NOT NULL,
        provider        TEXT NOT NULL,
        state           TEXT NOT NULL,
        request_json    TEXT NOT NULL,
        dedup_key       TEXT,
        correlation_id  TEXT,
        session_id      TEXT,
        output          TEXT NOT NULL DEFAULT '',
        result_json     TEXT,
        error_json      TEXT,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL,
        started_at      REAL,
        finished_at     REAL
    )
    """,
    "CREATE INDEX jobs_owner_created ON jobs (owner_principal, created_at)",
    "CREATE INDEX jobs_dedup ON jobs (dedup_key, created_at)",
    "CREATE INDEX jobs_state ON jobs (state)",
    "CREATE INDEX jobs_correlation ON jobs (owner_principal, correlation_id)",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
