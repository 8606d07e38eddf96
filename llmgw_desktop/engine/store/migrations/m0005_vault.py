"""Schema 5: the credential vault, API keys and auth files sealed with AES-256-GCM.

`sealed` is base64 of nonce and ciphertext; the plaintext never reaches the database. Records
belong to the operator, not to a caller, so they carry a project scope (`_global` for all
projects) instead of `owner_principal`. The key check that detects a wrong master key lives in
`store_meta` (`vault.key_check`).
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE vault_keys (
        id          TEXT PRIMARY KEY,
        provider    TEXT NOT NULL,
        key_name    TEXT NOT NULL,
        project     TEXT NOT NULL,
        sealed      TEXT NOT NULL,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL,
        UNIQUE (provider, key_name, project)
    )
    """,
    """
    CREATE TABLE vault_files (
        id          TEXT PRIMARY KEY,
        provider    TEXT NOT NULL,
        file_name   TEXT NOT NULL,
        project     TEXT NOT NULL,
        sealed      TEXT NOT NULL,
        size        INTEGER NOT NULL,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL,
        UNIQUE (provider, file_name, project)
    )
    """,
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
