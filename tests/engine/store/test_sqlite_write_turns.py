"""Two connections on one SQLite file: a transaction that reads and then writes waits its turn.

In WAL mode a deferred transaction reads a snapshot; if another connection writes the file
before it does, its first write cannot take the lock on a stale snapshot and fails at once with
`database is locked` (the busy timeout does not apply). A CI run saw a job store's start fail so
(`interrupt_unfinished`, beside another process's lease renewal, 2026-11-26). Every store
transaction now takes the write lock as it begins, so the other writer waits instead.

The second connection is a second `Database` on the same file (as a second process, or the
`keys` command, opens it), writing on its own database thread while the first is between its
read and its write.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from llmgw_desktop.engine.store import Database
from tests.postgres import opened

# Long enough that the other writer has tried (and, before, written) while the first waits.
BETWEEN_S = 0.3


async def test_a_read_then_write_transaction_is_not_failed_by_a_write_in_between(
    tmp_path: Path,
) -> None:
    path = tmp_path / "one.db"
    async with opened(Database(path)) as first, opened(Database(path)) as second:
        loop = asyncio.get_running_loop()
        mine, theirs = first.models.ProcessLease, second.models.ProcessLease
        await first.run(
            lambda: mine.create(id="a", host="here", pid=1, started_at=0.0, expires_at=1.0, epoch=1)
        )

        def their_write() -> None:
            theirs.update(expires_at=2.0).where(theirs.id == "a").execute()

        def written_by_them() -> None:  # on a thread of its own: it may wait for the lock
            asyncio.run_coroutine_threadsafe(second.run(their_write), loop).result(10)

        def look_then_change() -> float:
            other = threading.Thread(target=written_by_them)
            with first.models.database.atomic():
                seen = float(mine.get_by_id("a").expires_at)  # the read: a snapshot
                other.start()
                time.sleep(BETWEEN_S)
                mine.update(expires_at=seen + 10.0).where(mine.id == "a").execute()
            other.join(10)
            return seen

        seen = await first.run(look_then_change)
        final = await first.run(lambda: float(mine.get_by_id("a").expires_at))
        # The first wrote from what it read; the other waited its turn and wrote after it.
        assert (seen, final) == (1.0, 2.0)
