"""Issue 37, item 4: one slow or huge user MCP server does not slow or bloat the others' lists.

Beside the real `server-everything` (well-behaved), two hostile stdio servers
(`tests/fakes/mcp_hostile.py`): one never answers `initialize`, one lists 20,000 tools. Before,
the mute one held 4 of 5 new sessions' `tools/list` for 15 s, and the huge one made each list
answer 40 MiB. Now a list waits for a server's first start at most `mcp.list_wait_ms`, once;
the mute one fails its start within `mcp.start_timeout_ms` and the MCP servers page says why;
the huge one offers `mcp.max_tools_per_server` tools and says how many it left out; a server
that ended offers what it listed last while it restarts.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from typing import Any

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.logged_errors import errors_logged
from tests.transports.mcp.upstream_support import (
    ROOT,
    Start,
    crasher,
    everything,
    local_mcp,
)

HOSTILE = ROOT / "tests" / "fakes" / "mcp_hostile.py"
LIST_WAIT_S = 6.0
START_TIMEOUT_S = 8.0
MAX_TOOLS = 50
SESSIONS = 5
# A list that waits for nobody answers well within this (the machine is shared and busy: loaded
# CI runs took 1.56 s and 2.69 s, the second past a bound of 2.5 s with a wait of 3 s); one
# that waited for the mute server takes LIST_WAIT_S at least.
QUICK_S = 4.5
assert QUICK_S < LIST_WAIT_S


def hostile(*args: str) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(HOSTILE), *args]}


def _tools_of(gateway: GatewayRuntime, server: str) -> int | None:
    """How many of `server`'s tools the gateway lists now (None: not known yet)."""
    status = {s["name"]: s for s in gateway.engine.upstream_mcp.status()}
    return status.get(server, {}).get("tools")


def _servers_said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the upstream servers' code logged, and when each list began, with their times."""
    return [
        f"{record.created:.2f} {record.getMessage()}"
        for record in caplog.records
        if record.name.startswith("llmgw_desktop.engine.upstream_mcp") or record.name == __name__
    ]


async def _list(gateway: GatewayRuntime) -> tuple[float, list[str]]:
    """A new session's `tools/list`: how long it took and the names."""
    async with local_mcp(gateway) as client:
        began = time.monotonic()
        logging.getLogger(__name__).info("a list at %.2f", time.time())
        tools = (await client.list_tools()).tools
        return time.monotonic() - began, [t.name for t in tools]


async def test_a_server_whose_first_start_failed_before_any_list_holds_up_no_list(
    start: Start,
) -> None:
    """The sweep's M8, found in a CI run's log: under load the mute and the huge server both
    failed their first start before the first list asked for them, so no list waited them
    out; the second list then waited `mcp.list_wait_ms` for the mute one's restart (3.28 s
    against 0.08-0.26 s for the others). A server whose start failed once is not starting for
    the first time: no list waits for it."""
    gateway = await start(
        {
            "mcp.servers": {"everything": everything(), "mute": hostile("mute")},
            "mcp.list_wait_ms": int(LIST_WAIT_S * 1000),
            # Longer than a list's wait: a list that waited on its restart took the whole wait.
            "mcp.start_timeout_ms": int(START_TIMEOUT_S * 1000),
        }
    )
    mute = gateway.engine.upstream_mcp.servers["mute"]
    mute.wake()  # its first start, with no list asking
    async with asyncio.timeout(START_TIMEOUT_S + 10):
        while mute.starts < 2:  # failed, and restarting  # noqa: ASYNC110 - a plain counter
            await asyncio.sleep(0.05)
    took, names = await _list(gateway)
    assert took < QUICK_S, took
    assert "everything__echo" in names and not [n for n in names if n.startswith("mute__")]


async def test_a_mute_and_a_huge_server_neither_delay_nor_bloat_the_others_lists(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    # What the servers did, with its times, for a list that took too long (a loaded CI run's
    # second list took 3.5 s after the M8 mend, with only the warnings kept).
    caplog.set_level(logging.INFO, "llmgw_desktop.engine.upstream_mcp")
    caplog.set_level(logging.INFO, __name__)
    gateway = await start(
        {
            "mcp.servers": {
                "everything": everything(),
                "mute": hostile("mute"),
                "huge": hostile("huge", "20000"),
            },
            "mcp.list_wait_ms": int(LIST_WAIT_S * 1000),
            "mcp.start_timeout_ms": int(START_TIMEOUT_S * 1000),
            "mcp.max_tools_per_server": MAX_TOOLS,
        }
    )
    listed = [await _list(gateway)]
    first_took = listed[0][0]
    # The first list waits for no server past mcp.list_wait_ms: under load the huge one's first
    # list can still be being read then (seen on three loaded workers). The later lists are
    # asked once it is up.
    huge_tools = _tools_of(gateway, "huge")
    async with asyncio.timeout(START_TIMEOUT_S + 10):
        while huge_tools != MAX_TOOLS:
            await asyncio.sleep(0.1)
            huge_tools = _tools_of(gateway, "huge")
    listed += [await _list(gateway) for _ in range(SESSIONS - 1)]
    # The first list waited for the servers' first start, at most mcp.list_wait_ms (and the
    # loop's time reading the huge server's first list: about 1.5 s on a quiet machine, 5.8 s
    # on a CI run at load 8, 2026-11-25); none after it waited for the mute server (before:
    # 15 s each, which this bound still tells apart).
    assert first_took < LIST_WAIT_S + 3 * QUICK_S, listed[0][0]
    for took, names in listed[1:]:
        assert took < QUICK_S, ([t for t, _ in listed], _servers_said(caplog))
        assert "everything__echo" in names
        assert not [n for n in names if n.startswith("mute__")]
        huge = [n for n in names if n.startswith("huge__")]
        assert len(huge) == MAX_TOOLS, len(huge)
    # A tool of the well-behaved server works beside them.
    async with local_mcp(gateway) as client:
        echoed = await client.call_tool("everything__echo", {"message": "still here"})
    assert not echoed.is_error and "still here" in echoed.content[0].text
    # The page's figures: the huge one says what it left out, the mute one why it failed.
    status = {s["name"]: s for s in gateway.engine.upstream_mcp.status()}
    assert status["huge"]["tools"] == MAX_TOOLS and status["huge"]["leftOut"]["tools"] > 0
    async with asyncio.timeout(START_TIMEOUT_S + 10):
        while status["mute"]["state"] != "failed":
            await asyncio.sleep(0.1)
            status = {s["name"]: s for s in gateway.engine.upstream_mcp.status()}
    assert (
        "initialize" in status["mute"]["error"]
        and "mcp.start_timeout_ms" in status["mute"]["error"]
    )
    # The list that stopped waiting for it left nothing to fail unseen: its failure came to no
    # future that nobody reads (asyncio logged "Future exception was never retrieved").
    # Less an SDK client an earlier test on this worker dropped, closing late (a CI run of
    # 2026-11-29: its `aclose()` failed on its closed loop here, `tests/logged_errors.py`).
    gc.collect()
    assert not [r for r in errors_logged(caplog.records) if "never retrieved" in r.getMessage()]
    assert status["everything"]["state"] == "running" and not status["everything"]["leftOut"]
    # Still failing, it holds up no list.
    took, names = await _list(gateway)
    assert took < QUICK_S and "everything__echo" in names


async def test_a_server_that_ended_offers_what_it_listed_last_while_it_restarts(
    start: Start,
) -> None:
    gateway = await start(
        {
            "mcp.servers": {"crasher": crasher(), "everything": everything()},
            "mcp.list_wait_ms": 20_000,  # the first list waits for both, however busy the box
        }
    )
    took, names = await _list(gateway)
    assert "crasher__pid" in names and "everything__echo" in names
    async with local_mcp(gateway) as client:
        ended = await client.call_tool("crasher__crash", {})
    assert ended.is_error
    server = gateway.engine.upstream_mcp.servers["crasher"]
    assert not server.connected
    # Restarting (after its back-off): its tools are still listed, and the status says so.
    status = next(s for s in gateway.engine.upstream_mcp.status() if s["name"] == "crasher")
    assert status["stale"] is True, status
    took, names = await _list(gateway)
    assert "crasher__pid" in names and took < QUICK_S
