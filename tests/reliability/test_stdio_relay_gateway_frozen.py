"""The gateway is stopped (SIGSTOP) while an editor's stdio relay (`llmgw-desktop mcp`) has a
call in flight: the relay answers that call with a JSON-RPC error saying the gateway is not
answering, within `mcp.stdio_relay_silence_ms` and a little, stays up, and once the gateway
runs again (SIGCONT) the same relay serves the next call. A tool call longer than that bound,
on a gateway that answers, is not cut: the relay tells the two apart by the gateway's
/health, which a stopped gateway leaves unanswered (its kernel still accepts the connection,
so nothing fails on the wire).

Before, the relay waited for ever: the editor's call hung with no word.

Real processes: the gateway (`--headless`), the relay started by the official `mcp` SDK's
stdio client as an editor starts it, the crasher fake and the reference `everything` server
as the user's MCP servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import psutil
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from llmgw_desktop.transports.mcp.gateway_watch import probe_every
from tests.e2e import gateway_process as gp
from tests.ports import free_port
from tests.transports.mcp.upstream_support import CRASHER, EVERYTHING, require_servers

SILENCE_MS = 3_000
# Slack beyond the bound on a loaded 2-core machine; each wait is bounded, never a sleep.
LATE_BY_S = 10.0
ANSWER_WITHIN_S = 60.0
# The everything server's long operation, in one step (no progress on the wire meanwhile):
# three times the bound.
LONG_S = 3 * SILENCE_MS // 1000
SERVERS = (
    f"[mcp.servers.crasher]\ncommand = {sys.executable!r}\nargs = [{str(CRASHER)!r}]\n"
    f"[mcp.servers.everything]\ncommand = {str(EVERYTHING)!r}\nargs = ['stdio']\n"
)


@contextlib.contextmanager
def gateway(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """The gateway with the two servers configured; the env an editor's relay is started with
    (the short silence bound in it). On the way out, every process started is gone: the
    gateway is woken first, so its stop and the kills reach it."""
    port = free_port()
    (tmp_path / "config.toml").write_text(SERVERS, encoding="utf-8")
    env = gp.child_env(tmp_path, port, LLM_GATEWAY_MCP_STDIO_RELAY_SILENCE_MS=str(SILENCE_MS))
    proc = gp.start(["--headless"], env)
    try:
        gp.wait_ready(proc, port)
        yield proc, env
        code, _, err = gp.stop(proc)
        assert code == 0, err
    finally:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGCONT)
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def relay(env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "llmgw_desktop", "mcp"], env=env
    )


def test_a_stopped_gateway_is_said_within_the_bound_and_the_relay_serves_again_once_it_runs(
    tmp_path: Path,
) -> None:
    with gateway(tmp_path) as (proc, env):

        async def editor() -> None:
            async with Client(stdio_client(relay(env)), mode="legacy") as client:
                assert not (await client.call_tool("crasher__pid", {})).is_error
                started = anyio.Event()
                stopped_at: list[float] = []

                async def on_progress(
                    progress: float, total: float | None, message: str | None
                ) -> None:
                    started.set()

                async def stop_when_started() -> None:
                    await started.wait()
                    os.kill(proc.pid, signal.SIGSTOP)
                    stopped_at.append(time.monotonic())

                async with anyio.create_task_group() as group:
                    group.start_soon(stop_when_started)
                    with (
                        anyio.fail_after(SILENCE_MS / 1000 + LATE_BY_S),
                        pytest.raises(MCPError) as frozen,
                    ):
                        await client.call_tool(
                            "crasher__wait", {"label": "frozen"}, progress_callback=on_progress
                        )
                took = time.monotonic() - stopped_at[0]
                said = str(frozen.value)
                assert "not answering" in said and "/health" in said, said
                assert "mcp.stdio_relay_silence_ms" in said, said
                # Counted from the gateway's last answer to a probe, which may come a probe's
                # interval before it was stopped.
                silence_s = SILENCE_MS / 1000
                assert silence_s - probe_every(silence_s) <= took < silence_s + LATE_BY_S, took

                os.kill(proc.pid, signal.SIGCONT)
                # The same relay, the same session: served again.
                with anyio.fail_after(ANSWER_WITHIN_S):
                    again = await client.call_tool("crasher__pid", {})
                assert not again.is_error, again

        anyio.run(editor)


def test_a_call_longer_than_the_bound_on_a_gateway_that_answers_is_not_cut(
    tmp_path: Path,
) -> None:
    require_servers()
    with gateway(tmp_path) as (_, env):

        async def editor() -> None:
            async with Client(stdio_client(relay(env)), mode="legacy") as client:
                began = time.monotonic()
                with anyio.fail_after(ANSWER_WITHIN_S):
                    result = await client.call_tool(
                        "everything__trigger-long-running-operation",
                        {"duration": LONG_S, "steps": 1},
                    )
                assert not result.is_error, result
                assert "completed" in result.content[0].text  # type: ignore[union-attr]
                assert time.monotonic() - began >= LONG_S

        anyio.run(editor)
