"""Every relayed use of a user's MCP server ends its flight-recorder row, whatever fails.

`_recorded` ended a row only on our own errors and on cancellation; anything else left it
`started` for good, a call that reads as in flight for ever. The one that can happen is anyio's
`ClosedResourceError`/`BrokenResourceError` on the SDK's session (a call that asks for progress,
or any call to an HTTP server): the server's transport ended between the check that it is
connected and the send. That moment cannot be timed against a real process, so the real
server's live session is made to raise it (a stand-in for the race, said here), beside the same
call answered normally.
"""

from __future__ import annotations

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from llmgw_desktop.engine.upstream_mcp.connection import UpstreamServer
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.mcp.upstream_support import Start, crasher, local_mcp, rows


async def _ignored(progress: float, total: float | None, message: str | None) -> None:
    """A progress callback: a call with one goes through the SDK's session."""


async def _wired(start: Start) -> tuple[GatewayRuntime, UpstreamServer, ClientSession]:
    gateway = await start({"mcp.servers": {"crasher": crasher()}})
    async with local_mcp(gateway) as client:
        assert not (await client.call_tool("crasher__pid", {})).is_error  # the legitimate path
    server = gateway.engine.upstream_mcp.servers["crasher"]
    return gateway, server, await server.session()


@pytest.mark.parametrize("lost", [anyio.ClosedResourceError, anyio.BrokenResourceError])
async def test_a_session_closed_under_a_call_is_a_lost_server_and_its_row_ends(
    start: Start, monkeypatch: pytest.MonkeyPatch, lost: type[Exception]
) -> None:
    gateway, server, session = await _wired(start)

    async def closed(*_: object, **__: object) -> None:
        raise lost()

    monkeypatch.setattr(session, "call_tool", closed)
    async with local_mcp(gateway) as client:
        # Asking for progress: the call goes through the SDK's session, not beside it.
        answer = await client.call_tool("crasher__pid", {}, progress_callback=_ignored)
    assert answer.is_error
    said = (answer.structured_content or {})["error"]
    assert said["code"] == "upstream_server_failed" and said["retryable"], said
    assert lost.__name__ in said["message"], said
    # Taken for a lost connection: the server is restarted, not left with a dead session.
    assert not server.connected or await server.session() is not session
    recorded = await rows(gateway, "crasher")
    assert [r["state"] for r in recorded[:2]] == ["failed", "completed"], recorded
    assert recorded[0]["error_code"] == "upstream_server_failed"
    assert not [r for r in recorded if r["state"] == "started"], recorded


async def test_a_bug_under_a_call_still_ends_its_row(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, server, _ = await _wired(start)
    line = server.line
    assert line is not None  # a plain call goes beside the SDK's session, on the server's stdin

    async def broken(*_: object, **__: object) -> None:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(line, "request", broken)
    async with local_mcp(gateway) as client:
        with pytest.raises(MCPError, match="failed relaying"):
            await client.call_tool("crasher__pid", {})
    recorded = await rows(gateway, "crasher")
    assert (recorded[0]["state"], recorded[0]["error_code"]) == ("failed", "internal_error")
    assert not [r for r in recorded if r["state"] == "started"], recorded
