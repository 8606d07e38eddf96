"""The recorder's search index on SQLite (schema 20): inserts meet no trigger, the index takes
new rows in batches above its watermark, and every word still finds exactly its rows through
updates, deletes, rowids used again, an upgrade from schema 19 and the recorder's own flushes.
The searches themselves are in test_query.py."""

from __future__ import annotations

import random
from pathlib import Path

import peewee
import pytest

from llmgw_desktop.engine.recorder import search as recorder_search
from llmgw_desktop.engine.recorder.filters import RecorderFilters
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.query import RecorderQuery
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.migrations import MIGRATIONS, apply_migrations
from llmgw_desktop.engine.store.migrations.m0008_recorder_search import (
    CATCH_UP as CATCH_UP_SCHEMA_8,
)
from llmgw_desktop.engine.store.migrations.m0008_recorder_search import CATCH_UP_AT

SQLITE_ONLY = pytest.mark.parametrize("store_engine", ["sqlite"])  # FTS5's own index

WORDS = [f"w{n}" for n in range(24)]
CHANGED = ["moved", "later"]  # what rows are changed to in the schema 19 store
_INSERT = (
    "INSERT INTO requests (id, started_at, owner_principal, provider, state, caller)"
    " VALUES (?, ?, 'local', 'openai', 'started', ?)"
)


def _hits(database: peewee.Database, word: str) -> list[int]:
    """The rowids the index finds `word` in, each as often as it holds it."""
    sql = "SELECT rowid FROM requests_fts WHERE requests_fts MATCH ? ORDER BY rowid"
    return [row[0] for row in database.execute_sql(sql, [f'"{word}"']).fetchall()]


def _holders(database: peewee.Database, word: str) -> list[int]:
    sql = "SELECT rowid FROM requests WHERE caller = ? ORDER BY rowid"
    return [row[0] for row in database.execute_sql(sql, [word]).fetchall()]


def _through(database: peewee.Database) -> int:
    return int(database.execute_sql("SELECT through FROM requests_fts_indexed").fetchone()[0])


def _assert_exact(database: peewee.Database) -> None:
    """Caught up, every word finds exactly the rows that hold it, and the index is sound."""
    recorder_search.catch_up(database)
    for word in WORDS:
        assert _hits(database, word) == _holders(database, word), word
    database.execute_sql("INSERT INTO requests_fts (requests_fts) VALUES ('integrity-check')")


@SQLITE_ONLY
async def test_an_insert_meets_no_search_index_trigger(db: Database) -> None:
    def write() -> tuple[list[str], int, list[int]]:
        database = db.models.database
        triggers = database.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'requests'"
            " AND sql LIKE '%INSERT ON requests%'"
        )
        database.execute_sql(_INSERT, ["r1", 1.0, "w1"])
        notes = database.execute_sql("SELECT count(*) FROM requests_fts_pending").fetchone()[0]
        return [row[0] for row in triggers.fetchall()], notes, _hits(database, "w1")

    assert await db.run(write) == ([], 0, [])  # not indexed until a catch-up
    assert await RecorderQuery(db).count(RecorderFilters(text="w1")) == 1  # a search catches up


@SQLITE_ONLY
async def test_a_rowid_used_again_after_the_top_rows_are_deleted_is_indexed_once(
    db: Database,
) -> None:
    """SQLite gives a new row one more than the largest rowid there is: once the rows at the
    top are gone, a new row takes a rowid the index has been past. It must be indexed, once,
    and the deleted rows' words must be gone, whether or not a catch-up ran in between."""

    def write() -> None:
        database = db.models.database
        for n in range(10):
            database.execute_sql(_INSERT, [f"r{n}", float(n), "w1"])
        recorder_search.catch_up(database)
        assert _through(database) == 10
        database.execute_sql("DELETE FROM requests WHERE id = 'r7'")  # noted, below the top
        recorder_search.catch_up(database)
        database.execute_sql("DELETE FROM requests WHERE id IN ('r8', 'r9')")  # the top
        assert _through(database) == 7  # the highest row still there (r6)
        database.execute_sql(_INSERT, ["n1", 20.0, "w2"])  # takes rowid 8
        database.execute_sql(_INSERT, ["n2", 21.0, "w3"])  # 9
        database.execute_sql("UPDATE requests SET caller = 'w4' WHERE id = 'n2'")
        _assert_exact(database)
        assert _hits(database, "w2") == [8]
        database.execute_sql("DELETE FROM requests WHERE rowid >= 7")  # r6, n1, n2
        recorder_search.catch_up(database)
        database.execute_sql(_INSERT, ["n3", 22.0, "w5"])  # takes rowid 7 again
        _assert_exact(database)
        database.execute_sql("DELETE FROM requests")
        assert _through(database) == 0
        database.execute_sql(_INSERT, ["n4", 23.0, "w6"])  # rowid 1
        _assert_exact(database)
        assert _hits(database, "w6") == [1]

    await db.run(write)


@SQLITE_ONLY
async def test_rows_changed_by_the_write_whose_trigger_catches_the_notes_up_end_up_as_they_are(
    db: Database,
) -> None:
    """The hazard of batching: the update that finds `CATCH_UP_AT` rows noted indexes them in
    its trigger. An indexed row it changes is indexed as it was and noted again with that
    text; a row above the watermark is neither indexed nor noted by it. The next search then
    finds both with their new text only."""

    def write() -> None:
        database = db.models.database
        for n in range(CATCH_UP_AT):
            database.execute_sql(_INSERT, [f"older{n}", float(n), "w1"])
        recorder_search.catch_up(database)
        database.execute_sql(_INSERT, ["target", 1000.0, "w2"])  # above the watermark
        database.execute_sql("UPDATE requests SET caller = 'w5' WHERE id = 'older0'")
        for n in range(1, CATCH_UP_AT):  # the last update's note makes CATCH_UP_AT
            database.execute_sql("UPDATE requests SET caller = 'w3' WHERE id = ?", [f"older{n}"])
        database.execute_sql("UPDATE requests SET caller = 'w6' WHERE id = 'older0'")
        database.execute_sql("UPDATE requests SET caller = 'w4' WHERE id = 'target'")
        notes = database.execute_sql("SELECT indexed_text FROM requests_fts_pending")
        assert [" w5 " in text for (text,) in notes.fetchall()] == [True]  # older0's, again
        assert _hits(database, "w3") == _holders(database, "w3")  # the notes are indexed
        assert (_hits(database, "w5"), _hits(database, "w4")) == ([1], [])
        database.execute_sql("INSERT INTO requests_fts (requests_fts) VALUES ('integrity-check')")

    await db.run(write)
    query = RecorderQuery(db)
    assert [r.id for r in (await query.page(RecorderFilters(text="w6"))).rows] == ["older0"]
    assert [r.id for r in (await query.page(RecorderFilters(text="w4"))).rows] == ["target"]
    assert await query.count(RecorderFilters(text="w5")) == 0
    assert await query.count(RecorderFilters(text="w2")) == 0
    assert await query.count(RecorderFilters(text="w3")) == CATCH_UP_AT - 1
    await db.run(lambda: _assert_exact(db.models.database))


@SQLITE_ONLY
async def test_every_word_finds_exactly_its_rows_through_random_writes(db: Database) -> None:
    """Inserts, updates (some in runs long enough for the triggers to catch the notes up),
    deletes of any row and of the top ones, and catch-ups of every size, in a random order."""
    rnd = random.Random(20261125)

    def write() -> None:
        database = db.models.database
        made = 0
        for step in range(1500):
            ids = [row[0] for row in database.execute_sql("SELECT id FROM requests").fetchall()]
            roll = rnd.random()
            if roll < 0.3 or len(ids) < 20:
                for _ in range(rnd.randint(1, 5)):
                    database.execute_sql(_INSERT, [f"r{made}", float(made), rnd.choice(WORDS)])
                    made += 1
            elif roll < 0.55:
                database.execute_sql(
                    "UPDATE requests SET caller = ? WHERE id = ?",
                    [rnd.choice(WORDS), rnd.choice(ids)],
                )
            elif roll < 0.58:
                for record in rnd.sample(ids, min(len(ids), 120)):
                    database.execute_sql(
                        "UPDATE requests SET caller = ? WHERE id = ?", [rnd.choice(WORDS), record]
                    )
            elif roll < 0.68:
                database.execute_sql("DELETE FROM requests WHERE id = ?", [rnd.choice(ids)])
            elif roll < 0.76:
                database.execute_sql(
                    "DELETE FROM requests WHERE rowid IN"
                    " (SELECT rowid FROM requests ORDER BY rowid DESC LIMIT ?)",
                    [rnd.randint(1, 6)],
                )
            elif roll < 0.9:
                recorder_search.catch_up(database, rnd.choice([-1, 1, 3, 40]))
            elif step % 5 == 0:
                _assert_exact(database)
        _assert_exact(database)

    await db.run(write)


@SQLITE_ONLY
async def test_the_recorder_has_the_index_take_its_rows_once_a_batch_has_gathered(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No search needed: the flush that brings the unindexed rows to `INDEX_BATCH` has the
    index take them all, `INDEX_MOST` a transaction; the flushes before it leave them."""
    monkeypatch.setattr("llmgw_desktop.engine.recorder.writer.INDEX_BATCH", 50)
    monkeypatch.setattr("llmgw_desktop.engine.recorder.writer.INDEX_MOST", 20)
    recorder = FlightRecorder(db)

    async def flush(rows: int) -> int:
        for _ in range(rows):
            record = recorder.start(principal="local", provider="openai", caller="w7")
            recorder.finish(record, state="completed")
        await recorder.flush()
        return await db.run(lambda: _through(db.models.database))

    assert await flush(30) == 0
    assert await flush(19) == 0
    assert await flush(11) == 60  # 60 rows: in transactions of 20, 20, 20, then one of 0
    assert await flush(5) == 60
    assert await RecorderQuery(db).count(RecorderFilters(text="w7")) == 65


def _schema_19_store(path: Path) -> None:
    """What schema 19 left: rows its insert trigger indexed (the first 256), rows it only
    noted, an indexed row updated and one deleted since (noted with their indexed text)."""
    old = peewee.SqliteDatabase(str(path))
    old.connect()
    apply_migrations(old, MIGRATIONS[:19])
    for n in range(CATCH_UP_AT + 40):
        old.execute_sql(_INSERT, [f"r{n}", float(n), WORDS[n % len(WORDS)]])
    old.execute_sql("UPDATE requests SET caller = 'moved' WHERE id = 'r3'")
    old.execute_sql("DELETE FROM requests WHERE id = 'r4'")
    old.execute_sql("UPDATE requests SET caller = 'later' WHERE id = ?", [f"r{CATCH_UP_AT + 5}"])
    noted = old.execute_sql("SELECT count(*) FROM requests_fts_pending").fetchone()[0]
    assert noted == 40 + 2  # the rows after the 256th, and the two changed since
    old.close()


def _searched_by_schema_19(path: Path) -> dict[str, set[str]]:
    """Each word's rows as schema 19 found them: its notes caught up first, as its searches did
    (on a copy: the store itself stays as schema 19 left it)."""
    copy = path.with_name("schema-19-copy.db")
    copy.write_bytes(path.read_bytes())
    old = peewee.SqliteDatabase(str(copy))
    old.connect()
    with old.atomic():
        for statement in CATCH_UP_SCHEMA_8:
            old.execute_sql(statement)
    found = {}
    for word in WORDS + CHANGED:
        rows = old.execute_sql(
            "SELECT id FROM requests WHERE rowid IN"
            " (SELECT rowid FROM requests_fts WHERE requests_fts MATCH ?)",
            [f'"{word}"'],
        )
        found[word] = {row[0] for row in rows.fetchall()}
    old.close()
    return found


async def test_a_schema_19_store_searches_the_same_after_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "llmgw.db"
    _schema_19_store(path)
    expected = _searched_by_schema_19(path)
    assert expected["moved"] == {"r3"} and expected["later"] == {f"r{CATCH_UP_AT + 5}"}
    assert "r4" not in expected["w4"] and "r3" not in expected["w3"]
    db = Database(path)
    await db.open()
    try:
        assert db.schema_version == MIGRATIONS[-1].version
        # Indexed at the upgrade: the watermark is the top row, nothing is left noted.
        assert await db.run(lambda: _through(db.models.database)) == CATCH_UP_AT + 40
        query = RecorderQuery(db)
        for word in WORDS + CHANGED:
            page = await query.page(RecorderFilters(text=word), limit=1000)
            assert {row.id for row in page.rows} == expected[word], word
            assert await query.count(RecorderFilters(text=word)) == len(expected[word]), word
        await db.run(lambda: _assert_exact(db.models.database))
    finally:
        await db.close()


@SQLITE_ONLY
async def test_catching_up_the_notes_reads_the_notes_not_every_indexed_row(db: Database) -> None:
    """The notes drive the catch-up's join: led by the requests table instead (SQLite infers
    a rowid range from the watermark), it walked every indexed row, 600 ms a search at a
    million rows."""
    from llmgw_desktop.engine.store.migrations.m0020_recorder_search_batched import CATCH_UP

    def plan() -> list[str]:
        rows = db.models.database.execute_sql("EXPLAIN QUERY PLAN " + CATCH_UP[1]).fetchall()
        return [row[3] for row in rows if row[3].startswith(("SCAN", "SEARCH"))]

    steps = await db.run(plan)
    assert steps[0].startswith(("SCAN p", "SEARCH p")), steps
    assert "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)" in steps, steps
