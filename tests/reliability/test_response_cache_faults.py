"""The response cache's own file under faults: damaged between runs, and on a full disk.

The real gateway as a child process (`--headless`) with `[cache]` on, in front of the scripted
fake upstream, asked by plain HTTP. A damaged file (garbage, or cut short) is set aside at the
next start and an empty cache takes its place: the app starts, says so in its log, and the
cache keeps answers again (before, every request of every later run was a miss until someone
deleted the file, and only one log line said why). On a full disk an answer already kept is
still given (its read no longer needs to write), new answers are served but not kept, and
`/health` says so while it lasts; once space is freed answers are kept again and the file is
intact. The full disk there holds the cache alone (`LLM_GATEWAY_CACHE_PATH`): on a disk it
shared with the recorder, the room the recorder's spill reserve gives back let a cache write
through at a moment load decided.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.upstream import ScriptedUpstream
from tests.reliability._recfaults_support import (
    ChildGateway,
    fill,
    small_disk,
    upstream_in_thread,
    wait_for,
)

CACHE_FILE = "response-cache.sqlite3"
KEPT = 4
DISK = "24m"
ROOM_TRIES = 20  # new answers the full disk may still take in the pages its file holds


class CachingGateway(ChildGateway):
    """The child gateway with the response cache on."""

    def __init__(
        self, home: Path, upstream: ScriptedUpstream, cache_dir: Path | None = None
    ) -> None:
        super().__init__(home, upstream)
        self.cache_file = (cache_dir or self.data) / CACHE_FILE

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "LLM_GATEWAY_CACHE_ENABLED": "true",
            "LLM_GATEWAY_CACHE_PATH": str(self.cache_file),
        }

    def ask(self, question: str, *, stream: bool = False) -> tuple[int, str]:
        """One greedy request (cacheable): its status and `x-gateway-cache`."""
        body: dict[str, Any] = {
            "model": "gpt-4o",
            "temperature": 0,
            "messages": [{"role": "user", "content": question}],
        }
        if stream:
            body["stream"] = True
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read()
            assert answer, "an empty answer"
            return response.status, str(response.headers.get("x-gateway-cache"))

    def cache_health(self) -> dict[str, Any]:
        """What /health's `cache` says of the file (its counts since start left out)."""
        said = self.health()["cache"]
        return {"state": said["state"], "lastError": said["lastError"]}


def integrity(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    if how == "garbage":
        path.write_bytes(os.urandom(size))
    else:
        with path.open("r+b") as file:
            file.truncate(size // 2)


@pytest.mark.parametrize("how", ["garbage", "cut short"])
def test_a_damaged_cache_file_is_set_aside_and_the_cache_works_again(
    tmp_path: Path, how: str
) -> None:
    with upstream_in_thread() as upstream:
        gw = CachingGateway(tmp_path, upstream)
        try:
            gw.start()
            for n in range(KEPT):
                assert gw.ask(f"question {n}") == (200, "miss")
                assert gw.ask(f"question {n}") == (200, "hit")
            code, _, err = gw.stop()
            assert code == 0, err
            damage(gw.cache_file, how)

            assert gw.start()["status"] == "ok"
            # What was kept is gone with the damage: a miss, then kept again in a new file.
            assert gw.ask("question 0") == (200, "miss")
            assert gw.ask("question 0") == (200, "hit")
            assert gw.ask("question 9", stream=True) == (200, "miss")
            assert gw.ask("question 9", stream=True) == (200, "hit")
            assert gw.cache_health()["state"] == "ok"
            log = gw.log()
            assert "damaged" in log and f"{CACHE_FILE}.damaged" in log, log[-2000:]
            assert "Traceback" not in log
            assert gw.cache_file.with_name(f"{CACHE_FILE}.damaged").exists()
            code, _, err = gw.stop()
            assert code == 0, err
            assert integrity(gw.cache_file) == "ok"
        finally:
            gw.kill()


def test_a_full_disk_still_gives_kept_answers_and_says_it_keeps_no_new_ones(
    tmp_path: Path,
) -> None:
    home, disk = tmp_path / "home", tmp_path / "cache-disk"
    with upstream_in_thread() as upstream, small_disk(disk, DISK):
        gw = CachingGateway(home, upstream, cache_dir=disk)
        try:
            gw.start()
            for n in range(KEPT):
                assert gw.ask(f"kept {n}") == (200, "miss")
                assert gw.ask(f"kept {n}") == (200, "hit")
            assert gw.cache_health() == {"state": "ok", "lastError": None}

            filler = fill(disk, "filler.bin")
            # Kept answers are still given: the hit needs no write.
            assert [gw.ask(f"kept {n}") for n in range(KEPT)] == [(200, "hit")] * KEPT
            # The file may still hold free pages the filler could not take: new answers go
            # there until the disk's refusal reaches SQLite (once under `-n 2`, one was kept).
            for n in range(ROOM_TRIES):
                assert gw.ask(f"using the room left {n}")[0] == 200
                if gw.cache_health()["state"] == "failing":
                    break
            # New requests are answered, not kept, and /health says why while it lasts.
            for _ in range(2):
                assert gw.ask("new on a full disk") == (200, "miss")
                assert gw.ask("new stream on a full disk", stream=True) == (200, "miss")
            said = gw.cache_health()
            assert said["state"] == "failing" and "full" in said["lastError"], said
            # Said once for the spell, not once a refused write (a busy gateway floods no log).
            # The log is written by its own thread (a queue listener): wait for the line.
            wait_for(lambda: "the response cache cannot keep answers" in gw.log())
            log = gw.log()
            assert log.count("the response cache cannot keep answers") == 1, log[-2000:]
            assert "the response cache keeps answers again" not in log, log[-2000:]

            filler.unlink()
            assert gw.ask("new on a full disk") == (200, "miss")
            assert gw.ask("new on a full disk") == (200, "hit")
            assert gw.cache_health() == {"state": "ok", "lastError": None}
            assert wait_for(lambda: "the response cache keeps answers again" in gw.log())
            code, _, err = gw.stop()
            assert code == 0, err
            assert integrity(gw.cache_file) == "ok"
        finally:
            gw.kill()
