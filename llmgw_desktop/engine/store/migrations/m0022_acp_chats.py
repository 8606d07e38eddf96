"""Schema 22: the chat sessions of `llmgw-desktop acp --model` (`engine/sessions/acp_chats.py`).

An editor reopened after a restart loads its session again (`session/load`); the chat agent
runs in the editor's process, so the conversation is kept here, owned by the principal that
made it. Its turns are the chat's text (secrets masked, images named rather than kept). The
owner index serves the load (by owner and id) and the pruning of an owner's oldest.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE acp_chats (
        id              TEXT PRIMARY KEY,
        owner_principal TEXT NOT NULL,
        model           TEXT NOT NULL,
        cwd             TEXT NOT NULL,
        turns_json      TEXT NOT NULL,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL
    )
    """,
    "CREATE INDEX acp_chats_owner ON acp_chats (owner_principal, updated_at)",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
