"""Schema 12: gateway processes hold leases, and each job and recorder row names its process.

Several gateway processes may share one PostgreSQL store. A job lives in the memory of the
process that runs its CLI; when that process dies, its jobs would stay `running` forever. Each
process now registers a lease (`process_leases`: an id made when its engine is built, its host
and pid for the logs, when it started and until when it is alive) and renews it; a survivor
that finds a lease expired marks the dead process's unfinished jobs, and its recorder rows
still `started`, interrupted (`engine/jobs/leases.py`).

`jobs.owner_process` and `requests.owner_process` name the process (NULL: written before this
schema); `jobs.cancel_requested` (0/1) is how a cancel sent to another process reaches the
owner, which polls its own flagged jobs every second. The indexes serve the reaper (unfinished
jobs by owner) and that poll (flagged jobs by owner, a partial index: flags are rare).
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE process_leases (
        id          TEXT PRIMARY KEY,
        host        TEXT NOT NULL,
        pid         INTEGER NOT NULL,
        started_at  REAL NOT NULL,
        expires_at  REAL NOT NULL
    )
    """,
    "CREATE INDEX process_leases_expires ON process_leases (expires_at)",
    "ALTER TABLE jobs ADD COLUMN owner_process TEXT",
    "ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX jobs_state_owner ON jobs (state, owner_process)",
    "CREATE INDEX jobs_cancel_requested ON jobs (owner_process) WHERE cancel_requested = 1",
    "ALTER TABLE requests ADD COLUMN owner_process TEXT",
    # Only open rows are ever looked up by owner (the reaper), so only they are indexed.
    "CREATE INDEX requests_started_owner ON requests (owner_process) WHERE state = 'started'",
)

# The same schema; PostgreSQL spells the column types of the same range its own way.
POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
