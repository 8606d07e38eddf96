"""Full-text search over the flight recorder: the only SQL that touches `requests_fts`.

The search box goes through the `requests_fts` index (schema 8), brought up to date first (it
trails the writes by at most a batch of rows: the recorder's flush has it take them once
`INDEX_BATCH` have gathered, schema 20). A rare word is looked up there and its few
rows sorted; a common one would make that list long, so the time index is walked instead and
each row checked against the word's hits. Which way is quicker is decided per search from a
bounded count of the hits, because SQLite cannot tell how many rows a word matches. FTS5 has no
peewee query form, hence the SQL by hand. Every function runs on the database thread.

On PostgreSQL the same search reads `requests.search_vector` (a generated `tsvector` with a GIN
index, schema 8): what was typed becomes a `tsquery` of the same words, each chunk's words in a
row (`<->`), its last word a prefix (`:*`) under the same rule. The server keeps the vector in
step, so there is nothing to catch up. Its planner knows how common one word is, but not two
together: it multiplies their shares, so `upstream_connect` (2% of a million rows) looked like
1,200 rows, and a page of them was read from the GIN index's ~20,000 hits all over the table
(100 ms) instead of by walking the time index until a page was found (15 ms). So a page's read
(`limited`) decides as SQLite does, from the planner's estimate for the least common word: a
common one walks the time index, the condition written as `ts_match_vq(...)`, the function
behind `@@`, which no index serves. A count keeps `@@`: it must find every hit anyway.
"""

from __future__ import annotations

import json
import math
import re

from llmgw_desktop.engine.store.migrations.m0020_recorder_search_batched import (
    CATCH_UP,
    INDEX_NEW,
)
from llmgw_desktop.engine.store.orm import peewee
from llmgw_desktop.engine.store.sql import is_postgresql, portable

__all__ = [
    "COMMON_SEARCH_FACTOR",
    "INDEX_BATCH",
    "INDEX_MOST",
    "PREFIX_MIN_CHARS",
    "catch_up",
    "count_hits",
    "search_condition",
    "search_expression",
]

# Which way a search runs. Sorting a word's hits costs about 6 µs a hit; walking the time
# index costs about 0.2 µs a row and stops after a page of hits, so about N * PAGE_SIZE / hits
# rows. The two meet near 3 * sqrt(N) hits for a table of N rows (3,000 at a million rows):
# a word with more hits than that walks the time index.
COMMON_SEARCH_FACTOR = 3.0
# Rows the recorder's flush lets gather before the index takes them (schema 20). FTS5 writes a
# segment per catch-up and merges them as they pile up, so a row indexed in a larger batch costs
# less: about 64,000 instructions a row in batches of 256, 55,000 in batches of 512, 54,000 in
# batches of 1,024, and 280,000 alone (10,000 of `bench/_recorder_rows.py`'s rows). A search
# catches up what is left first: fewer than this many rows, 10 to 15 ms at most.
INDEX_BATCH = 512
# Rows indexed in one transaction when the flush catches up (after a replay of spilled or
# journaled rows, tens of thousands): each batch holds the database thread about 40 ms.
INDEX_MOST = 2048
# A typed word shorter than this matches whole: as a prefix, `7` would also mean every id
# that starts with 7, and listing those costs more than the search.
PREFIX_MIN_CHARS = 3

_TOKEN = re.compile(r"[^\W_]+")  # what the index's unicode61 tokenizer calls a word
_SEARCH_HITS = "rowid IN (SELECT rowid FROM requests_fts WHERE requests_fts MATCH ?)"
_POSTGRESQL_HITS = "search_vector @@ to_tsquery('simple', ?)"
_POSTGRESQL_WALK = "ts_match_vq(search_vector, to_tsquery('simple', ?))"
_POSTGRESQL_TERM = re.compile(r"'[^']*'(?::\*)?")  # one word of a `_tsquery`, prefix mark included
# A word our vectors can never hold (they keep letters and digits only): the planner's estimate
# for it is its guess for any word its statistics do not list.
_POSTGRESQL_UNLISTED = "'#'"


def search_expression(text: str, *, postgresql: bool = False) -> str | None:
    """The FTS5 query for what was typed: every chunk must appear, its last word as a prefix.

    Each whitespace-separated chunk becomes a quoted phrase, so `claude-sonnet` or
    `upstream_timeout` match as written and nothing typed is read as query syntax. A last
    word shorter than `PREFIX_MIN_CHARS` must match whole.
    """
    if postgresql:
        return _tsquery(text)
    phrases = []
    for chunk in text.split():
        words = _TOKEN.findall(chunk)
        if not words:
            continue
        prefix = "*" if len(words[-1]) >= PREFIX_MIN_CHARS else ""
        phrases.append('"' + chunk.replace('"', '""') + '"' + prefix)
    return " ".join(phrases) if phrases else None


def _tsquery(text: str) -> str | None:
    """PostgreSQL's twin of the FTS5 query: the same words, phrases and prefixes."""
    phrases = []
    for chunk in text.split():
        words = [word.lower() for word in _TOKEN.findall(chunk)]
        if not words:
            continue
        # Quoted, so no word is read as query syntax; the words hold letters and digits only.
        terms = [f"'{word}'" for word in words]
        if len(words[-1]) >= PREFIX_MIN_CHARS:
            terms[-1] += ":*"
        phrases.append("(" + " <-> ".join(terms) + ")")
    return " & ".join(phrases) if phrases else None


def catch_up(database: peewee.Database, most: int = -1) -> int:
    """Bring the search index up to date (schema 20): the rows changed or deleted since it
    last did, and the rows written since, at most `most` of the latter (negative: all); how
    many of those it indexed (fewer than `most`: it is up to date)."""
    if is_postgresql(database):
        return 0  # the generated column is always up to date
    with database.atomic():
        for statement in CATCH_UP:
            database.execute_sql(statement)
        indexed = database.execute_sql(INDEX_NEW[0], (most,)).rowcount
        database.execute_sql(INDEX_NEW[1], (most,))
    return int(indexed)


def count_hits(database: peewee.Database, expression: str) -> int:
    """How many rows match `expression` (call `catch_up` first)."""
    if is_postgresql(database):
        sql = f"SELECT count(*) FROM requests WHERE {_POSTGRESQL_HITS}"  # noqa: S608
        return int(database.execute_sql(portable(database, sql), [expression]).fetchone()[0])
    sql = "SELECT count(*) FROM requests_fts WHERE requests_fts MATCH ?"
    return int(database.execute_sql(sql, [expression]).fetchone()[0])


def search_condition(database: peewee.Database, expression: str, *, limited: bool = True) -> str:
    """The WHERE condition (one `?` for `expression`) that keeps the rows matching it, written
    so the engine takes the quicker way for this word (call `catch_up` first). `limited`: the
    query reads a page newest first, not every hit (PostgreSQL only: see the module)."""
    if is_postgresql(database):
        if limited and _is_common_postgresql(database, expression):
            return _POSTGRESQL_WALK
        return _POSTGRESQL_HITS
    # `+rowid` stops SQLite from driving the query from the word's hits, so it walks the time
    # index: quick when the word is common, slow when it is rare.
    return "+" + _SEARCH_HITS if _is_common(database, expression) else _SEARCH_HITS


def _is_common(database: peewee.Database, expression: str) -> bool:
    # The rowid span is the row count to within what pruning left (it deletes the oldest,
    # lowest rowids), and costs two index seeks where a count reads the table.
    # (Two subqueries: SQLite seeks for a lone min() or max(), but scans for both at once.)
    span = "SELECT (SELECT min(rowid) FROM requests), (SELECT max(rowid) FROM requests)"
    low, high = database.execute_sql(span, []).fetchone()
    rows = 0 if low is None else high - low + 1
    threshold = int(COMMON_SEARCH_FACTOR * math.sqrt(rows))
    sql = "SELECT count(*) FROM (SELECT rowid FROM requests_fts WHERE requests_fts MATCH ? LIMIT ?)"
    hits = database.execute_sql(sql, [expression, threshold + 1]).fetchone()[0]
    return bool(hits > threshold)


def _is_common_postgresql(database: peewee.Database, expression: str) -> bool:
    # The same threshold as SQLite's, on the planner's row count and estimates (about 0.3 ms
    # each); a word the statistics do not list is never called common.
    cursor = database.execute_sql("SELECT reltuples FROM pg_class WHERE oid = 'requests'::regclass")
    rows = float(cursor.fetchone()[0])
    terms = _POSTGRESQL_TERM.findall(expression)
    if rows <= 0 or not terms:  # never analysed: no statistics to go by
        return False
    least = min(_estimated_hits(database, term) for term in terms)
    unlisted = _estimated_hits(database, _POSTGRESQL_UNLISTED)
    return least > max(COMMON_SEARCH_FACTOR * math.sqrt(rows), 2 * unlisted)


def _estimated_hits(database: peewee.Database, term: str) -> float:
    sql = "EXPLAIN (FORMAT JSON) SELECT 1 FROM requests WHERE search_vector @@ %s::tsquery"
    plan = database.execute_sql(sql, [term]).fetchone()[0]
    if isinstance(plan, str | bytes):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])
