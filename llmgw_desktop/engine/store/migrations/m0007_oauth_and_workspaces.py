"""Schema 7: the OAuth server's clients, codes and tokens, and workspaces created by tools.

Codes and tokens are kept as SHA-256 digests, never in clear, so tokens survive a restart and
a copy of the database grants nothing. Refresh tokens of one grant share a `family_id`: a
rotated token presented again revokes the whole family (reuse detection). Workspaces here are
the ones minted through the workspace tools, stamped with the principal that made them; the
operator's own registry stays in config.toml.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE oauth_clients (
        client_id          TEXT PRIMARY KEY,
        secret_digest      TEXT,
        name               TEXT NOT NULL DEFAULT '',
        redirect_uris_json TEXT NOT NULL,
        scopes             TEXT NOT NULL,
        public             INTEGER NOT NULL DEFAULT 0,
        registered_by      TEXT NOT NULL,
        created_at         REAL NOT NULL,
        metadata_json      TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE TABLE oauth_codes (
        code_digest           TEXT PRIMARY KEY,
        client_id             TEXT NOT NULL,
        redirect_uri          TEXT NOT NULL,
        redirect_uri_explicit INTEGER NOT NULL,
        scopes                TEXT NOT NULL,
        code_challenge        TEXT,
        code_challenge_method TEXT,
        resource              TEXT,
        created_at            REAL NOT NULL,
        expires_at            REAL NOT NULL,
        used_at               REAL
    )
    """,
    """
    CREATE TABLE oauth_tokens (
        token_digest TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        client_id    TEXT NOT NULL,
        scopes       TEXT NOT NULL,
        family_id    TEXT NOT NULL,
        resource     TEXT,
        created_at   REAL NOT NULL,
        expires_at   REAL NOT NULL,
        rotated_at   REAL,
        revoked_at   REAL
    )
    """,
    "CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id)",
    "CREATE INDEX oauth_tokens_client ON oauth_tokens (client_id, kind)",
    "CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at)",
    """
    CREATE TABLE workspaces (
        name            TEXT PRIMARY KEY,
        path            TEXT NOT NULL,
        owner_principal TEXT NOT NULL,
        origin          TEXT NOT NULL,
        created_at      REAL NOT NULL
    )
    """,
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
