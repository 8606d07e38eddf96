"""What a user's MCP server over Streamable HTTP can make the gateway read: one answer at most
the stdio line's bound, as a JSON body and as an event of a stream (`upstream_mcp/http_cap.py`).

Before: a JSON answer was read whole, however large (SECURITY.md's known limits), and an answer
over 1 MiB sent as an event failed however legitimate (the SDK's own bound). A real server, the
Python SDK's `MCPServer` over Streamable HTTP in both answer modes (`tests/fakes/
mcp_big_answers.py`), answers with text of a chosen size; the bound is lowered to 8 MiB here so
the test holds little memory (the gateway reads it from the module at each connection).
"""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.upstream_mcp import transport
from tests.transports.mcp.upstream_support import (
    ROOT,
    Start,
    local_mcp,
    rows,
    served_over_http,
)

BIG_ANSWERS = ROOT / "tests" / "fakes" / "mcp_big_answers.py"
LIMIT_MIB = 8


@pytest.mark.parametrize("mode", ["json", "sse"])
async def test_an_answer_over_the_bound_is_the_servers_error_and_one_under_it_is_relayed(
    start: Start, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "ANSWER_LIMIT_BYTES", LIMIT_MIB * 1024 * 1024)
    with served_over_http(str(BIG_ANSWERS), mode) as url:
        gateway = await start({"mcp.servers": {"big": {"url": url}}})
        async with local_mcp(gateway) as client:
            # 2 MiB: under the bound (over the SDK's own 1 MiB for an event, which refused it).
            fits = await client.call_tool("big__sized", {"megabytes": 2})
            over = await client.call_tool("big__sized", {"megabytes": LIMIT_MIB + 4})
            after = await client.call_tool("big__sized", {"megabytes": 0.01})
    assert not fits.is_error, str(fits)[:500]
    assert len(fits.content[0].text) == 2 * 1024 * 1024
    assert over.is_error, str(over)[:500]
    error = over.structured_content["error"]
    # A JSON body is the server's answer, unusable; an event stream cut past the bound is the
    # SDK's "SSE stream failed", a lost connection to the relay: the server is connected again
    # (the next call below is served) and the call may be retried.
    expected = {"json": "upstream_server_error", "sse": "upstream_server_failed"}[mode]
    assert error["code"] == expected and "big" in error["message"], error
    assert not after.is_error and len(after.content[0].text) == int(0.01 * 1024 * 1024)
    states = sorted(
        (r["state"], r["error_code"])
        for r in await rows(gateway, "big")
        if r["tool"] == "big__sized"
    )
    assert states == [("completed", None), ("completed", None), ("failed", expected)], states
