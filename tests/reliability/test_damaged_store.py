"""A store with a damaged index page: start-up says so, and the gateway still serves.

A real store is made by the real gateway (a child process answering requests through the
scripted upstream), then one page of a recorder index in that file is overwritten, found as
the index's root page (`sqlite_master.rootpage`) times `PRAGMA page_size`. The next start runs
`PRAGMA quick_check` off the database thread: `/health` says `degraded` with the reason, while
requests are still answered; the rows the damaged index refuses go to the spill file, and a stop
is clean.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests.reliability._recfaults_support import ChildGateway, upstream_in_thread, wait_for

INDEX = "requests_state_started"


def damage_index(db: Path, index: str) -> None:
    """Overwrite the root page of `index` with bytes no b-tree page can start with."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
        ).fetchone()
    with db.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xa5" * page_size)


def test_damaged_index_is_reported_at_start_and_the_gateway_still_serves(tmp_path: Path) -> None:
    with upstream_in_thread() as upstream:
        gw = ChildGateway(tmp_path / "home", upstream)
        try:
            gw.start()
            for n in range(20):
                assert gw.chat(f"fill {n}")[0] == 200
            code, _, err = gw.stop()  # checkpoints: every page is in the main file now
            assert code == 0, err

            damage_index(gw.db, INDEX)
            assert gw.start()["service"] == "llmgw-desktop"

            health = wait_for(lambda: (h := gw.health())["status"] == "degraded" and h)
            print("health after the damage:", health)
            assert health["store"]["state"] == "degraded"
            assert "integrity" in health["store"]["reason"]
            assert "malformed" in health["store"]["reason"] or INDEX in health["store"]["reason"]

            # Still serving, and the answer is not held up by the recorder's trouble.
            status, body = gw.chat("after the damage")
            assert status == 200
            assert body["choices"][0]["message"]["content"]
            code, out, err = gw.stop()
            assert code == 0, err
            assert "Traceback" not in out + err
        finally:
            gw.kill()


def test_a_database_emptied_to_zero_bytes_is_said_at_start_not_taken_for_a_fresh_install(
    tmp_path: Path,
) -> None:
    with upstream_in_thread() as upstream:
        gw = ChildGateway(tmp_path / "home", upstream)
        try:
            gw.start()
            assert gw.chat("before")[0] == 200
            code, _, err = gw.stop()
            assert code == 0, err
            assert "was empty" not in gw.log()  # a first start is a fresh install: no word

            gw.db.write_bytes(b"")  # what a failed copy or a bad sync leaves
            gw.start()
            health = gw.health()
            assert health["status"] == "degraded", health
            assert health["store"]["reason"].startswith("database: was empty (0 bytes)"), health
            assert gw.chat("after")[0] == 200  # it serves, on a new store
            code, _, err = gw.stop()
            assert code == 0, err
        finally:
            gw.kill()
    said = [line for line in gw.log().splitlines() if "store.db: the database" in line]
    assert len(said) == 1, said
    assert "was empty (0 bytes) although the gateway has run here before" in said[0]
    assert "WARNING" in said[0] and str(gw.db) in said[0], said
