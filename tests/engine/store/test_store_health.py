"""The store's health says an outage twice: when it starts and when it ends, with its count.

Each failure of a part is reported, in whatever words the driver chose that time. Before, each
new wording was a new WARNING (40 for one 30 s partition) and the end said only which parts
were back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.store.health import StoreHealth
from tests.clock import Clock


def test_an_outage_in_changing_words_is_one_warning_at_its_start_and_one_at_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock(100.0)
    heard: list[str | None] = []
    health = StoreHealth(heard.append, clock=clock)
    caplog.set_level(logging.DEBUG, logger="llmgw_desktop.engine.store.health")
    words = ("Connection reset by peer", "refused", "server closed the connection unexpectedly")
    for n in range(40):
        health.report("store", f"cannot reach the database ({words[n % 3]})")
        clock.now += 0.75
    # The last words (40 reports: the 40th is words[0] again).
    assert health.reason == "store: cannot reach the database (Connection reset by peer)"
    health.clear("store", "recorder")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "store degraded (store): cannot reach the database (Connection reset by peer)",
        "store writable again (store, after 40 failure(s) over 30.0 s)",
    ]
    # The window still hears each new wording (its tooltip follows the reason), and the end.
    assert len(heard) == 41 and heard[-1] is None


def test_a_new_outage_after_the_end_is_said_again(caplog: pytest.LogCaptureFixture) -> None:
    health = StoreHealth()
    caplog.set_level(logging.WARNING)
    health.report("recorder", "cannot write (disk is full)")
    health.clear("recorder")
    health.report("recorder", "cannot write (disk is full)")
    said = [r.getMessage() for r in caplog.records]
    assert [m.split(" (")[0] for m in said] == [
        "store degraded",
        "store writable again",
        "store degraded",
    ]


async def test_the_look_that_finds_the_server_answering_ends_only_its_unreachable(
    tmp_path: Path,
) -> None:
    """`Database._answers_again` (the redo's look at a server said unreachable) proves the
    server answers, not that it takes writes: a full disk reported since stays said."""
    db = Database(tmp_path / "h.db")
    await db.open()
    try:
        db.health.report("store", "cannot reach the database (connection refused)")
        await db._answers_again()  # the look itself, on the real store
        assert db.health.reason is None
        db.health.report("store", "database or disk is full")
        await db._answers_again()
        assert db.health.reason == "store: database or disk is full"
    finally:
        await db.close()
