"""Schema 8: the flight recorder stays quick to browse and search at a million rows.

The dashboard lists recorder rows newest first, under filters and a search box. Two additions
serve it:

- One index per filter column, each ending in `started_at`. Under an equality filter the rows
  then come out of the index already in time order, so a filtered page reads a few hundred
  index entries instead of sorting every match, and a filtered count reads one index range.
- `requests_fts`, a contentless FTS5 index over each row's text columns: names, codes, ids
  and the approval and route JSON. Rows hold no prompt or answer text (schema 4) and neither
  does this index. Contentless means it keeps only the index, not a second copy of the text;
  its rowid is the request row's rowid, and no per-row sizes are kept (`columnsize=0`: there
  is no ranking).

Keeping the index in step: triggers note every insert, update and delete of a row in
`requests_fts_pending` (the rowid, and for a row already indexed the text it was indexed
with, since a contentless index deletes an entry by being told its text). Once 256 rows are
noted, a trigger indexes them all in one go (`CATCH_UP`), and a search does the same first
for the few still noted, so searches always see every row. The catching up runs in BEFORE
triggers and the noting in AFTER ones, so a row's note always follows any catching up in the
same write, and records the text the index really holds. Why not index each row in its own
trigger: FTS5 writes its pending terms out at every statement boundary, and the recorder
writes one statement per row, so per-row indexing cost ten times the write it rode on;
batched, it costs about what the row's own indexes cost. Every writer (the recorder's flush,
pruning, a bulk import) stays right without knowing the index exists.

On PostgreSQL the same text goes into `requests.search_vector`, a generated `tsvector` column
with a GIN index: the server keeps it in step with every write, so nothing is noted or caught
up. The text is cut into words the way FTS5's unicode61 tokenizer cuts it (runs of letters and
digits, lower case) before PostgreSQL's `simple` configuration reads it, so the search box
finds the same rows on both engines (`recorder/search.py`).

The app never runs VACUUM, which may renumber the rowids of a table with a text primary key;
whatever does must rebuild the index afterwards: `INSERT INTO requests_fts (requests_fts)
VALUES ('delete-all')`, empty `requests_fts_pending`, then the backfill below.
"""

# The SQL below is assembled from the names here, never from anything a caller sent.
# Every text the search box finds a row by. Changing this list means a new migration that
# drops and rebuilds the index, its triggers and `CATCH_UP`.
SEARCHED_COLUMNS = (
    "id",
    "provider",
    "model",
    "requested_model",
    "state",
    "caller",
    "owner_principal",
    "transport",
    "tool",
    "project",
    "error_code",
    "http_status",
    "job_id",
    "correlation_id",
    "session_id",
    "provider_session_id",
    "approval_json",
    "route_json",
)
CATCH_UP_AT = 256  # noted rows that make a write index them all


def _text(row: str) -> str:
    """The SQL for one row's searchable text (`row` is `new`, `old` or a table alias)."""
    return " || ' ' || ".join(f"ifnull({row}.{column}, '')" for column in SEARCHED_COLUMNS)


# Index every noted row: drop what it was indexed as, index it as it is now (unless it was
# deleted), forget the notes. Run by the triggers below and by searches.
CATCH_UP = (
    "INSERT INTO requests_fts (requests_fts, rowid, body)"
    " SELECT 'delete', request_rowid, indexed_text FROM requests_fts_pending"
    " WHERE indexed_text IS NOT NULL",
    f"INSERT INTO requests_fts (rowid, body) SELECT r.rowid, {_text('r')}"  # noqa: S608
    " FROM requests_fts_pending p JOIN requests r ON r.rowid = p.request_rowid",
    "DELETE FROM requests_fts_pending",
)
_CATCH_UP_BODY = ";\n".join(CATCH_UP) + ";"
_NOTE = "INSERT OR IGNORE INTO requests_fts_pending (request_rowid, indexed_text) VALUES"
_WHEN_FULL = f"(SELECT count(*) FROM requests_fts_pending) >= {CATCH_UP_AT}"  # noqa: S608
_TEXT_COLUMNS = ", ".join(SEARCHED_COLUMNS)
_TEXT_CHANGED = f"({_text('old')}) IS NOT ({_text('new')})"

STATEMENTS = (
    "CREATE INDEX requests_provider_started ON requests (provider, started_at)",
    "CREATE INDEX requests_model_started ON requests (model, started_at)",
    "CREATE INDEX requests_state_started ON requests (state, started_at)",
    "CREATE INDEX requests_caller_started ON requests (caller, started_at)",
    "CREATE INDEX requests_owner_started ON requests (owner_principal, started_at)",
    "CREATE VIRTUAL TABLE requests_fts USING fts5(body, content='', columnsize=0)",
    # A row noted once keeps its first note: the text it was indexed with (NULL: not yet).
    "CREATE TABLE requests_fts_pending ( request_rowid INTEGER PRIMARY KEY, indexed_text TEXT)",
    f"INSERT INTO requests_fts (rowid, body) SELECT rowid, {_text('requests')} FROM requests",  # noqa: S608
    f"""
    CREATE TRIGGER requests_fts_note_insert AFTER INSERT ON requests BEGIN
        {_NOTE} (new.rowid, NULL);
    END
    """,
    f"""
    CREATE TRIGGER requests_fts_note_update AFTER UPDATE OF {_TEXT_COLUMNS} ON requests
    WHEN {_TEXT_CHANGED} BEGIN
        {_NOTE} (old.rowid, {_text("old")});
    END
    """,
    f"""
    CREATE TRIGGER requests_fts_note_delete AFTER DELETE ON requests BEGIN
        {_NOTE} (old.rowid, {_text("old")});
    END
    """,
    f"""
    CREATE TRIGGER requests_fts_catch_up_insert BEFORE INSERT ON requests
    WHEN {_WHEN_FULL} BEGIN
        {_CATCH_UP_BODY}
    END
    """,
    f"""
    CREATE TRIGGER requests_fts_catch_up_update BEFORE UPDATE OF {_TEXT_COLUMNS} ON requests
    WHEN {_WHEN_FULL} BEGIN
        {_CATCH_UP_BODY}
    END
    """,
    f"""
    CREATE TRIGGER requests_fts_catch_up_delete BEFORE DELETE ON requests
    WHEN {_WHEN_FULL} BEGIN
        {_CATCH_UP_BODY}
    END
    """,
)

# The searched text of a row as PostgreSQL indexes it: every column, words split at anything
# but a letter or digit, so its parser sees plain words only (a URL or a path in the route
# JSON would otherwise be one token, where FTS5 sees its words).
_POSTGRESQL_TEXT = " || ' ' || ".join(
    f"coalesce({column}::text, '')" for column in SEARCHED_COLUMNS
)
POSTGRESQL_SEARCH_VECTOR = (
    "to_tsvector('simple'::regconfig,"
    f" regexp_replace(lower({_POSTGRESQL_TEXT}), '[^[:alnum:]]+', ' ', 'g'))"
)

POSTGRESQL_STATEMENTS = (
    *STATEMENTS[:5],
    "ALTER TABLE requests ADD COLUMN search_vector tsvector"
    f" GENERATED ALWAYS AS ({POSTGRESQL_SEARCH_VECTOR}) STORED",
    "CREATE INDEX requests_search ON requests USING gin (search_vector)",
)
