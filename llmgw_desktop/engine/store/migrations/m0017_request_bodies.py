"""Schema 17: the request and response bodies a person chose to keep (`recorder.capture`).

Off by default, so the table stays empty unless a provider, agent or project is named. A row
per recorder row (`record_id`, the `requests` row it belongs to), apart from that table so its
pages, counts and search never read the texts. Each text is redacted and cut to
`recorder.capture.max_body_bytes` before it is written (`*_cut`: how many characters were cut).
`kept_at` is what the prune compares with `recorder.capture.retention_hours`; `owner_principal`
is the requests row's, so a read for one principal never sees another's.
"""

from llmgw_desktop.engine.store.migrations.postgresql_types import postgresql_types

STATEMENTS = (
    """
    CREATE TABLE request_bodies (
        record_id        TEXT PRIMARY KEY,
        owner_principal  TEXT NOT NULL,
        kept_at          REAL NOT NULL,
        dialect          TEXT NOT NULL,
        endpoint         TEXT NOT NULL,
        stream           INTEGER NOT NULL DEFAULT 0,
        headers_json     TEXT NOT NULL DEFAULT '{}',
        request          TEXT NOT NULL,
        request_cut      INTEGER NOT NULL DEFAULT 0,
        response         TEXT NOT NULL,
        response_cut     INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX request_bodies_kept_at ON request_bodies (kept_at)",
)

POSTGRESQL_STATEMENTS = postgresql_types(STATEMENTS)
