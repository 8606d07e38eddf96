"""The recorder's write path under a store that refuses writes: spill, replay, back-off, bound.

The store refuses for real: its file lives on a small tmpfs the test fills (the tests run as
root here and in CI; elsewhere these tests skip), so SQLite itself answers "database or disk
is full". Replay idempotence and the back-off need no full disk and run everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmgw_desktop.engine.recorder import writer as recorder_module
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.recorder.rows import apply_entries
from llmgw_desktop.engine.recorder.spill import RecorderSpill
from llmgw_desktop.engine.recorder.writer import REPLAY_CHUNK
from llmgw_desktop.engine.store import Database
from tests.postgres import opened
from tests.reliability._recfaults_support import fill, store_on_a_small_disk, tmpfs

SECRET = "sk-ant-api03-" + "A" * 40


def _rows(path: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.execute("SELECT id, state, caller FROM requests ORDER BY started_at"))


async def test_a_full_disk_spills_redacted_rows_and_recovery_replays_them_once(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    async with store_on_a_small_disk(data, "8m") as db:
        spill = RecorderSpill(data, reserve_bytes=1 << 20)
        recorder = FlightRecorder(db, spill=spill)
        await recorder.open()
        first = recorder.start(principal="local", provider="codex", caller="ok")
        assert await recorder.flush()
        filler = fill(data, "filler.bin")
        ids = [
            recorder.start(principal="local", provider="codex", caller=f"key={SECRET} {n}")
            for n in range(300)
        ]
        recorder.finish(first, state="completed")
        assert not await recorder.flush()
        status = recorder.status()
        assert status["spilled"] == 300 and status["pending"] == 0
        assert status["dropped"] == 0 and status["last_error"]
        assert db.health.degraded and "recorder" in (db.health.reason or "")
        text = spill.path.read_text()
        assert SECRET not in text  # redacted exactly as the store would have it
        assert json.loads(text.splitlines()[0])["insert"]["id"] == ids[0]

        for record_id in ids:
            recorder.finish(record_id, state="completed")
        filler.unlink()
        assert await recorder.flush()
        assert not db.health.degraded
        assert not spill.path.exists()
        rows = _rows(db.path)
        assert len(rows) == len({r[0] for r in rows}) == 301
        assert {r[1] for r in rows} == {"completed"}
        assert not any(SECRET in r[2] for r in rows)


def test_a_spill_on_a_full_disk_takes_only_what_its_rows_need_from_the_reserve(
    tmp_path: Path,
) -> None:
    """Given up whole, the reserve was room the response cache or the store took next (a CI
    run saw the cache keep new answers on a "full" disk), and the next spill found none: an
    append takes what its rows need, the rest stays reserved for the next, nobody else finds
    room, and the reserve is whole again once the spill is replayed."""
    data = tmp_path / "data"
    with tmpfs(data, "4m") as mounted:
        if not mounted:
            pytest.skip("no tmpfs mount here (needs root)")
        spill = RecorderSpill(data, reserve_bytes=1 << 20)
        spill.open()
        reserve = data / "recorder-spill.reserve"
        assert reserve.stat().st_size == 1 << 20
        filler = fill(data, "filler.bin")
        row = {"id": "r", "started_at": 1.0, "caller": "x" * 4000}
        spill.append([{"insert": row | {"id": f"r{n}"}} for n in range(10)])
        first = reserve.stat().st_size
        assert (1 << 20) - 200 * 1024 < first < 1 << 20  # about 40 KB of rows and the slack
        spill.append([{"insert": row | {"id": f"s{n}"}} for n in range(10)])
        assert 0 < reserve.stat().st_size <= first  # the next spill found room, and left some
        assert spill.rows == 20 and len(spill.read()) == 20
        # Another writer (the cache, the store) finds the disk as full as it was.
        assert fill(data, "other.bin").stat().st_size < 64 * 1024
        (data / "other.bin").unlink()
        filler.unlink()
        spill.clear()  # replayed: the spill goes, and the reserve is put back whole
        assert not spill.path.exists()
        assert reserve.stat().st_size == 1 << 20


async def test_replaying_the_same_spill_twice_gives_one_row_per_request(tmp_path: Path) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        row = {"id": "r1", "started_at": time.time(), "owner_principal": "local"}
        row |= {"provider": "codex", "state": "started", "unknown_column": "ignored"}
        entries = [{"insert": row}, {"update": "r1", "fields": {"state": "completed"}}]

        def replay() -> None:
            with db.models.database.atomic():
                apply_entries(db.models.database, entries)

        await db.run(replay)
        await db.run(replay)
        assert _rows(db.path) == [("r1", "completed", "")]


async def test_failing_writes_back_off_instead_of_retrying_four_times_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(tmp_path / "never-opened.db")  # every write fails: the store is not open
    recorder = FlightRecorder(db, max_pending=10)
    attempts = 0
    real_flush = recorder.flush

    async def counted() -> bool:
        nonlocal attempts
        attempts += 1
        return await real_flush()

    monkeypatch.setattr(recorder, "flush", counted)
    recorder.start(principal="local", provider="codex")
    loop = asyncio.create_task(recorder.run_forever())
    await asyncio.sleep(3.0)
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop
    # 0.25 s, then 1, 2, 4 s: four attempts in three seconds, not twelve.
    assert attempts <= 4
    assert recorder.status()["last_error"]
    assert recorder.pending == 1  # kept, not lost
    assert recorder_module.FAILED_FLUSH.longest_s <= 5.0


async def _refused_everywhere(db: Database, tmp_path: Path, *, max_pending: int) -> FlightRecorder:
    """A recorder whose store refuses every write (its table renamed away) and whose spill
    "directory" is a file, so every append fails too (ENOTDIR), whoever runs the test."""
    (tmp_path / "not-a-dir").write_text("")
    recorder = FlightRecorder(
        db, max_pending=max_pending, spill=RecorderSpill(tmp_path / "not-a-dir")
    )
    await db.run(lambda: db.models.database.execute_sql("ALTER TABLE requests RENAME TO gone"))
    return recorder


async def test_when_neither_store_nor_spill_takes_rows_memory_is_bounded_and_drops_counted(
    tmp_path: Path,
) -> None:
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        recorder = await _refused_everywhere(db, tmp_path, max_pending=50)
        for _ in range(80):
            recorder.start(principal="local", provider="codex")
        assert not await recorder.flush()
        status = recorder.status()
        assert status == {
            "pending": 50,
            "spilled": 0,
            "dropped": 30,
            "last_error": status["last_error"],
        }
        assert "requests" in status["last_error"]
        await recorder.close()  # never raises; what is left is counted
        assert recorder.status()["dropped"] == 80 and recorder.pending == 0


async def test_health_never_shows_spilled_rows_before_it_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spill file grows on the database thread; `/health` read on the loop in between
    once showed rows spilled while the store was still "ok" (a CI run caught it). The count
    shows only with the reason."""
    db = Database(tmp_path / "llmgw.db")
    await db.open()
    spill = RecorderSpill(tmp_path, reserve_bytes=0)
    recorder = FlightRecorder(db, spill=spill)
    await recorder.open()
    appended, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    append = spill.append

    def refuse(database: object, entries: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def append_then_wait(entries: list) -> None:
        append(entries)
        loop.call_soon_threadsafe(appended.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=30)

    monkeypatch.setattr(recorder_module, "write_entries", refuse)
    monkeypatch.setattr(spill, "append", append_then_wait)
    try:
        recorder.start(principal="local", provider="codex", caller="x")
        flushing = asyncio.create_task(recorder.flush())
        await asyncio.wait_for(appended.wait(), 30)
        assert spill.rows == 1  # in the file already
        # Not shown yet (the reason may be: the store reports the failure before the spill).
        assert recorder.status()["spilled"] == 0
        release.set()
        assert not await flushing
        assert recorder.status()["spilled"] == 1 and db.health.degraded
    finally:
        release.set()
        await db.close()


def _spilled_entries(count: int) -> list[dict]:
    """`count` rows as a flush spills them: each start, then (a batch later) its end."""
    now = time.time()
    starts = [
        {
            "insert": {"id": f"s{i:05d}", "started_at": now + i, "owner_principal": "local"}
            | {"provider": "codex", "state": "started"}
        }
        for i in range(count)
    ]
    ends = [{"update": f"s{i:05d}", "fields": {"state": "completed"}} for i in range(count)]
    return [*starts[: count // 2], *ends[: count // 2], *starts[count // 2 :], *ends[count // 2 :]]


@contextlib.asynccontextmanager
async def _with_a_spill_of_1200_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Database, RecorderSpill, FlightRecorder]]:
    """A recorder on an open store (closed after) whose spill holds 1,200 rows, replayed in
    chunks of 500."""
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        spill = RecorderSpill(tmp_path, reserve_bytes=0)
        spill.append(_spilled_entries(1200))
        recorder = FlightRecorder(db, spill=spill)
        await recorder.open()
        monkeypatch.setattr(recorder_module, "REPLAY_CHUNK", 500)
        yield db, spill, recorder


async def test_a_long_replay_goes_in_chunks_and_what_is_queued_meanwhile_runs_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spill of many rows was one transaction holding the database thread: whatever was
    queued behind it (a job's end, its progress) waited for all of it. Now chunks, with a write
    submitted during the first one running before the second; every row stored once."""
    async with _with_a_spill_of_1200_rows(tmp_path, monkeypatch) as (db, spill, recorder):
        order: list[object] = []
        first_chunk, go = threading.Event(), threading.Event()
        write = recorder_module.write_entries

        def observed(database: object, entries: list) -> None:
            order.append(len(entries))
            if len(order) == 1:
                first_chunk.set()
                assert go.wait(30), "never let go"
            write(database, entries)

        monkeypatch.setattr(recorder_module, "write_entries", observed)
        try:
            flushing = asyncio.create_task(recorder.flush())
            assert await asyncio.to_thread(first_chunk.wait, 30)
            queued = asyncio.create_task(db.run(lambda: order.append("job end")))
            for _ in range(3):  # the task reaches the executor's queue
                await asyncio.sleep(0)
            go.set()
            assert await flushing
            await queued
            # 1,200 inserts then 1,200 updates (merged per row): five chunks.
            assert order == [500, "job end", 500, 500, 500, 400]
            rows = _rows(db.path)
            assert len(rows) == len({r[0] for r in rows}) == 1200
            assert {r[1] for r in rows} == {"completed"}
            assert not spill.path.exists() and recorder.status()["spilled"] == 0
        finally:
            go.set()


async def test_a_replay_cut_short_keeps_the_whole_spill_and_the_next_gives_each_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _with_a_spill_of_1200_rows(tmp_path, monkeypatch) as (db, spill, recorder):
        calls = 0
        write = recorder_module.write_entries

        def third_fails(database: object, entries: list) -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                raise sqlite3.OperationalError("database or disk is full")
            write(database, entries)

        monkeypatch.setattr(recorder_module, "write_entries", third_fails)
        late = recorder.start(principal="local", provider="codex", caller="late")
        assert not await recorder.flush()
        assert len(_rows(db.path)) == 1000  # two chunks of inserts were committed
        assert spill.entries == 2401  # all of it still there, the new row after it
        recorder.finish(late, state="completed")
        assert await recorder.flush()
        rows = _rows(db.path)
        assert len(rows) == len({r[0] for r in rows}) == 1201
        assert {r[1] for r in rows} == {"completed"}
        assert not spill.path.exists()


async def test_rows_spilled_while_a_replay_runs_are_kept_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay read the file, wrote what it read, then deleted the whole file: rows appended
    after its read were lost (CI of 7a429c9: 34,856 of 60,000 spilled rows, appended while a
    replay read the file during a PostgreSQL outage). Now it forgets only what it read."""
    async with _with_a_spill_of_1200_rows(tmp_path, monkeypatch) as (db, spill, recorder):
        first_chunk, go = threading.Event(), threading.Event()
        write = recorder_module.write_entries
        chunks = 0

        def paused(database: object, entries: list) -> None:
            nonlocal chunks
            chunks += 1
            if chunks == 1:
                first_chunk.set()
                assert go.wait(30), "never let go"
            write(database, entries)

        monkeypatch.setattr(recorder_module, "write_entries", paused)
        try:
            flushing = asyncio.create_task(recorder.flush())
            assert await asyncio.to_thread(first_chunk.wait, 30)
            # The replay has read the file: 30 rows more reach it now (another writer, as the
            # CI test's are), the last of them torn (its writer still at it).
            late = [
                {
                    "insert": {"id": f"late{i}", "started_at": time.time(), "caller": "late"}
                    | {"owner_principal": "local", "provider": "codex", "state": "completed"}
                }
                for i in range(30)
            ]
            lines = b"".join(json.dumps(e).encode() + b"\n" for e in late)
            with spill.path.open("ab") as handle:
                handle.write(lines + b'{"insert": {"id": "torn')
            go.set()
            assert await flushing
            assert len(_rows(db.path)) == 1200
            # The rows the replay never read are still in the file, counted, and the next
            # flush stores them.
            assert (spill.entries, spill.rows) == (30, 30)
            assert recorder.status()["spilled"] == 30
            assert await recorder.flush()
            rows = _rows(db.path)
            assert len(rows) == len({r[0] for r in rows}) == 1230
            assert not spill.path.exists() and recorder.status()["spilled"] == 0
        finally:
            go.set()


def test_a_torn_last_line_is_not_read_and_not_kept_alone(tmp_path: Path) -> None:
    spill = RecorderSpill(tmp_path, reserve_bytes=0)
    spill.append(_spilled_entries(2))
    with spill.path.open("ab") as handle:
        handle.write(b'{"insert": {"id": "half')
    assert len(spill.read()) == 4
    spill.clear()  # only a torn line after what was read: nothing to keep
    assert not spill.path.exists() and (spill.entries, spill.rows) == (0, 0)


async def test_rows_held_through_an_outage_go_to_the_store_in_chunks(tmp_path: Path) -> None:
    """Fault injection, 2026-11-29: 24,879 rows held in memory through a full disk were one
    transaction once room came back, which needed room for all of them before any was kept:
    a disk with a little room again took none. Now they go in chunks, each kept as it goes."""
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        recorder = await _refused_everywhere(db, tmp_path, max_pending=5000)
        for _ in range(1200):  # no spill: the rows wait in memory
            recorder.start(principal="local", provider="codex")
        assert not await recorder.flush()
        assert recorder.status()["pending"] == 1200
        await db.run(lambda: db.models.database.execute_sql("ALTER TABLE gone RENAME TO requests"))
        sizes: list[int] = []
        waiting: list[int] = []
        write = recorder_module.write_entries

        def observed(database: object, entries: list) -> None:
            sizes.append(len(entries))
            waiting.append(recorder.status()["pending"])  # while they are written again
            write(database, entries)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(recorder_module, "write_entries", observed)
            assert await recorder.flush()
        assert sizes == [REPLAY_CHUNK, 1200 - REPLAY_CHUNK], sizes
        assert waiting == [1200, 1200], waiting  # not 0 while the batch is on its way
        assert len(_rows(db.path)) == 1200 and recorder.status()["pending"] == 0


async def test_a_stop_that_loses_rows_says_how_many(tmp_path: Path) -> None:
    """What the stop could not keep is its own count, which the headless exit code reads
    (`EXIT_ROWS_LOST`): a stop that lost 24,879 rows exited 0."""
    async with opened(Database(tmp_path / "llmgw.db")) as db:
        recorder = await _refused_everywhere(db, tmp_path, max_pending=50)
        for _ in range(20):
            recorder.start(principal="local", provider="codex")
        assert recorder.lost_at_stop == 0
        await recorder.close()
        assert recorder.lost_at_stop == 20 and recorder.status()["dropped"] == 20
