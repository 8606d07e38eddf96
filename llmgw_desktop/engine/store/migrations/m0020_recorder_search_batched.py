"""Schema 20: on SQLite the recorder's search index takes new rows in batches, off their insert.

Schemas 8 and 19 noted every inserted row in `requests_fts_pending` by trigger and indexed the
notes once 256 had gathered, inside whichever insert made the 256th: 97,000 instructions a row
in all on the database thread of `bench/request_instructions.py --requests 2048`.
Now an insert meets no search-index trigger. The index keeps a watermark instead,
`requests_fts_indexed.through`: every row at or below that rowid is indexed (as it was when it
was indexed, or as a note says), none above it is. Catching up (`INDEX_NEW`, run by the
recorder's flush once a batch of rows has gathered, and always first by a search) indexes the
rows above the watermark in one `INSERT ... SELECT` and moves the watermark to the last of them:
43,000 instructions a row in the same bench, in batches of 512, and nothing on the insert.

Updates and deletes keep their notes as schema 8 made them, for the rows the index holds only
(at or below the watermark): a row above it is not in the index, and is indexed as it is when
the watermark passes it. A deleted row's note lets the catch-up delete what it was indexed as,
as before. The one new hazard is a rowid used again: SQLite gives an inserted row one more than
the largest rowid there is, so once the rows at the top are deleted, a new row can take a rowid
at or below the watermark and would never be indexed. So the delete trigger lowers the
watermark when it deletes the row at it, to the highest rowid still there below it: every new
rowid is then above the watermark (the watermark is always a row that is there, or 0). A noted
rowid taken again by a new row is above the lowered watermark: its note drops the old text,
and the new row is indexed once, with the rows above the watermark (`CATCH_UP` re-indexes noted
rows at or below the watermark only).

Whatever changes a row keeps the index right without knowing it exists: the recorder's flush,
closing interrupted rows, pruning, a bulk import. Searches find exactly what they found: a
search catches everything up first, as before. The migration indexes what schema 19 had noted
and starts the watermark at the highest rowid.

PostgreSQL keeps its generated search column: nothing changes there.
"""

# A row's searchable text is schema 8's (`_text`), which the index holds for every row.
from llmgw_desktop.engine.store.migrations.m0008_recorder_search import (
    CATCH_UP as CATCH_UP_SCHEMA_8,
)
from llmgw_desktop.engine.store.migrations.m0008_recorder_search import (
    CATCH_UP_AT,
    SEARCHED_COLUMNS,
    _text,
)

# The SQL below is assembled from the names here, never from anything a caller sent.
_THROUGH = "(SELECT through FROM requests_fts_indexed)"

# Index what was noted: drop what each noted row was indexed as, index the ones still there at
# or below the watermark as they are now (above it: `INDEX_NEW`), forget the notes. Run by the
# update and delete triggers once `CATCH_UP_AT` rows are noted, and by `INDEX_NEW`'s callers.
CATCH_UP = (
    "INSERT INTO requests_fts (requests_fts, rowid, body)"
    " SELECT 'delete', request_rowid, indexed_text FROM requests_fts_pending"
    " WHERE indexed_text IS NOT NULL",
    # CROSS JOIN keeps the few notes the outer loop: from `p.request_rowid <= ...` SQLite
    # would infer `r.rowid <= ...` and walk every indexed row (600 ms at a million rows).
    f"INSERT INTO requests_fts (rowid, body) SELECT r.rowid, {_text('r')}"  # noqa: S608
    " FROM requests_fts_pending p CROSS JOIN requests r ON r.rowid = p.request_rowid"
    f" WHERE p.request_rowid <= {_THROUGH}",
    "DELETE FROM requests_fts_pending",
)
# Index the rows above the watermark, at most `?` of them (a negative number: all), lowest
# first, then move the watermark to the last one indexed. The same `?` twice.
INDEX_NEW = (
    f"INSERT INTO requests_fts (rowid, body) SELECT rowid, {_text('requests')}"  # noqa: S608
    f" FROM requests WHERE rowid > {_THROUGH} ORDER BY rowid LIMIT ?",
    "UPDATE requests_fts_indexed SET through = ifnull((SELECT max(rowid) FROM"
    " (SELECT rowid FROM requests WHERE rowid > through ORDER BY rowid LIMIT ?)), through)",
)

_CATCH_UP_BODY = ";\n".join(CATCH_UP) + ";"
_NOTE = "INSERT OR IGNORE INTO requests_fts_pending (request_rowid, indexed_text) VALUES"
_WHEN_FULL = f"(SELECT count(*) FROM requests_fts_pending) >= {CATCH_UP_AT}"  # noqa: S608
_TEXT_COLUMNS = ", ".join(SEARCHED_COLUMNS)
_TEXT_CHANGED = f"({_text('old')}) IS NOT ({_text('new')})"
_INDEXED = f"old.rowid <= {_THROUGH}"

STATEMENTS = (
    "DROP TRIGGER requests_fts_note_insert",
    "DROP TRIGGER requests_fts_note_update",
    "DROP TRIGGER requests_fts_note_delete",
    "DROP TRIGGER requests_fts_catch_up_update",
    "DROP TRIGGER requests_fts_catch_up_delete",
    # Every row is indexed once schema 19's notes are (its inserts noted every row).
    *CATCH_UP_SCHEMA_8,
    "CREATE TABLE requests_fts_indexed (through INTEGER NOT NULL)",
    "INSERT INTO requests_fts_indexed (through) SELECT ifnull(max(rowid), 0) FROM requests",
    # The cheap test first: a row above the watermark needs no note, whatever changed.
    f"""
    CREATE TRIGGER requests_fts_note_update AFTER UPDATE OF {_TEXT_COLUMNS} ON requests
    WHEN {_INDEXED} AND {_TEXT_CHANGED} BEGIN
        {_NOTE} (old.rowid, {_text("old")});
    END
    """,
    f"""
    CREATE TRIGGER requests_fts_note_delete AFTER DELETE ON requests
    WHEN {_INDEXED} BEGIN
        {_NOTE} (old.rowid, {_text("old")});
        UPDATE requests_fts_indexed
        SET through = (SELECT ifnull(max(rowid), 0) FROM requests WHERE rowid < old.rowid)
        WHERE through = old.rowid;
    END
    """,  # noqa: S608
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

POSTGRESQL_STATEMENTS: tuple[str, ...] = ()
