"""Schema 19: on SQLite an inserted recorder row enters one search-index trigger, not two.

Schema 8 gave each inserted row two triggers: `requests_fts_catch_up_insert` (BEFORE: were 256
rows noted? then index them all) and `requests_fts_note_insert` (AFTER: note the row). SQLite
enters a trigger's program for every row, whatever its WHEN says, and the notes were counted
each time: about 10,000 instructions a row inserted (the recorder's flush). Now one
AFTER INSERT trigger notes the row and then, when the row's rowid is a multiple of
`CATCH_UP_AT`, runs the same `CATCH_UP`, so that row and every row noted before it are indexed
in that write. An inserted row's rowid is one more than the table's largest (the table has no
AUTOINCREMENT and pruning deletes the oldest), so inserts still catch the index up once in
`CATCH_UP_AT` rows, and updates and deletes keep their own triggers, which count the notes as
before. The note comes first in the same trigger, so the catch-up indexes the row as it is
(nothing noted with text is re-indexed from anything but the text it was indexed with); what a
search finds is unchanged, as it catches up whatever is still noted first.

PostgreSQL keeps its generated search column: nothing changes there.
"""

from llmgw_desktop.engine.store.migrations.m0008_recorder_search import CATCH_UP, CATCH_UP_AT

# The catch-up's statements run only for an inserted row whose rowid is a multiple of
# `CATCH_UP_AT` (a constant, evaluated once per statement).
_DUE = f"new.rowid % {CATCH_UP_AT} = 0"
_INDEX_OLD, _INDEX_NOTED, _FORGET = CATCH_UP
_CATCH_UP_WHEN_DUE = (
    f"{_INDEX_OLD} AND {_DUE}",
    f"{_INDEX_NOTED} WHERE {_DUE}",
    f"{_FORGET} WHERE {_DUE}",
)

# Assembled from the constants above, never from anything a caller sent.
STATEMENTS = (
    "DROP TRIGGER requests_fts_catch_up_insert",
    "DROP TRIGGER requests_fts_note_insert",
    f"""
    CREATE TRIGGER requests_fts_note_insert AFTER INSERT ON requests BEGIN
        INSERT OR IGNORE INTO requests_fts_pending (request_rowid, indexed_text)
        VALUES (new.rowid, NULL);
        {";".join(_CATCH_UP_WHEN_DUE)};
    END
    """,  # noqa: S608
)

POSTGRESQL_STATEMENTS: tuple[str, ...] = ()
