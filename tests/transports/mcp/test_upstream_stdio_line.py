"""A relayed tool call goes on the stdio server's pipes beside the SDK's client session
(`engine/upstream_mcp/stdio_line.py`, issue 42): its own id on the server's stdin, its answer
taken off the server's stdout by that id, checked as the session checks one, and the same
result and recorder row as the session's path; the session still answers what the server asks
the client meanwhile, and a hostile server's answers are its errors, recorded, not ours.

Real servers over stdio: `server-everything` (npm), with its stdin copied to a file, and the
hostile one of `tests/fakes/mcp_hostile.py` (plain JSON-RPC lines, no SDK).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mcp import Client, StdioServerParameters

from llmgw_desktop.engine.upstream_mcp.stdio_line import ID_PREFIX
from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.transports.mcp.upstream_support import (
    ECHO,
    ROOT,
    RawSession,
    Start,
    everything,
    jsonrpc,
    kinds_of_row,
    local_mcp,
    require_servers,
    rows,
    sent,
    teed,
)

HOSTILE = ROOT / "tests" / "fakes" / "mcp_hostile.py"
# A call answered at once by the script: waiting longer means it was never answered.
CALL_TIMEOUT_S = 20.0


def liar() -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(HOSTILE), "liar"]}


async def test_a_call_goes_on_the_servers_stdin_with_the_sessions_result_and_row(
    start: Start, tmp_path: Path
) -> None:
    log = tmp_path / "to-everything.jsonl"
    gateway = await start({"mcp.servers": {"everything": teed(everything(), log)}})
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("raw-editor")
        await session.post(jsonrpc(1, "tools/list", {}))
        _, beside = await session.post(jsonrpc(2, "tools/call", ECHO))
        # With a progress token the call goes through the SDK's session, as before.
        tracked = {**ECHO, "_meta": {"progressToken": "p-1"}}
        _, through_session = await session.post(jsonrpc(3, "tools/call", tracked))
    ids = [m["id"] for m in sent(log) if m.get("method") == "tools/call"]
    assert len(ids) == 2 and isinstance(ids[1], int), ids
    assert isinstance(ids[0], str) and ids[0].startswith(ID_PREFIX), ids
    assert beside == {**through_session, "id": 2}
    assert beside["result"]["content"] == [{"type": "text", "text": "Echo: hi"}]
    recorded = [r for r in await rows(gateway, "everything") if r["tool"] == "everything__echo"]
    assert len(recorded) == 2
    assert len(kinds_of_row(recorded)) == 1, recorded


async def test_what_the_server_asks_the_client_during_a_call_is_answered_by_the_session(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"liar": liar()}})
    async with local_mcp(gateway) as client:
        pinged = await client.call_tool("liar__ask", {})
        rooted = await client.call_tool("liar__asks_roots", {})

        # The same through the session's path (a progress callback sends it there).
        async def progress(done: float, total: float | None, message: str | None) -> None:
            pass

        pinged_again = await client.call_tool("liar__ask", {}, progress_callback=progress)
    assert not pinged.is_error and pinged.content[0].text == "the client said {}", pinged
    assert pinged_again.content == pinged.content
    # The gateway offers the server no roots: the session's answer is its error.
    assert not rooted.is_error and "'code': " in rooted.content[0].text, rooted


@pytest.mark.parametrize("with_progress", [False, True], ids=["beside", "through-session"])
@pytest.mark.parametrize("tool", ["malformed", "off_schema", "bad_error"])
async def test_an_answer_that_is_no_result_is_the_servers_error_and_recorded_as_failed(
    start: Start, tool: str, with_progress: bool
) -> None:
    """Before: a result the SDK refused left the row open and the client a bare internal
    error; an error answer without an integer code was dropped, and the call waited forever
    (through the SDK's session, where a call that asks for progress goes, until 2026-11-25)."""
    gateway = await start({"mcp.servers": {"liar": liar()}})

    async def progress(done: float, total: float | None, message: str | None) -> None:
        pass

    async with local_mcp(gateway) as client:
        answered = await asyncio.wait_for(
            client.call_tool(
                f"liar__{tool}", {}, progress_callback=progress if with_progress else None
            ),
            CALL_TIMEOUT_S,
        )
        fine = await client.call_tool("liar__fine", {})
    assert answered.is_error, answered
    error = answered.structured_content["error"]
    assert error["code"] == "upstream_server_error" and "liar" in error["message"], error
    if tool == "bad_error":
        assert "not valid JSON-RPC" in error["message"] or not with_progress, error
    assert not fine.is_error and fine.content[0].text == "fine"
    states = {r["tool"]: (r["state"], r["error_code"]) for r in await rows(gateway, "liar")}
    assert states[f"liar__{tool}"] == ("failed", "upstream_server_error"), states
    assert states["liar__fine"] == ("completed", None), states
    status = {s["name"]: s for s in gateway.engine.upstream_mcp.status()}["liar"]
    assert status["state"] == "running" and status["starts"] == 1, status  # not restarted


async def test_with_tracing_on_every_call_goes_through_the_sdks_session(
    start: Start, tmp_path: Path
) -> None:
    """The session spans each call it sends (and carries the trace to the server), so with
    OpenTelemetry export on the relay leaves its calls to it. (The export goes to a closed
    loopback port: what it would send is not what this test is about.)"""
    log = tmp_path / "to-everything.jsonl"
    gateway = await start(
        {
            "mcp.servers": {"everything": teed(everything(), log)},
            "otel.enabled": True,
            "otel.endpoint": f"http://127.0.0.1:{free_port()}",
        }
    )
    async with local_mcp(gateway) as client:
        echoed = await client.call_tool("everything__echo", {"message": "traced"})
    assert not echoed.is_error and echoed.content[0].text == "Echo: traced"
    (call,) = [m for m in sent(log) if m.get("method") == "tools/call"]
    assert isinstance(call["id"], int), call


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_an_editor_through_the_stdio_relay_has_its_calls_go_beside_the_session(
    tmp_path: Path, mode: str
) -> None:
    """What an editor launches (`llmgw-desktop mcp`, relaying to a running gateway), in each
    protocol era: the call is answered, and it reached the server on the line of ours."""
    require_servers()
    home, port = tmp_path / "gw", free_port()
    home.mkdir()
    log = tmp_path / "to-everything.jsonl"
    server = teed(everything(), log)
    args = ", ".join(json.dumps(a) for a in server["args"])
    (home / "config.toml").write_text(
        f"[mcp.servers.everything]\ncommand = {json.dumps(server['command'])}\nargs = [{args}]\n",
        encoding="utf-8",
    )
    running = gp.start(["--headless"], gp.child_env(home, port))
    gp.wait_ready(running, port)
    relay = StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=gp.child_env(home, port)
    )
    try:
        async with Client(relay, mode=mode) as editor:
            echoed = await editor.call_tool("everything__echo", {"message": "via the relay"})
    finally:
        code, _, err = gp.stop(running)
    assert code == 0, err
    assert not echoed.is_error and echoed.content[0].text == "Echo: via the relay", echoed
    ids = [m["id"] for m in sent(log) if m.get("method") == "tools/call"]
    assert len(ids) == 1 and str(ids[0]).startswith(ID_PREFIX), ids
