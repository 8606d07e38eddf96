"""The response cache's file: its size cap (least recently used go first), its TTL, and an
index that lets a miss skip the disk."""

from __future__ import annotations

import sys
from pathlib import Path

from llmgw_desktop.engine.response_cache import CachedAnswer, ResponseStore

KB = 1024


def _answer(name: str, size: int) -> CachedAnswer:
    return CachedAnswer(name.encode().ljust(32, b"-"), False, b"x" * size, "{}", "{}")


def _store(
    tmp_path: Path, max_bytes: int, at: float = 1000.0, ttl_s: float | None = None
) -> tuple[ResponseStore, list[float]]:
    # The clock is set before the store starts: its index is read at once, on its thread.
    now = [at]
    store = ResponseStore(
        tmp_path / "cache.sqlite3", max_bytes=max_bytes, clock=lambda: now[0], max_ttl_s=ttl_s
    )
    store.start()
    return store, now


def test_past_its_cap_the_least_recently_used_answers_go(tmp_path: Path) -> None:
    store, now = _store(tmp_path, max_bytes=100 * KB)
    for name in ("a", "b", "c", "d"):
        now[0] += 1
        store.put(_answer(name, 29 * KB), ttl_s=3600).result()
    # Four of 29 KB passed the 100 KB cap: the oldest went, down to 90% of the cap at most.
    assert not store.holds(_answer("a", 0).digest)
    assert all(store.holds(_answer(n, 0).digest) for n in "bcd")
    assert store.bytes_held <= 90 * KB + 100
    # A read is a use: "b" is now newer than "c", so "c" goes next.
    now[0] += 1
    assert store.submit(lambda: store.read(_answer("b", 0).digest)).result() is not None
    now[0] += 1
    store.put(_answer("e", 29 * KB), ttl_s=3600).result()
    assert store.holds(_answer("b", 0).digest) and not store.holds(_answer("c", 0).digest)
    store.close()


def test_an_answer_past_its_ttl_is_gone_and_the_file_keeps_the_rest(tmp_path: Path) -> None:
    store, now = _store(tmp_path, max_bytes=10_000 * KB)
    store.put(_answer("short", 10), ttl_s=10).result()
    store.put(_answer("long", 10), ttl_s=1000).result()
    now[0] += 11
    assert not store.holds(_answer("short", 0).digest)
    assert store.submit(lambda: store.read(_answer("short", 0).digest)).result() is None
    store.close()
    # A new process reads the index from the file: the live answer is still there.
    again, _ = _store(tmp_path, max_bytes=10_000 * KB, at=now[0])
    again.submit(lambda: None).result()  # the index is read
    assert again.ready and again.entries == 1
    assert again.holds(_answer("long", 0).digest)
    found = again.submit(lambda: again.read(_answer("long", 0).digest)).result()
    assert found is not None and found.body == b"x" * 10
    again.close()


def test_a_clock_set_back_does_not_stretch_an_answers_ttl(tmp_path: Path) -> None:
    store, now = _store(tmp_path, max_bytes=10_000 * KB, ttl_s=60)
    digest = _answer("a", 0).digest
    store.put(_answer("a", 10), ttl_s=60).result()
    now[0] += 59
    assert store.holds(digest)
    # Set back an hour: the answer would otherwise live another hour and a minute.
    now[0] -= 3600
    assert not store.holds(digest)
    assert store.submit(lambda: store.read(digest)).result() is None
    # Kept again at the new time, it is given again.
    store.put(_answer("a", 10), ttl_s=60).result()
    assert store.holds(digest)
    store.close()


def test_a_shorter_ttl_applies_to_the_answers_already_kept(tmp_path: Path) -> None:
    store, now = _store(tmp_path, max_bytes=10_000 * KB, ttl_s=3600)
    store.put(_answer("a", 10), ttl_s=3600).result()
    store.close()
    # The operator shortens the TTL (an answer found to be wrong): the next start honours it.
    now[0] += 120
    again, _ = _store(tmp_path, max_bytes=10_000 * KB, at=now[0], ttl_s=60)
    again.submit(lambda: None).result()  # the index is read
    assert again.entries == 0 and not again.holds(_answer("a", 0).digest)
    again.close()


def test_a_file_that_cannot_be_opened_makes_every_lookup_a_miss(tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite3").mkdir()  # no file can be opened there
    store, _ = _store(tmp_path, max_bytes=100 * KB)
    store.put(_answer("a", 10), ttl_s=60).result()
    assert store.failed is not None
    assert not store.holds(_answer("a", 0).digest)
    assert store.health()["state"] == "failing"
    assert str(tmp_path) not in str(store.health()), "/health shows no path"
    store.close()


def test_a_file_that_is_no_database_is_set_aside_for_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite3").write_bytes(b"not a database" * 100)
    store, _ = _store(tmp_path, max_bytes=100 * KB)
    store.put(_answer("a", 10), ttl_s=60).result()
    assert store.failed is None and store.holds(_answer("a", 0).digest)
    assert (tmp_path / "cache.sqlite3.damaged").read_bytes() == b"not a database" * 100
    assert store.health() == {"state": "ok", "lastError": None}
    store.close()


def test_damage_a_read_finds_replaces_the_file_and_the_read_is_a_miss(tmp_path: Path) -> None:
    store, _ = _store(tmp_path, max_bytes=10_000 * KB)
    for name in "abcd":  # bodies on overflow pages, read only when asked for
        store.put(_answer(name, 50 * KB), ttl_s=60).result()
    store.submit(lambda: store._db and store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    store.close()
    store, _ = _store(tmp_path, max_bytes=10_000 * KB)
    store.submit(lambda: None).result()  # opened, its index read
    path = tmp_path / "cache.sqlite3"
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 3)
    assert store.submit(lambda: store.read(_answer("d", 0).digest)).result() is None
    assert (tmp_path / "cache.sqlite3.damaged").exists()
    assert store.entries == 0
    store.put(_answer("e", 10), ttl_s=60).result()
    found = store.submit(lambda: store.read(_answer("e", 0).digest)).result()
    assert found is not None and found.body == b"x" * 10
    store.close()


def _index_bytes(store: ResponseStore) -> int:
    """What the in-memory index holds, object by object (its table, each digest, each
    expiry-and-size pair and its two numbers)."""
    index = store._index
    return sys.getsizeof(index) + sum(
        sys.getsizeof(digest) + sys.getsizeof(pair) + sum(map(sys.getsizeof, pair))
        for digest, pair in index.items()
    )


def _held(store: ResponseStore, answer_size: int) -> int:
    """Memory and file the cap is meant to bound: the index, and the answers' own bytes."""
    return _index_bytes(store) + store.entries * answer_size


TINY = _answer("tiny", 1).size  # a one-byte body and two empty JSON objects: 5 bytes
MANY = 5000


def test_many_tiny_answers_stay_under_the_cap_index_included(tmp_path: Path) -> None:
    # 5,000 answers of 5 bytes are 25 KB of answers, and about 1 MB of index (some 200 bytes
    # each): under a 256 KB cap, what is held in memory and in the file stays under it.
    cap = 256 * KB
    store, _ = _store(tmp_path, max_bytes=cap)
    for n in range(MANY):
        store.put(_answer(f"tiny-{n}", 1), ttl_s=3600).result()
    assert 0 < store.entries < MANY
    assert _held(store, TINY) <= cap
    assert store.holds(_answer(f"tiny-{MANY - 1}", 0).digest), "the newest is kept"
    store.close()


def test_a_smaller_cap_at_the_next_start_holds_at_once(tmp_path: Path) -> None:
    store, _ = _store(tmp_path, max_bytes=10_000 * KB)
    for n in range(MANY):
        store.put(_answer(f"tiny-{n}", 1), ttl_s=3600)
    store.close()
    # The operator lowers cache.max_mb: the index read at the start is held to it already.
    cap = 128 * KB
    again, _ = _store(tmp_path, max_bytes=cap)
    again.submit(lambda: None).result()  # opened, its index read
    assert 0 < again.entries < MANY
    assert _held(again, TINY) <= cap
    again.close()
