"""`llmgw-desktop mcp` with the official client over stdio: in-process, and relaying to a
running gateway; both protocol versions; a real CLI answering through it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import free_port
from tests.contract.offline import CLI_BIN, find_cli
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import ScriptedUpstream
from tests.transports.mcp.conftest import session_made_through, structured
from tests.transports.mcp.test_mcp_http import EXPECTED_TOOLS

MODES = ["legacy", "2026-07-28"]


def stdio_params(home: Path, port: int) -> StdioServerParameters:
    env = gp.child_env(home, port, LLM_GATEWAY_CLI_PATH=str(CLI_BIN))
    return StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=env
    )


@pytest.mark.parametrize("mode", MODES)
async def test_stdio_in_process_answers_with_a_real_cli(
    mode: str, tmp_path: Path, offline: Path, upstream: ScriptedUpstream
) -> None:
    find_cli("claude")
    async with Client(stdio_params(tmp_path / "gw", free_port()), mode=mode) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        answer = structured(await client.call_tool("claude_request", {"prompt": "over stdio"}))
    assert tools == EXPECTED_TOOLS
    assert "FAKE-OK" in answer["text"] and "over stdio" in answer["text"]
    log = (tmp_path / "gw" / "log" / "llmgw-desktop.log").read_text()
    assert "relaying" not in log


@pytest.mark.parametrize("mode", MODES)
async def test_stdio_relays_to_the_running_gateway(mode: str, tmp_path: Path) -> None:
    port = free_port()
    env = gp.child_env(tmp_path / "gw", port)
    with gp.serving(["--headless"], env, port):
        # The session lives in the running gateway's store: ask it directly over HTTP.
        made, listed = await session_made_through(
            stdio_params(tmp_path / "gw", port), port, "relay", mode
        )
    assert made in listed
    assert "relaying stdio MCP" in gp.read_log(tmp_path / "gw")


def test_stdout_carries_only_mcp_messages(tmp_path: Path) -> None:
    env = gp.child_env(tmp_path / "gw", free_port())
    request = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "llmgw_desktop", "--verbose", "mcp"],  # logs to stderr only
        input=request,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith("{") for line in lines), result.stdout
    assert '"id":1' in lines[0].replace(" ", "")
    assert "store open" in result.stderr  # --verbose went to stderr, not into the protocol
    assert os.path.exists(tmp_path / "gw" / "log" / "llmgw-desktop.log")


@pytest.mark.parametrize("stdout_is", ["file", "pipe"])
def test_the_relay_answers_lines_written_at_once_from_a_file_or_a_pipe(
    tmp_path: Path, stdout_is: str
) -> None:
    """A script's way: every line written at once, stdin closed, stdin and stdout files
    (`llmgw-desktop mcp < requests.jsonl > answers.jsonl`). Before, uvloop aborted the relay
    (rc 134, nothing answered) on a file it cannot watch, and the `tools/list` sent beside the
    `initialize` was refused for want of the session its answer carries."""
    port = free_port()
    env = gp.child_env(tmp_path / "gw", port)
    lines = [
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}',
        '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
    ]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join(lines) + "\n")
    answers = tmp_path / "answers.jsonl"
    command = [sys.executable, "-m", "llmgw_desktop", "mcp"]
    with gp.serving(["--headless"], env, port), requests.open("rb") as stdin:
        if stdout_is == "file":
            with answers.open("wb") as stdout:
                done = subprocess.run(command, stdin=stdin, stdout=stdout, env=env, timeout=60)
            out = answers.read_text()
        else:
            done = subprocess.run(command, stdin=stdin, capture_output=True, env=env, timeout=60)
            out = done.stdout.decode()
    assert done.returncode == 0
    by_id = {m["id"]: m for m in map(json.loads, out.splitlines())}
    assert "result" in by_id[1], by_id
    assert {t["name"] for t in by_id[2]["result"]["tools"]} == EXPECTED_TOOLS
    assert "relaying stdio MCP" in gp.read_log(tmp_path / "gw")
