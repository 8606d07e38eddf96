"""The gateway is killed (-9) while an editor's stdio relay (`llmgw-desktop mcp` relaying to the
running instance) has a call in flight, then started again: the call in flight is answered
with a JSON-RPC error at once (never a hang), so is a call while the gateway is down, and once
it runs again the same relay serves the editor again, without the editor starting it anew,
its server-to-client event stream included: once it is open again the relay tells the editor
its tools may have changed (what the new gateway announced before could not reach it), and a
later list change reaches the editor.

Before, every later call through that relay was refused for good ("HTTP 401: the instance token
is wrong"): the relay kept the dead instance's token and session, and only restarting the
editor's MCP server mended it.

Real processes: the gateway (`--headless`), the relay started by the official `mcp` SDK's
stdio client as an editor starts it, and the crasher fake as the user's MCP server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import psutil
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.reliability._crash_support import wait_dead
from tests.transports.mcp.upstream_support import CRASHER

# Generous for a loaded 2-core machine; each is a bound, never a wait for its own sake.
ANSWER_WITHIN_S = 30.0
PROCESS_WAIT_S = 30.0


def test_a_relay_answers_through_a_gateway_kill_and_serves_again_after_its_restart(
    tmp_path: Path,
) -> None:
    port = free_port()
    (tmp_path / "config.toml").write_text(
        f"[mcp.servers.crasher]\ncommand = {sys.executable!r}\nargs = [{str(CRASHER)!r}]\n",
        encoding="utf-8",
    )
    env = gp.child_env(tmp_path, port)
    procs = [gp.start(["--headless"], env)]
    seen: set[int] = set()

    def ours() -> set[int]:
        """Every process this test started that lives now (gateways, relay, servers)."""
        found: set[int] = set()
        with contextlib.suppress(psutil.NoSuchProcess):
            found = {p.pid for p in psutil.Process().children(recursive=True)}
        seen.update(found)
        return found

    async def editor() -> None:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=env
        )
        # One event per list change awaited: the last is set by the next one heard.
        changes = [anyio.Event()]

        async def hear(message: Any) -> None:
            if isinstance(message, mcp_types.ToolListChangedNotification):
                changes[-1].set()

        async with Client(stdio_client(params), mode="legacy", message_handler=hear) as client:
            assert not (await client.call_tool("crasher__pid", {})).is_error
            ours()
            started = anyio.Event()

            async def on_progress(progress: float, total: float | None, text: str | None) -> None:
                started.set()

            async def kill_when_started() -> None:
                await started.wait()
                procs[0].kill()
                await anyio.to_thread.run_sync(procs[0].wait)

            # A call in flight when the gateway dies: a JSON-RPC error, at once.
            async with anyio.create_task_group() as group:
                group.start_soon(kill_when_started)
                with anyio.fail_after(ANSWER_WITHIN_S), pytest.raises(MCPError):
                    await client.call_tool(
                        "crasher__wait", {"label": "in flight"}, progress_callback=on_progress
                    )
            # While it is down: an error naming the gateway, not a hang.
            with anyio.fail_after(ANSWER_WITHIN_S), pytest.raises(MCPError) as down:
                await client.call_tool("llm_process_health", {})
            assert "gateway" in str(down.value)

            procs.append(gp.start(["--headless"], env))
            await anyio.to_thread.run_sync(gp.wait_ready, procs[1], port)
            # The same relay serves again: our tools, and the user's server's.
            with anyio.fail_after(ANSWER_WITHIN_S):
                health = await client.call_tool("llm_process_health", {})
                pid = await client.call_tool("crasher__pid", {})
            assert not health.is_error and not pid.is_error, (health, pid)
            # The event stream opens on the new gateway's session, and the relay says so.
            # (Awaited first: a change made before the stream opened would reach no one;
            # CI of 91ebe50 saw that race.)
            with anyio.fail_after(ANSWER_WITHIN_S):
                await changes[-1].wait()
            changes.append(anyio.Event())
            # The stream is open: a change reaches us.
            async with Client(f"http://127.0.0.1:{port}/mcp", mode="legacy") as other:
                await other.call_tool("crasher__grow", {"name": "sprout"})
            with anyio.fail_after(ANSWER_WITHIN_S):
                await changes[-1].wait()
            ours()

    try:
        gp.wait_ready(procs[0], port)
        anyio.run(editor)
        code, _, err = gp.stop(procs[-1])
        assert code == 0, err
        # The relay ended with its editor, the servers with their gateways.
        assert not wait_dead(seen, PROCESS_WAIT_S), [p for p in seen if psutil.pid_exists(p)]
    finally:
        for pid in seen | ours():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
