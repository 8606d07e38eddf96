"""Schema 16: gateway keys, each one a principal of its own (`engine/auth/gateway_keys.py`).

A key is stored as the SHA-256 of its secret (the secret is shown once, at creation) and the
last characters kept in clear for a person to recognise it. A rotation is a new row under the
same name, so the principal (and its spend, recorder rows and budget) carries on, while the old
row is revoked at once or after a grace. The name index serves the lists and the "one live key
per name" check; the digest is what every request looks up.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE gateway_keys (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        digest        TEXT NOT NULL UNIQUE,
        shown         TEXT NOT NULL,
        scopes_json   TEXT NOT NULL,
        budget_usd    REAL,
        budget_period TEXT,
        per_minute    INTEGER,
        expires_at    REAL,
        revoked_at    REAL,
        created_at    REAL NOT NULL,
        created_by    TEXT NOT NULL,
        last_used_at  REAL,
        replaced_by   TEXT
    )
    """,
    "CREATE INDEX gateway_keys_name ON gateway_keys (name, created_at)",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
