"""Two agents of one user on one gateway: each continues its own conversation, never the other's.

The agents are real MCP clients (the official SDK) with their own `clientInfo` names, over
Streamable HTTP in both protocol eras and through the `llmgw-desktop mcp` stdio relay; the HTTP
bridge is driven with plain OpenAI-style requests. Claude Code is a recording stand-in
(`_callers_support.py`): its argv says which conversation each run continued. The principal is
the same local user throughout, which is the case that used to bleed.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mcp import Client, Implementation, StdioServerParameters

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.jobs.desk_rows import DeskFilter
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import (
    client_environment,
    codex_config,
    run_cli,
    warm_mcp,
    write_codex_config,
)
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port
from tests.reliability._callers_support import install_recording_claude, runs
from tests.transports.gateway.conftest import provider_env  # noqa: F401
from tests.transports.mcp.conftest import start_gateway, structured


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> AsyncIterator[GatewayRuntime]:
    bin_dir = install_recording_claude(tmp_path / "bin", tmp_path / "claude-runs.jsonl")
    runtime, lock = await start_gateway(loaded, {"providers.cli_path": [str(bin_dir)]})
    yield runtime
    await runtime.stop()
    lock.release()


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "claude-runs.jsonl"


@pytest.fixture
async def api_gateway(
    loaded: LoadedSettings,
    tmp_path: Path,
    provider_env: None,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[GatewayRuntime]:
    """The same gateway, with its API providers pointed at the scripted upstream (for an agent
    whose own model calls go through the gateway too)."""
    bin_dir = install_recording_claude(tmp_path / "bin", tmp_path / "claude-runs.jsonl")
    runtime, lock = await start_gateway(loaded, {"providers.cli_path": [str(bin_dir)]})
    yield runtime
    await runtime.stop()
    lock.release()


def agent(gateway: GatewayRuntime, name: str, mode: str = "legacy") -> Client:
    """An MCP client that says it is `name` in `initialize` (or, 2026-era, in each request)."""
    return Client(gateway.mcp_url, mode=mode, client_info=Implementation(name=name, version="1"))


async def ask(client: Client, prompt: str, **arguments: Any) -> dict[str, Any]:
    answer = structured(await client.call_tool("claude_request", {"prompt": prompt, **arguments}))
    assert "error" not in answer, answer
    return answer


async def chat(gateway: GatewayRuntime, text: str, **headers: str) -> tuple[int, dict[str, Any]]:
    """One OpenAI Chat request for the Claude Code bridge model."""
    body = {"model": "claude-cli/sonnet", "messages": [{"role": "user", "content": text}]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.base_url + "/v1/chat/completions", json=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_one_agents_session_is_not_continued_by_another_agent(
    gateway: GatewayRuntime, record: Path
) -> None:
    async with agent(gateway, "claude-code") as a, agent(gateway, "cursor", "2026-07-28") as b:
        made = structured(await a.call_tool("session_create", {"provider": "claude"}))
        # Both agents at once, neither naming a session.
        first_a, first_b = await asyncio.gather(ask(a, "A-one"), ask(b, "B-one"))
        second_a, second_b = await asyncio.gather(ask(a, "A-two"), ask(b, "B-two"))
        seen_by_a = structured(await a.call_tool("session_list", {}))["sessions"]
        seen_by_b = structured(await b.call_tool("session_list", {}))["sessions"]
        # The legitimate way to share: B names A's session.
        joined = await ask(b, "B-joins", sessionId=made["sessionId"])

    (a1,), (a2,) = runs(record, "A-one"), runs(record, "A-two")
    (b1,), (b2,) = runs(record, "B-one"), runs(record, "B-two")
    # A's calls continue A's session: the first starts it, the second resumes it.
    assert first_a["sessionId"] == second_a["sessionId"] == made["sessionId"]
    assert a1.resumed is None and a2.resumed == a1.session
    # B's never do: each is a fresh conversation, in no gateway session.
    assert b1.resumed is None and b2.resumed is None
    assert first_b["sessionId"] is None and second_b["sessionId"] is None
    assert len({a1.session, b1.session, b2.session}) == 3
    # Each agent sees the session, active only for the one that made it.
    assert [(s["sessionId"], s["active"]) for s in seen_by_a] == [(made["sessionId"], True)]
    assert [(s["sessionId"], s["active"]) for s in seen_by_b] == [(made["sessionId"], False)]
    (j,) = runs(record, "B-joins")
    assert joined["sessionId"] == made["sessionId"] and j.resumed == a1.session


async def test_session_set_active_is_per_agent(gateway: GatewayRuntime, record: Path) -> None:
    async with agent(gateway, "claude-code") as a, agent(gateway, "cursor") as b:
        mine = structured(await a.call_tool("session_create", {"provider": "claude"}))
        await ask(a, "A-starts")
        theirs = structured(await b.call_tool("session_create", {"provider": "claude"}))
        await ask(b, "B-starts")
        # B takes A's session as its own default; A keeps it as well, and B's own is left.
        structured(await b.call_tool("session_set_active", {"sessionId": mine["sessionId"]}))
        from_b = await ask(b, "B-after-switch")
        from_a = await ask(a, "A-after-switch")

    (a_start,), (b_switch,), (a_after,) = (
        runs(record, "A-starts"),
        runs(record, "B-after-switch"),
        runs(record, "A-after-switch"),
    )
    assert from_b["sessionId"] == from_a["sessionId"] == mine["sessionId"]
    assert b_switch.resumed == a_after.resumed == a_start.session
    assert theirs["sessionId"] != mine["sessionId"]


async def test_http_bridge_starts_fresh_unless_the_request_names_a_session(
    gateway: GatewayRuntime, record: Path
) -> None:
    async with agent(gateway, "claude-code") as a:
        made = structured(await a.call_tool("session_create", {"provider": "claude"}))
        await ask(a, "A-one")
    (a1,) = runs(record, "A-one")

    status, _ = await chat(gateway, "HTTP-plain")
    assert status == 200
    (plain,) = runs(record, "HTTP-plain")
    assert plain.resumed is None  # the agent's active session is not the HTTP client's

    status, _ = await chat(gateway, "HTTP-named", **{"X-Session-Id": made["sessionId"]})
    assert status == 200
    (named,) = runs(record, "HTTP-named")
    assert named.resumed == a1.session

    status, body = await chat(gateway, "HTTP-unknown", **{"X-Session-Id": "gw-nonexistent"})
    assert status == 404 and body["error"]["code"] == "not_found", body
    assert runs(record, "HTTP-unknown") == []


async def test_recorder_and_job_list_name_each_client(gateway: GatewayRuntime) -> None:
    async with agent(gateway, "claude-code") as a, agent(gateway, "cursor", "2026-07-28") as b:
        from_a, from_b = await asyncio.gather(ask(a, "A-one"), ask(b, "B-one"))
    await chat(gateway, "HTTP-one", **{"X-Caller": "my-script"})

    rows = await gateway.engine.recorder.recent(limit=10)
    by_job = {r["job_id"]: r for r in rows if r["job_id"]}
    assert by_job[from_a["jobId"]]["caller"] == "claude-code"
    assert by_job[from_b["jobId"]]["caller"] == "cursor"
    assert {r["transport"] for r in by_job.values() if r["caller"] != "my-script"} == {"mcp-http"}
    assert "my-script" in {r["caller"] for r in rows}
    desk = await gateway.engine.jobs.list_for_desk(DeskFilter())
    callers = {job.view.id: job.caller for job in desk}
    assert callers[from_a["jobId"]] == "claude-code" and callers[from_b["jobId"]] == "cursor"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_an_editor_relayed_over_stdio_keeps_its_own_name_and_session(
    mode: str, gateway: GatewayRuntime, record: Path
) -> None:
    # `llmgw-desktop mcp` finds the running gateway (this test's, through the data dir in the
    # environment) and relays to it, as it does for an editor that launches a command.
    relay = StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=dict(os.environ)
    )
    relayed = Client(relay, mode=mode, client_info=Implementation(name="cursor", version="1"))
    async with agent(gateway, "claude-code") as a, relayed as b:
        made = structured(await a.call_tool("session_create", {"provider": "claude"}))
        await ask(a, "A-one")
        from_b = await ask(b, "B-relayed")
        mine = structured(await b.call_tool("session_create", {"provider": "claude"}))
        again = await ask(b, "B-again")

    (b1,), (b2,) = runs(record, "B-relayed"), runs(record, "B-again")
    assert b1.resumed is None and from_b["sessionId"] is None
    assert again["sessionId"] == mine["sessionId"] != made["sessionId"]
    rows = {r["job_id"]: r for r in await gateway.engine.recorder.recent(limit=10)}
    assert rows[from_b["jobId"]]["caller"] == "cursor"
    assert rows[from_b["jobId"]]["transport"] == "mcp-stdio"
    assert b2.resumed is None  # B's own new session had no conversation yet


@pytest.mark.contract
async def test_codex_as_an_mcp_client_is_recorded_under_its_own_name(
    api_gateway: GatewayRuntime,
    upstream: ScriptedUpstream,
    tmp_path: Path,
    record: Path,
) -> None:
    # The real Codex CLI, with the gateway's /mcp as its MCP server, calls claude_request.
    home = tmp_path / "home"
    env = client_environment(home, api_gateway.base_url)
    mcp = api_gateway.base_url + "/mcp"
    config = codex_config(api_gateway.base_url, model="claude-sonnet-4-6", mcp_url=mcp)
    write_codex_config(home, config)
    tool = "mcp__llmgw__claude_request"
    upstream.script_tool_round_trip(tool, {"prompt": "CODEX-asks"})
    # Codex starts its turn without an MCP server that answers late, and a fresh gateway's
    # first MCP request loads the SDK: list the tools once first, as an earlier session would.
    await warm_mcp(api_gateway)
    # `exec` never asks, so a tool that is not read-only must be allowed up front.
    run = await run_cli(
        "codex",
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "ask claude",
        env=env,
        cwd=home / "work",
    )
    assert run.returncode == 0, run.explain()
    assert len(runs(record, "CODEX-asks")) == 1, run.explain()
    rows = await api_gateway.engine.recorder.recent(limit=10)
    # Codex's own name in its MCP `initialize` (its model calls, over HTTP, say `codex`).
    assert [r["caller"] for r in rows if r["provider"] == "claude"] == ["codex-mcp-client"]


async def test_an_editor_served_in_process_over_stdio_keeps_its_own_name(tmp_path: Path) -> None:
    # No gateway runs for this data dir: `llmgw-desktop mcp` becomes the gateway itself.
    bin_dir = install_recording_claude(tmp_path / "bin", tmp_path / "claude-runs.jsonl")
    home = tmp_path / "alone"
    env = gp.child_env(home, free_port(), LLM_GATEWAY_CLI_PATH=str(bin_dir))
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=env
    )
    info = Implementation(name="zed", version="1")
    async with Client(server, mode="legacy", client_info=info) as editor:
        answer = await ask(editor, "IN-PROCESS")
    with sqlite3.connect(home / "data" / "llmgw.db") as db:
        row = db.execute(
            "SELECT caller, transport FROM requests WHERE job_id = ?", (answer["jobId"],)
        ).fetchone()
    assert row == ("zed", "mcp-stdio")
