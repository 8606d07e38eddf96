"""A POST whose client left is cancelled once, not once per id in it (sync-cancel red-team,
2026-11-25).

When a 2025-era POST's client leaves before its answer, the front door tells the session that
the POST's request is cancelled, posting `notifications/cancelled` through the SDK's entry
(`transports/mcp/left_requests.py`). It read every id of a JSON-RPC batch and posted one
notification per id, though the SDK refuses a batch whole (nothing of it runs): one POST of a
16 MiB batch, its client gone at once, became some 300,000 requests to the SDK on the gateway's
loop (measured: 20,000 ids in a 1 MiB body kept the loop busy 4.4 s), past every rate limit,
since the edge counts the one POST.

The gateway runs in this process with its real HTTP front door; the client writes raw HTTP on
a socket and closes it; the CLI is the fake `claude` (`_crash_support.py`). Beside the batch,
the legitimate path: one call whose client leaves is cancelled, its CLI stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.mcp import left_requests
from tests.reliability.conftest import leftovers  # noqa: F401 - a fixture
from tests.reliability.test_mcp_calls_left import (  # noqa: F401 - fixtures
    SETTLE_S,
    check_stopped,
    gateway,
    tree_prompt,
    tree_running,
)
from tests.transports.mcp.upstream_support import RawSession, jsonrpc

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

BATCH = 2_000


async def posted(
    runtime: GatewayRuntime, headers: dict[str, str], body: Any
) -> asyncio.StreamWriter:
    """POST `body` on the session `headers` name; the connection, to leave by closing it."""
    data = json.dumps(body).encode()
    host, port = runtime.base_url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    head = [f"POST {runtime.settings.http.path} HTTP/1.1", f"Host: {host}:{port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + data)
    await writer.drain()
    return writer


async def leave(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


async def cancellations_posted(runtime: GatewayRuntime, caplog: pytest.LogCaptureFixture) -> int:
    """The cancellations the front door posted for clients that left (one log record each),
    once none is being posted (bounded)."""
    deadline = time.monotonic() + SETTLE_S
    while "mcp-cancel-left-request" in runtime.engine.tasks.running:
        assert time.monotonic() < deadline, "the cancellations of a POST never ended"
        await asyncio.sleep(0.05)
    return sum(1 for r in caplog.records if r.name == left_requests.__name__)


async def test_a_batch_whose_client_left_is_not_cancelled_once_per_id(
    gateway: GatewayRuntime,  # noqa: F811
    tmp_path: Path,
    leftovers: list[int],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=left_requests.__name__)
    async with aiohttp.ClientSession() as http:
        session = RawSession(http, gateway.mcp_url)
        await session.open("editor")
    succeed = {"name": "claude_request", "arguments": {"prompt": "succeed"}}
    batch = [jsonrpc(n, "tools/call", succeed) for n in range(BATCH)]
    await leave(await posted(gateway, session.headers, batch))  # gone at once

    # The legitimate path: one call, its client gone while its CLI runs, is cancelled.
    hanging = {"name": "claude_request", "arguments": {"prompt": tree_prompt(tmp_path, "pids")}}
    connection = await posted(gateway, session.headers, jsonrpc(1, "tools/call", hanging))
    pids = await tree_running(tmp_path, leftovers, "pids")
    await leave(connection)
    await check_stopped(gateway, pids)
    # One cancellation, the call's; none for the batch the SDK refused whole.
    assert await cancellations_posted(gateway, caplog) == 1
