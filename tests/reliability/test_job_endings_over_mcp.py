"""Every job tool reads a job in every ending, over real MCP, against a real gateway.

The gateway runs in this process with its real HTTP front door; the MCP client is the
official SDK's; the CLI is a fake `claude` (a real process) whose behaviour the prompt picks
(`_crash_support.py`). The endings that matter most are the ones that went wrong: their
error and their partial output must come back, from `llm_job_result`, `llm_job_status`,
`llm_job_watch` and `llm_request_result` alike.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.reliability._crash_support import ANSWER, PARTIAL, install_fake_claude
from tests.transports.mcp.conftest import start_gateway, structured

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

# The job tools as the server lists them (checked against the list in the first test).
JOB_TOOLS = {"llm_job_status", "llm_job_result", "llm_job_watch", "llm_job_cancel"}
READERS = ("llm_job_status", "llm_job_result", "llm_job_watch")
WAIT_S = 30.0
PROMPTS = {
    "completed": "succeed",
    "failed": "fail",
    "timed_out": "hang",
    "canceled": "hang",
}


@pytest.fixture
def cli_bin(tmp_path: Path) -> Path:
    install_fake_claude(tmp_path / "bin")
    return tmp_path / "bin"


@pytest.fixture
async def gateway(loaded: LoadedSettings, cli_bin: Path) -> AsyncIterator[GatewayRuntime]:
    runtime, lock = await start_gateway(loaded, {"providers.cli_path": [str(cli_bin)]})
    yield runtime
    await runtime.stop()
    lock.release()


async def call(client: Client, tool: str, **arguments: Any) -> tuple[bool, dict[str, Any]]:
    result = await client.call_tool(tool, arguments)
    return bool(result.is_error), structured(result)


async def until(client: Client, job_id: str, done: Any) -> dict[str, Any]:
    """Watch the job (bounded) until `done(status)` holds."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        _, status = await call(client, "llm_job_watch", jobId=job_id, timeoutMs=2000)
        if done(status):
            return status
    raise AssertionError(f"job {job_id} never got there: {status}")


def is_finished(status: dict[str, Any]) -> bool:
    return status["state"] in ("completed", "failed", "canceled", "interrupted")


async def test_the_job_tools_are_the_ones_the_server_lists(gateway: GatewayRuntime) -> None:
    async with Client(gateway.mcp_url) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
    assert {name for name in listed if name.startswith("llm_job_")} == JOB_TOOLS
    assert "llm_request_result" in listed


@pytest.mark.parametrize("ending", sorted(PROMPTS))
async def test_every_reader_returns_the_error_and_partial_output(
    gateway: GatewayRuntime, ending: str
) -> None:
    async with Client(gateway.mcp_url) as client:
        extra = {"timeoutMs": 1500} if ending == "timed_out" else {}
        is_error, submitted = await call(
            client, "claude_request_async", prompt=PROMPTS[ending], correlationId=ending, **extra
        )
        assert not is_error, submitted
        job_id = submitted["jobId"]
        if ending == "canceled":
            await until(client, job_id, lambda s: PARTIAL in s["outputPreview"])
            is_error, canceled = await call(client, "llm_job_cancel", jobId=job_id)
            assert not is_error and canceled["state"] == "canceled", canceled
        final = await until(client, job_id, is_finished)
        await check_every_reader(client, job_id, ending, final["state"])


async def test_an_interrupted_job_reads_the_same_after_a_restart(
    loaded: LoadedSettings, cli_bin: Path
) -> None:
    runtime, lock = await start_gateway(loaded, {"providers.cli_path": [str(cli_bin)]})
    try:
        async with Client(runtime.mcp_url) as client:
            _, submitted = await call(
                client, "claude_request_async", prompt="hang", correlationId="interrupted"
            )
            job_id = submitted["jobId"]
            await until(client, job_id, lambda s: PARTIAL in s["outputPreview"])
    finally:
        await runtime.stop()
        lock.release()
    runtime, lock = await start_gateway(loaded, {"providers.cli_path": [str(cli_bin)]})
    try:
        async with Client(runtime.mcp_url) as client:
            await check_every_reader(client, job_id, "interrupted", "interrupted")
    finally:
        await runtime.stop()
        lock.release()


async def check_every_reader(client: Client, job_id: str, ending: str, state: str) -> None:
    expected_state = {"completed": "completed", "timed_out": "failed"}.get(ending, ending)
    assert state == expected_state
    expected_code = {"timed_out": "timeout", "canceled": "canceled"}.get(ending, ending)
    for tool in READERS:
        is_error, body = await call(client, tool, jobId=job_id)
        assert body["state"] == expected_state, (tool, body)
        text = body["text"] if tool == "llm_job_result" else body["outputPreview"]
        if ending == "completed":
            assert not is_error and "error" not in body, (tool, body)
            assert ANSWER in text
            continue
        # An ending that went wrong: its error and the partial output both come back.
        assert is_error == (tool == "llm_job_result"), (tool, body)
        error = body["error"]
        assert error["message"], (tool, body)
        if ending == "failed":
            assert "fake failure" in error["message"], (tool, body)
        else:
            assert error["code"] == expected_code, (tool, body)
        assert PARTIAL in text, (tool, body)
    is_error, found = await call(client, "llm_request_result", correlationId=ending)
    assert not is_error, found
    # One vocabulary: the recorder row says what the job says.
    assert found["record"]["state"] == expected_state, found
    assert found["job"]["state"] == expected_state, found


async def test_a_denied_call_has_no_job_and_its_record_says_denied(
    gateway: GatewayRuntime,
) -> None:
    async with Client(gateway.mcp_url) as client:
        is_error, denied = await call(
            client,
            "claude_request_async",
            prompt="succeed",
            permissionMode="bypassPermissions",
            correlationId="denied",
        )
        assert is_error and denied["error"]["code"] == "approval_denied", denied
        assert "jobId" not in denied
        is_error, found = await call(client, "llm_request_result", correlationId="denied")
        assert not is_error and found["record"]["state"] == "denied", found
        assert "job" not in found
        # The legitimate call right after still runs.
        is_error, answer = await call(client, "claude_request", prompt="succeed")
        assert not is_error and ANSWER in answer["text"], answer
