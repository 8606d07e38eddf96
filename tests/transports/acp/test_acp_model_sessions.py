"""`session/load` of `llmgw-desktop acp --model` from a new process: the session a first editor
process made is kept by the gateway (per principal, in its store), so a second process (the
editor restarted), even after the gateway itself restarted, replays it and continues it with
its history. Another principal's id is "not found", to read and to overwrite. Driven by the
official Python client and the TypeScript SDK's `client().connectWith(...)`."""

from __future__ import annotations

from pathlib import Path

import acp
import aiohttp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.gateways import start_runtime
from tests.transports.acp.python_editor import editor_of, open_session
from tests.transports.acp.test_acp_agent_remote import TOKEN
from tests.transports.acp.ts_editor import chunks, run_steps
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    gateway,
    provider_env,
    start_gateway,
)

NOT_FOUND = -32002


async def _first_turn(cwd: Path) -> str:
    """A first editor process: a session with one turn; its id."""
    async with editor_of("--model", "gpt-4o-mini", cwd=cwd) as (conn, _editor):
        session = await open_session(conn, cwd)
        await conn.prompt(session_id=session, prompt=[acp.text_block("remember PAPAYA")])
    return session


async def test_a_new_process_loads_the_session_after_the_gateway_restarted(
    loaded: LoadedSettings,
    provider_env: None,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    upstream.script(Reply.ok("PAPAYA noted", verbatim=True), Reply.ok("It was PAPAYA"))
    settings = loaded.settings.with_values({"http.port": 0})
    runtime, lock = await start_runtime(loaded, settings)
    try:
        session = await _first_turn(tmp_path)
    finally:
        await runtime.stop()
        lock.release()
    runtime, lock = await start_runtime(loaded, settings)  # a new gateway on the same store
    try:
        async with editor_of("--model", "gpt-4o-mini", cwd=tmp_path) as (conn, editor):
            await conn.load_session(cwd=str(tmp_path), session_id=session, mcp_servers=[])
            replayed = [(u.session_update, u.content.text) for u in editor.updates]
            editor.updates.clear()
            answer = await conn.prompt(session_id=session, prompt=[acp.text_block("which word?")])
    finally:
        await runtime.stop()
        lock.release()
    assert replayed == [
        ("user_message_chunk", "remember PAPAYA"),
        ("agent_message_chunk", "PAPAYA noted"),
    ]
    assert answer.stop_reason == "end_turn"
    # The model was sent the whole conversation: the first turn, its answer, the new words.
    continued = upstream.llm_requests[-1].body["messages"]
    assert [m["content"] for m in continued] == ["remember PAPAYA", "PAPAYA noted", "which word?"]
    assert "msgs=3" in "".join(editor.texts())


async def test_another_principal_can_neither_read_nor_overwrite_a_session(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    locked = await start_gateway({"http.auth_token": TOKEN})
    upstream.script(Reply.ok("PAPAYA noted", verbatim=True))
    session = await _first_turn(tmp_path)
    bob = await locked.engine.keys.create(OPERATOR, KeySpec(name="bob"))
    url = f"{locked.base_url}/v1/acp/chats/{session}"
    headers = {"Authorization": f"Bearer {bob.secret}"}
    forged = {"model": "gpt-4o-mini", "cwd": "/", "turns": [{"role": "user", "content": "x"}]}
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers=headers) as read:
            assert read.status == 404, await read.text()
            assert "PAPAYA" not in await read.text()
        async with http.put(url, headers=headers, json=forged) as written:
            assert written.status == 404, await written.text()
        async with http.get(f"{locked.base_url}/v1/acp/chats/{session}") as anonymous:
            assert anonymous.status == 401
    kept = await locked.engine.acp_chats.load("local", session)
    assert kept.turns == (("user", "remember PAPAYA"), ("assistant", "PAPAYA noted"))
    # Bob's own editor with his key cannot load it either: not found, nothing replayed.
    bobs = await locked.engine.acp_chats.save("key:bob", "gw-acp-bobs", "m", "/", [])
    assert bobs.turns == ()
    with pytest.raises(Exception, match="no session"):
        await locked.engine.acp_chats.load("key:bob", session)


async def test_the_typescript_editor_loads_a_session_in_a_new_process(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    upstream.script(Reply.ok("PAPAYA noted", verbatim=True), Reply.ok("It was PAPAYA"))
    first = await run_steps(
        [{"new": {}}, {"prompt": [{"type": "text", "text": "remember PAPAYA"}]}],
        "--model",
        "gpt-4o-mini",
        cwd=tmp_path,
    )
    session = first["steps"][0]["answered"]["sessionId"]
    plan = [
        {"load": {"sessionId": "gw-acp-no-such-session"}},
        {"load": {"sessionId": session}},
        {"prompt": [{"type": "text", "text": "which word?"}]},
    ]
    second = await run_steps(plan, "--model", "gpt-4o-mini", cwd=tmp_path)
    unknown, loaded, again = second["steps"]
    assert unknown["code"] == NOT_FOUND
    assert chunks(loaded, "user_message_chunk") == "remember PAPAYA"
    assert chunks(loaded) == "PAPAYA noted"
    assert loaded["answered"]["configOptions"][0]["currentValue"] == "gpt-4o-mini"
    assert again["answered"]["stopReason"] == "end_turn"
    assert "msgs=3" in chunks(again)
