"""What one response-cache entry costs beyond its answer's bytes: its place in the in-memory index,
and its row in the SQLite file. `cache.max_mb` counts `INDEX_ENTRY_BYTES` an entry for both
(`engine/response_cache/store.py`); this says whether that still covers them.

The index is measured three ways: with tracemalloc (what Python asked for: the 32-byte digest,
the expiry-and-size tuple and its two numbers, the dict's share), once put one by one through
`ResponseStore.put` and once read back from the file at a start; by the process's resident
memory (the allocator's rounding included); and the dict's table at its emptiest, just after it
grew. The file is `--entries` answers of 5 bytes, its size after a checkpoint.

    python bench/cache_index.py [--entries 20000]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmgw_desktop.engine.response_cache import CachedAnswer, ResponseStore
from llmgw_desktop.engine.response_cache.store import INDEX_ENTRY_BYTES

NO_CAP = 1 << 40  # nothing evicted while measuring
TTL_S = 3600.0


def _answer(n: int) -> CachedAnswer:
    """A 5-byte answer under the digest a request would have (made as the cache makes it)."""
    return CachedAnswer(hashlib.sha256(str(n).encode()).digest(), False, b"x", "{}", "{}")


def _traced(run: Callable[[], object]) -> int:
    """Bytes Python asked for and kept while `run()` ran."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    run()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def _resident() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096


def _dict_worst(count: int) -> float:
    """The dict's own table per entry at its emptiest (just after it grew), up to `count`."""
    table: dict[bytes, tuple[float, int]] = {}
    worst = 0.0
    for n in range(1, count + 1):
        table[n.to_bytes(32, "big")] = (float(n), n + 1000)
        if n >= 1000:
            worst = max(worst, sys.getsizeof(table) / n)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=20_000)
    count = parser.parse_args().entries
    now = datetime.datetime.now(datetime.UTC)
    print(f"{now:%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, {count:,} entries")
    # First, while the allocator has no freed memory to hand out again.
    before = _resident()
    held = {_answer(n).digest: (1.0e9 + n * 0.001, 1000 + n) for n in range(count)}
    resident = _resident() - before
    del held
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cache.sqlite3"
        store = ResponseStore(path, max_bytes=NO_CAP)
        store.start()
        store.submit(lambda: None).result()
        # Each put's future is waited for: the thread's queue is not the index.
        put = _traced(lambda: [store.put(_answer(n), TTL_S).result() for n in range(count)])
        store.submit(lambda: store._db and store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        store.close()
        file_bytes = path.stat().st_size
        again = ResponseStore(path, max_bytes=NO_CAP)

        def open_again() -> None:
            again.start()
            again.submit(lambda: None).result()  # opened, its index read

        read = _traced(open_again)
        again.close()
    print(f"index, put one by one (tracemalloc): {put / count:6.1f} bytes an entry")
    print(f"index, read at a start (tracemalloc): {read / count:6.1f} bytes an entry")
    print(f"index, resident memory:               {resident / count:6.1f} bytes an entry")
    print(f"the dict's table at its emptiest:     {_dict_worst(count):6.1f} bytes an entry")
    print(f"file, 5-byte answers:                 {file_bytes / count:6.1f} bytes a row")
    print(f"counted against cache.max_mb:         {INDEX_ENTRY_BYTES:6d} bytes an entry")


if __name__ == "__main__":
    main()
