"""A user's MCP stdio server is stopped as every child the engine starts is
(`providers/process_tree.stop_tree`, issue 63): whatever it started in its group goes with it,
a grandchild that ignores SIGTERM too. The server's own stop once SIGTERMed the group and, the
server having exited, waited for nothing more: such a grandchild was left running.

Real processes (`tests/fakes/behaving_process.py`): a server that starts a grandchild ignoring
SIGTERM, and exits on SIGTERM itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmgw_desktop.engine.providers.lifeline import Lifeline
from llmgw_desktop.engine.upstream_mcp.stdio import ServerProcess, stdio_streams
from tests.engine.providers.test_lifeline import FAKE, alive, gone
from tests.waiting import until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and signals")


async def test_a_servers_grandchild_that_ignores_sigterm_is_stopped_with_it(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "grandchild.pid"
    process = ServerProcess()
    lifeline = Lifeline(stop_grace_s=0.2, use_warden=False)
    argv = [sys.executable, FAKE, "stubborn-tree", str(pidfile)]
    async with stdio_streams(argv, {}, tmp_path, lifeline, process):
        text = await until(lambda: pidfile.exists() and pidfile.read_text(), "the grandchild")
        grandchild = int(text)
        assert alive(grandchild)
    assert process.ended.is_set() and process.returncode is not None
    assert await gone(grandchild), "the server's grandchild outlived its stop"
