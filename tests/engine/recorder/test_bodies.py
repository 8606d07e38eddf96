"""Kept bodies on both store engines: redacted and cut as written, read per principal, pruned."""

from __future__ import annotations

from llmgw_desktop.engine.recorder.bodies import BodyCapture, CapturePolicy, cut_marker
from llmgw_desktop.engine.recorder.flight_recorder import FlightRecorder
from llmgw_desktop.engine.store import Database
from tests.clock import Clock

KEY = "sk-ant-api03-" + "Q" * 40


def _keep(bodies: BodyCapture, record_id: str, principal: str, request: str) -> None:
    bodies.keep(
        record_id,
        principal=principal,
        dialect="openai_chat",
        endpoint="/v1/chat/completions",
        stream=False,
        headers={"openai-organization": KEY},
        request=request,
        response='{"answer": "otters"}',
    )


async def test_bodies_are_redacted_and_read_by_their_owner_only(db: Database) -> None:
    bodies = BodyCapture(db, CapturePolicy(providers=("*",)))
    _keep(bodies, "r1", "user:alice", f'{{"prompt": "use {KEY} for otters"}}')
    await bodies.flush()

    mine = await bodies.read("r1", "user:alice")
    assert mine is not None
    assert "otters" in mine.request and KEY not in mine.request and "[REDACTED]" in mine.request
    assert KEY not in str(mine.headers) and mine.response == '{"answer": "otters"}'
    # Another principal is told nothing; the desk (no principal) sees every row.
    assert await bodies.read("r1", "user:mallory") is None
    assert await bodies.read("r1") is not None
    stored = await db.run(
        lambda: db.models.database.execute_sql(
            "SELECT request, headers_json FROM request_bodies"
        ).fetchall()
    )
    assert KEY not in repr(stored) and KEY[20:] not in repr(stored)


async def test_a_long_body_is_cut_and_marked(db: Database) -> None:
    bodies = BodyCapture(db, CapturePolicy(providers=("*",), max_chars=100))
    _keep(bodies, "r1", "user:a", "x" * 5000)
    await bodies.flush()
    kept = await bodies.read("r1")
    assert kept is not None
    assert kept.request == "x" * 100 + cut_marker(4900) and kept.request_cut == 4900


async def test_a_secret_near_the_cut_is_masked_in_what_is_kept(db: Database) -> None:
    bodies = BodyCapture(db, CapturePolicy(providers=("*",), max_chars=100))
    _keep(bodies, "r1", "user:a", "y" * 70 + " " + KEY + " " + "z" * 200)
    await bodies.flush()
    kept = await bodies.read("r1")
    assert kept is not None and kept.request_cut > 0
    assert "Q" * 8 not in kept.request, kept.request


async def test_the_recorders_prune_drops_bodies_past_their_retention(db: Database) -> None:
    clock = Clock(1_000_000.0)
    bodies = BodyCapture(db, CapturePolicy(providers=("*",), retention_hours=24), clock=clock)
    recorder = FlightRecorder(db, clock=clock, bodies=bodies)
    _keep(bodies, "old", "user:a", "{}")
    clock.now += 23 * 3600
    _keep(bodies, "new", "user:a", "{}")
    await recorder.flush()
    clock.now += 2 * 3600  # "old" is 25 h old, "new" 2 h
    await recorder.prune()
    assert await bodies.read("old") is None
    assert await bodies.read("new") is not None


def test_the_policy_matches_provider_agent_or_project() -> None:
    off = CapturePolicy()
    assert not off.on and not off.wants("anthropic", "claude-code/2.0", "p")
    by_agent = off.with_setting("recorder.capture.agents", ["Claude-Code"])
    assert by_agent.wants("openai", "claude-code/2.0.1", None)
    assert not by_agent.wants("openai", "codex/1.0", None)
    by_project = off.with_setting("recorder.capture.projects", ["team-a"])
    assert by_project.wants("openai", "x", "team-a") and not by_project.wants("openai", "x", None)
    every = off.with_setting("recorder.capture.providers", ["*"])
    assert every.wants("codex", "", None) and not every.wants("", "", None)
