"""The CLI conversations the gateway ran: kept per principal, latest first, expired by age."""

from __future__ import annotations

from llmgw_desktop.engine.sessions import ProviderSessions, SessionStore
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tokens.usage import Usage
from tests.clock import Clock


async def test_recorded_conversation_is_found_by_its_owner_only(db: Database) -> None:
    sessions = ProviderSessions(db)
    usage = Usage(input_tokens=5, output_tokens=2)
    await sessions.record(
        "user:a", "claude", "c1", working_dir="/w", owns_dir=True, usage_totals=usage
    )
    found = await sessions.get("user:a", "claude", "c1")
    assert found is not None
    assert (found.working_dir, found.owns_dir, found.usage_totals) == ("/w", True, usage)
    assert await sessions.get("user:b", "claude", "c1") is None


async def test_latest_is_the_most_recently_used_and_can_be_narrowed_to_a_dir(db: Database) -> None:
    clock = Clock(1_000.0)
    sessions = ProviderSessions(db, clock)
    for sid, where in (("c1", "/a"), ("c2", "/b")):
        await sessions.record(
            "local", "codex", sid, working_dir=where, owns_dir=False, usage_totals=Usage()
        )
        clock.now += 10
    latest = await sessions.latest("local", "codex")
    in_a = await sessions.latest("local", "codex", "/a")
    assert latest is not None and latest.provider_session_id == "c2"
    assert in_a is not None and in_a.provider_session_id == "c1"


async def test_expire_forgets_and_returns_conversations_unused_since(db: Database) -> None:
    clock = Clock(1_000.0)
    sessions = ProviderSessions(db, clock)
    await sessions.record(
        "local", "claude", "old", working_dir="/o", owns_dir=True, usage_totals=Usage()
    )
    clock.now += 100
    await sessions.record(
        "local", "claude", "new", working_dir="/n", owns_dir=True, usage_totals=Usage()
    )
    expired = await sessions.expire(used_before=clock.now - 50)
    assert [s.provider_session_id for s in expired] == ["old"]
    assert await sessions.get("local", "claude", "old") is None
    assert await sessions.get("local", "claude", "new") is not None


async def test_a_finished_turn_records_its_conversation_and_gateway_session(db: Database) -> None:
    store = SessionStore(db)
    session = await store.create("local", "claude")
    write = store.turn_writer(
        "local",
        "claude",
        "cli-9",
        working_dir="/w",
        owns_dir=False,
        usage_totals=Usage(output_tokens=3),
        gateway_session_id=session.id,
    )
    await db.run(write)
    conversation = await store.provider_sessions.get("local", "claude", "cli-9")
    assert conversation is not None and conversation.usage_totals.output_tokens == 3
    assert (await store.get("local", session.id)).provider_session_id == "cli-9"
