"""Schema 4: the flight recorder, one row per provider request from any front door.

Tokens, costs, hashes and decisions only; prompt and answer text stay in the job store (masked),
never here. `prefix_hash` identifies a prompt's stable prefix so cache effectiveness can be
measured per prefix without keeping the prefix.
"""

STATEMENTS = (
    """
    CREATE TABLE requests (
        id                  TEXT PRIMARY KEY,
        started_at          REAL NOT NULL,
        finished_at         REAL,
        duration_ms         REAL,
        owner_principal     TEXT NOT NULL,
        caller              TEXT NOT NULL DEFAULT '',
        transport           TEXT NOT NULL DEFAULT '',
        tool                TEXT NOT NULL DEFAULT '',
        provider            TEXT NOT NULL,
        model               TEXT,
        state               TEXT NOT NULL,
        job_id              TEXT,
        correlation_id      TEXT,
        session_id          TEXT,
        provider_session_id TEXT,
        error_code          TEXT,
        exit_code           INTEGER,
        http_status         INTEGER,
        attempts            INTEGER NOT NULL DEFAULT 0,
        input_tokens        INTEGER NOT NULL DEFAULT 0,
        output_tokens       INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens   INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
        cost_usd            REAL,
        prefix_hash         TEXT,
        prefix_tokens       INTEGER,
        approval_json       TEXT,
        optimization_json   TEXT
    )
    """,
    "CREATE INDEX requests_started ON requests (started_at)",
    "CREATE INDEX requests_owner_correlation ON requests (owner_principal, correlation_id)",
    "CREATE INDEX requests_prefix ON requests (prefix_hash, started_at)",
    "CREATE INDEX requests_provider_session ON requests (provider, provider_session_id)",
    "CREATE INDEX requests_session ON requests (session_id)",
    "CREATE INDEX requests_job ON requests (job_id)",
)
