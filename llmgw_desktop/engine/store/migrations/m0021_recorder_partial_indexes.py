"""Schema 21: on SQLite, seven of the recorder's indexes hold only the rows that have a value.

A gateway's API request leaves most of its row's ids empty: no job, correlation id, gateway or
provider session, stable-prefix hash, error code or project. Each of their indexes still took an
entry for the empty value of every row inserted, about 3,700 instructions a row each on the
database thread. Every query that reads one of them asks for a value (`job_id = ?`,
`correlation_id = ?`, `IN (...)`, a join on the job's id, `error_code > ?`), which SQLite takes
to mean the column is not NULL, so a partial index `WHERE <column> IS NOT NULL` serves it as
before (`tests/engine/store/test_partial_indexes.py` holds each query's plan). The one read
that asked for no value, the smallest value of a filter box's skip scan
(`recorder/query.py`), now says `IS NOT NULL` as well (it never listed NULL). The indexes keep
their names and columns.

PostgreSQL keeps its indexes as they are: nothing changes there.
"""

# (index, its columns, the column whose value a row must have to be in it)
PARTIAL = (
    ("requests_job", "job_id", "job_id"),
    ("requests_owner_correlation", "owner_principal, correlation_id", "correlation_id"),
    ("requests_session", "session_id", "session_id"),
    ("requests_provider_session", "provider, provider_session_id", "provider_session_id"),
    ("requests_prefix", "prefix_hash, started_at", "prefix_hash"),
    ("requests_error_code_started", "error_code, started_at", "error_code"),
    ("requests_project_started", "project, started_at", "project"),
)

# Assembled from the constants above, never from anything a caller sent.
STATEMENTS = tuple(
    statement
    for name, columns, column in PARTIAL
    for statement in (
        f"DROP INDEX {name}",
        f"CREATE INDEX {name} ON requests ({columns}) WHERE {column} IS NOT NULL",
    )
)

POSTGRESQL_STATEMENTS: tuple[str, ...] = ()
