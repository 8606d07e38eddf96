"""Schema 14: the Flight recorder's error code, HTTP status and project filters get indexes.

The page filters by them since the dashboard showed failures, but schema 8 indexed
only provider, model, state, caller and principal, so these three walked the time index: a
project nobody has read the whole table (69 ms at 200,000 rows on SQLite, about 0.3 s a page
expected at a million). Each index ends in `started_at`, as schema 8's do, so a filtered page
comes out of the index in time order and a filtered count reads one index range. The per-agent
view groups by project too.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    "CREATE INDEX requests_error_code_started ON requests (error_code, started_at)",
    "CREATE INDEX requests_http_status_started ON requests (http_status, started_at)",
    "CREATE INDEX requests_project_started ON requests (project, started_at)",
)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
