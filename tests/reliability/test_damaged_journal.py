"""A recorder journal damaged on disk after a kill -9 loses no readable row, and says so
(issue 38, item 2).

The real gateway on SQLite, streamed requests 16 at a time through the scripted upstream, and
SIGKILL once some answers are whole: the rows of the last quarter second live only in the
journal. Then, as a disk might, one byte is changed in three `insert` lines (the change still
parses as JSON: a key or a value one bit off), and a segment of noise is added. Before, the
replay handed the changed lines to the store, which refused the whole batch (NOT NULL) and with
it every row of the segment: whole answers ended with no row, `/health` said ok, no WARNING,
and the segment was deleted. Now every whole answer has its `completed` row, each damaged
segment is kept beside the journal as `*.damaged` with one WARNING giving its counts, and
`/health` says the store is degraded naming the journal.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from tests.engine.recorder.test_journal_damage import _change_a_byte
from tests.reliability._recfaults_support import ChildGateway, upstream_in_thread
from tests.reliability.test_kill9_streaming import load_until_killed, rows

DAMAGED_LINES = 3
ROUNDS = 5  # kills until the journal holds enough unflushed inserts (the first almost always)


def _damage_inserts(data: Path) -> list[Path]:
    """Change a byte in `DAMAGED_LINES` insert lines of the journal; the segments changed, or
    [] when the journal holds fewer inserts than that."""
    segments = sorted(data.glob("recorder-journal.*.jsonl"))
    found = [
        (segment, n)
        for segment in segments
        for n, line in enumerate(segment.read_bytes().split(b"\n"))
        if line.startswith(b'{"insert"')
    ]
    if len(found) < DAMAGED_LINES:
        return []
    chosen = random.Random(38).sample(found, DAMAGED_LINES)
    changed: set[Path] = set()
    for segment, n in chosen:
        lines = segment.read_bytes().split(b"\n")
        lines[n] = _change_a_byte(lines[n])
        segment.write_bytes(b"\n".join(lines))
        changed.add(segment)
    return sorted(changed)


async def test_a_damaged_journal_after_kill9_keeps_every_whole_answer_and_is_kept_and_reported(
    tmp_path: Path,
) -> None:
    answered: set[str] = set()
    with upstream_in_thread() as upstream:
        gw = ChildGateway(tmp_path / "home", upstream)
        try:
            changed: list[Path] = []
            for _ in range(ROUNDS):
                await asyncio.to_thread(gw.start)
                await load_until_killed(gw, 60, answered)
                assert gw.proc is not None
                await asyncio.to_thread(gw.proc.communicate)
                gw.proc = None
                changed = _damage_inserts(gw.data)
                if changed:
                    break
            assert changed, "no kill left three unflushed inserts in the journal"
            seqs = [int(p.name.split(".")[1]) for p in gw.data.glob("recorder-journal.*.jsonl")]
            noise = gw.data / f"recorder-journal.{max(seqs) + 1:08d}.jsonl"
            noise.write_bytes(random.Random(7).randbytes(2048))

            await asyncio.to_thread(gw.start)
            health = gw.health()
            assert health["status"] == "degraded", health
            assert health["store"]["reason"].startswith("journal: "), health
            code, _, err = await asyncio.to_thread(gw.stop)
            assert code == 0, err
        finally:
            gw.kill()
    stored = rows(gw.db)
    missing = sorted(i for i in answered if stored.get(i) != "completed")
    assert not missing, f"{len(missing)} of {len(answered)} whole answers have no completed row"
    kept = sorted(p.name for p in gw.data.glob("recorder-journal.*.damaged"))
    assert kept == sorted(p.name + ".damaged" for p in [*changed, noise])
    assert not list(gw.data.glob("recorder-journal.*.jsonl"))  # the whole ones are gone
    said = [line for line in gw.log().splitlines() if "unreadable line(s) (damaged" in line]
    assert len(said) == len(kept), said
    assert all("WARNING" in line for line in said)
