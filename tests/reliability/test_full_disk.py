"""The flight recorder on a full disk: nothing lost, nothing hidden, a clean stop.

The gateway runs as a child process (`python -m llmgw_desktop --headless`) with its data dir
on a small tmpfs mounted by the test (the tests run as root here and in CI). The disk is then
filled to the last page with a plain file. Requests go on being answered; the rows the store
refuses go to the spill file; `/health` says `degraded` with the counts; a SIGTERM on the full
disk exits 0 with one log line and no traceback; once space is freed the next start replays the
spill file and every request of the run is in the store, once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests.reliability._recfaults_support import (
    ChildGateway,
    fill,
    small_disk,
    upstream_in_thread,
    wait_for,
)

BEFORE = 5  # requests recorded while there is room
DURING = 40  # requests on the full disk
DISK = "24m"


def rows(db: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return list(conn.execute("SELECT id, state FROM requests WHERE provider != ''"))


def test_full_disk_keeps_every_row_and_the_restart_replays_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with upstream_in_thread() as upstream, small_disk(home / "data", DISK):
        gw = ChildGateway(home, upstream)
        try:
            assert gw.start()["status"] == "ok"
            for n in range(BEFORE):
                assert gw.chat(f"before {n}")[0] == 200
            wait_for(lambda: len(rows(gw.db)) == BEFORE)

            filler = fill(gw.data, "filler.bin")
            answered = [gw.chat(f"during {n}")[0] for n in range(DURING)]
            # The requests themselves never needed the disk.
            assert answered == [200] * DURING

            # The failure is said while it lasts: the log names the full disk at once, and
            # `/health` is degraded until a flush reaches the store again. That can come
            # before the space is freed: the 4 MB spill reserve the gateway gave up to keep
            # the rows is room the store's next write can use, and the replay then stores
            # them (RELIABILITY.md). Either way every answered row is kept once.
            def settled() -> dict | None:
                # Every answered row spilled or stored, none left in memory: a row still
                # waiting for the next flush when the disk is filled again below could go
                # nowhere, and would be reported lost at the stop (the limit the docs state).
                health = gw.health()
                recorder = health["recorder"]
                if recorder["pending"]:
                    return None
                if recorder["spilled"] or len(rows(gw.db)) == BEFORE + DURING:
                    return health
                return None

            health = wait_for(settled)
            # The log has its own writer thread (a queue listener): the line may trail /health.
            wait_for(lambda: "store degraded (store)" in gw.log() and "disk" in gw.log())
            assert health["recorder"]["dropped"] == 0
            if health["recorder"]["spilled"]:  # still on the full disk: said on /health
                assert health["status"] == "degraded"
                assert "full" in health["store"]["reason"]
                assert health["recorder"]["last_error"]

            # The disk is then filled again (whatever keeps filling a disk does not stop), and
            # the gateway stopped on it: a clean exit, one line saying where any rows wait.
            refill = fill(gw.data, "refill.bin")
            code, out, err = gw.stop()
            assert code == 0, err
            assert "Traceback" not in err + out + gw.log()
            spill = gw.data / "recorder-spill.jsonl"
            if spill.exists():
                assert "kept in" in gw.log()

            filler.unlink()
            refill.unlink()
            assert gw.start()["status"] in ("ok", "degraded")
            # The first flush replays the spill file; then the store is writable and healthy.
            wait_for(lambda: gw.health()["status"] == "ok")
            recorded = rows(gw.db)
            ids = [r[0] for r in recorded]
            assert len(ids) == len(set(ids)) == BEFORE + DURING
            assert {state for _, state in recorded} == {"completed"}
            assert not spill.exists()
            assert gw.health()["recorder"] == {
                "pending": 0,
                "spilled": 0,
                "dropped": 0,
                "last_error": None,
            }
            # The legitimate path still works and is recorded.
            assert gw.chat("after")[0] == 200
            wait_for(lambda: len(rows(gw.db)) == BEFORE + DURING + 1)
            code, _, err = gw.stop()
            assert code == 0, err
            with contextlib.closing(sqlite3.connect(gw.db)) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            gw.kill()
