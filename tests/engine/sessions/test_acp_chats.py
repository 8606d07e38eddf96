"""The chat sessions of `acp --model`: kept per principal (another's is not found, to load and
to save), secrets masked, each principal's newest kept, a long conversation's newest turns
kept, and a malformed session refused naming what was wrong."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.errors import InvalidRequest, NotFound
from llmgw_desktop.engine.sessions import acp_chats
from llmgw_desktop.engine.sessions.acp_chats import AcpChats
from llmgw_desktop.engine.store import Database
from tests.clock import Clock

TURNS = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]


async def test_a_saved_session_is_loaded_by_its_owner_only(db: Database) -> None:
    chats = AcpChats(db)
    await chats.save("local", "gw-acp-1", "gpt-4o-mini", "/work", TURNS)
    kept = await chats.load("local", "gw-acp-1")
    assert (kept.model, kept.cwd, kept.turns) == (
        "gpt-4o-mini",
        "/work",
        (("user", "hello"), ("assistant", "hi")),
    )
    with pytest.raises(NotFound):
        await chats.load("key:bob", "gw-acp-1")
    with pytest.raises(NotFound):
        await chats.save("key:bob", "gw-acp-1", "m", "/", [])
    assert (await chats.load("local", "gw-acp-1")).turns == kept.turns  # not overwritten


async def test_saving_again_replaces_the_turns_and_model(db: Database) -> None:
    chats = AcpChats(db)
    await chats.save("local", "gw-acp-1", "a", "/w", TURNS[:1])
    await chats.save("local", "gw-acp-1", "b", "/w", TURNS)
    kept = await chats.load("local", "gw-acp-1")
    assert kept.model == "b" and len(kept.turns) == 2


async def test_secrets_in_a_turn_are_masked(db: Database) -> None:
    chats = AcpChats(db)
    secret = "sk-ant-api03-" + "a" * 90
    turns = [{"role": "user", "content": f"my key is {secret}"}]
    await chats.save("local", "gw-acp-1", "m", "/w", turns)
    assert secret not in (await chats.load("local", "gw-acp-1")).turns[0][1]


async def test_each_principal_keeps_its_own_newest(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acp_chats, "MAX_CHATS", 3)
    clock = Clock(1_000.0)
    chats = AcpChats(db, clock)
    await chats.save("key:alice", "gw-acp-alice", "m", "/w", [])
    for n in range(5):
        clock.now += 1
        await chats.save("local", f"gw-acp-{n}", "m", "/w", [])
    for n in (0, 1):
        with pytest.raises(NotFound):
            await chats.load("local", f"gw-acp-{n}")
    assert [(await chats.load("local", f"gw-acp-{n}")).id for n in (2, 3, 4)]
    assert (await chats.load("key:alice", "gw-acp-alice")).id == "gw-acp-alice"


async def test_a_long_conversation_keeps_its_newest_turns(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(acp_chats, "MAX_CHAT_CHARS", 10)
    turns = [{"role": "user", "content": c} for c in ("aaaa", "bbbb", "cccc")]
    kept = await AcpChats(db).save("local", "gw-acp-1", "m", "/w", turns)
    assert kept.turns == (("user", "bbbb"), ("user", "cccc"))


@pytest.mark.parametrize(
    ("chat_id", "model", "turns", "param"),
    [
        ("../../etc", "m", [], "sessionId"),
        ("gw-acp-1", "", [], "model"),
        ("gw-acp-1", "m", [{"role": "system", "content": "x"}], "turns[0]"),
        ("gw-acp-1", "m", [{"role": "user", "content": 3}], "turns[0]"),
        ("gw-acp-1", "m", "not a list", "turns"),
    ],
)
async def test_a_malformed_session_is_refused_naming_what(
    db: Database, chat_id: str, model: str, turns: object, param: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await AcpChats(db).save("local", chat_id, model, "/w", turns)
    assert refused.value.details.get("param") == param
