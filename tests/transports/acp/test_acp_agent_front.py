"""`llmgw-desktop acp --agent claude` driven by an editor written with the official TypeScript
ACP SDK (`@agentclientprotocol/sdk`), the gateway running Zed's claude-agent-acp (the real one,
pinned in `.ci/acp-agents`) with its model calls pointed back at the gateway, whose Anthropic
provider is the scripted upstream: a prompt whose answer streams, a tool call the editor
approves (the file is made) and one it rejects (it is not), a prompt cancelled mid-turn (no
process of it is left), `session/load` and a prompt that continues the agent's session. Every
turn is a job and a row on the editor's lane; every model call a row of its own there.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL
from llmgw_desktop.engine.providers.lifeline import JOB_MARKER_ENV
from llmgw_desktop.engine.providers.process_identity import scan_processes
from tests.clients.harness import run_program
from tests.clients.node import find_node
from tests.contract.conftest import offline  # noqa: F401 - fixtures
from tests.contract.offline import ACP_BIN, CLI_BIN, find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.gateways import gateway_starter
from tests.transports.acp.test_acp_typescript_sdk import _sdk

pytestmark = pytest.mark.contract

SCRIPT = Path(__file__).with_name("acp_agent_editor.mjs")
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "acp" / "editor-sends.ndjson"


async def test_typescript_editor_drives_claude_through_the_gateway(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sdk = _sdk()
    find_cli("claude-agent-acp", ACP_BIN)
    node = find_node("zod")
    monkeypatch.setenv("IS_SANDBOX", "1")  # Claude Code refuses root without it (this CI is root)
    work = tmp_path / "work"
    work.mkdir()
    # Claude Code makes side calls of its own (titles ...) without its tools: those get the
    # default answer, the turns these.
    upstream.script_when_offered(
        "Bash",
        Reply.ok("Hello from the agent"),
        Reply.tool_call("Bash", {"command": "touch approved-file", "description": "make it"}),
        Reply.ok("made it"),
        Reply.tool_call(
            "Bash", {"command": "touch rejected-file", "description": "make it"}, call_id="c2"
        ),
        Reply.ok("not made"),
        Reply.slow(60),
        Reply.ok("still here"),
    )
    settings = {
        "providers.cli_path": [str(ACP_BIN), str(CLI_BIN)],
        "providers.acp": {"claude-acp": {"env": ["IS_SANDBOX"]}},
        "providers.retry_attempts": 1,
    }
    async with gateway_starter(loaded) as start:
        gateway = await start(settings)
        flag = tmp_path / "cancel-now"
        editor = asyncio.create_task(
            run_program(
                (node, str(SCRIPT), sys.executable, "claude", sdk),
                env=dict(os.environ) | {"CANCEL_FLAG": str(flag)},
                cwd=work,
                timeout_s=240,
            )
        )
        await _when_asked(upstream, "slow please")
        flag.touch()
        code, stdout, stderr = await editor
        assert code == 0, f"{stdout}\n{stderr}"
        out = json.loads(stdout.strip().splitlines()[-1])
        engine = gateway.engine
        await engine.recorder.flush()
        rows = await engine.recorder.recent(limit=40)
        jobs = await engine.jobs.list_jobs(LOCAL)
        # What the Agents page (the recorder's lanes) and the Jobs page (the desk's list) show.
        lanes = await engine.recorder_query.lanes(3600)
        desk = await engine.jobs.list_for_desk()
    if os.environ.get("LLMGW_RECORD_FIXTURES") == "1":
        FIXTURE.write_text(out["sent"].replace(str(work), "{cwd}"), encoding="utf-8")
    assert "error" not in out, out
    assert out["initialize"]["agentInfo"]["title"] == "Claude (ACP) through the LLM gateway"
    options = {o["id"]: o for o in out["session"]["configOptions"]}
    assert options["agent"]["currentValue"] == "claude-acp"
    assert options["model"]["category"] == "model"
    # The answer streamed, in several chunks.
    assert out["hello"]["stopReason"] == "end_turn"
    assert "Hello from the agent" in out["helloText"] and out["helloChunks"] > 1
    # The editor was asked for each tool call; approved made the file, rejected did not.
    assert [a["title"] for a in out["asked"]] == ["touch approved-file", "touch rejected-file"]
    # Offered only what is applied: an answer is for this call (Claude offers "Always allow").
    assert {o["kind"] for a in out["asked"] for o in a["options"]} == {"allow_once", "reject_once"}
    assert out["approved"]["stopReason"] == "end_turn"
    assert out["rejected"]["stopReason"] == "end_turn"
    assert (work / "approved-file").exists() and not (work / "rejected-file").exists()
    # Cancelled mid-turn: nothing of that turn's job is left running.
    assert out["cancelled"]["stopReason"] == "cancelled"
    markers = [f"{JOB_MARKER_ENV}={job.id}".encode() for job in jobs]
    assert [p.pid for p in scan_processes(markers=markers) if p.marker is not None] == []
    # Loaded: the session's turns replayed; the next prompt continued the agent's session.
    assert out["replayed"][0] == "user_message_chunk" and "agent_message_chunk" in out["replayed"]
    assert out["again"]["stopReason"] == "end_turn"
    assert "still here" in out["againText"] and "msgs=1 " not in out["againText"]
    assert out["exitCode"] == 0
    # A job and a row per turn on the editor's lane; each model call a row there too.
    turns = [r for r in rows if r["provider"] == "claude-acp"]
    assert len(turns) == 5 and {r["caller"] for r in turns} == {"zed"}
    assert [r["state"] for r in turns].count("canceled") == 1
    assert {r["transport"] for r in turns} == {"acp"}
    calls = [r for r in rows if r["provider"] == "anthropic"]
    assert calls and {r["caller"] for r in calls} == {"zed"}
    assert len([j for j in jobs if j.provider == "claude-acp"]) == 5
    assert "zed" in {lane.caller for lane in lanes.agents}
    assert {(j.caller, j.view.provider) for j in desk} == {("zed", "claude-acp")}


async def _when_asked(upstream: ScriptedUpstream, words: str) -> None:
    """Once the turn's model call carrying `words` (one offering the agent's tools, not a side
    call) reached the upstream: the agent is mid-turn."""

    def arrived() -> bool:
        return any(
            words.encode() in r.raw_body and b'"Bash"' in r.raw_body for r in upstream.llm_requests
        )

    async with asyncio.timeout(120):
        while not arrived():  # noqa: ASYNC110 - the fake upstream signals no such event
            await asyncio.sleep(0.1)
