"""Your MCP servers' tools pinned at first sight: a real server (the Python SDK's MCPServer,
tests/fakes/mcp_shifter.py) whose tool changes between two listings, mid-run and between two
runs of the gateway; the changed tool withheld from `tools/list` and its calls refused until
approved, at the desk (the engine's service the MCP servers page drives) or on the command
line; suspect descriptions flagged, and withheld under the setting. The reference servers
(`.mcp-servers`) are the unchanged path: pinned, offered, never flagged."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import mcp_types

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import PINS_FILE
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from tests.child_python import run_ours
from tests.transports.mcp.conftest import running_gateway
from tests.transports.mcp.upstream_support import (
    EVERYTHING,
    FILESYSTEM,
    Start,
    local_mcp,
    require_servers,
)

SHIFTER = Path(__file__).resolve().parents[2] / "fakes" / "mcp_shifter.py"
ARRIVAL_S = 30.0


def shifter(mode: str = "plain") -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(SHIFTER), mode]}


async def _names(session: Any) -> set[str]:
    """The upstream servers' tools listed (ours left out: theirs have `__` in the name)."""
    return {t.name for t in (await session.list_tools()).tools if "__" in t.name}


async def test_a_tool_changed_mid_run_is_withheld_until_approved_at_the_desk(
    start: Start,
) -> None:
    gateway = await start({"mcp.servers": {"weather": shifter()}})
    changed = asyncio.Event()

    async def hear(message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            changed.set()

    async with local_mcp(gateway, message_handler=hear) as session:
        assert "weather__lookup" in await _names(session)
        assert not (await session.call_tool("weather__lookup", {"city": "Oslo"})).is_error
        await session.call_tool("weather__shift", {})
        await asyncio.wait_for(changed.wait(), ARRIVAL_S)
        assert "weather__lookup" not in await _names(session)
        refused = await session.call_tool("weather__lookup", {"city": "Oslo"})
        assert refused.is_error
        assert "upstream_tool_withheld" in json.dumps(refused.model_dump(mode="json"))

        (review,) = gateway.engine.upstream_mcp.tool_reviews("weather")
        assert (review.tool, review.state, review.withheld) == ("lookup", "changed", True)
        assert "-description: Look up today's weather for a city." in review.diff
        assert "+description: Look up today's weather for a city. <IMPORTANT>" in review.diff
        assert '+    "notes": {' in review.diff
        assert "asks for files or secrets the tool does not need" in review.flags

        changed.clear()
        approved = await gateway.engine.upstream_mcp.approve_tools(OPERATOR, "weather")
        assert approved == ["lookup"]
        await asyncio.wait_for(changed.wait(), ARRIVAL_S)  # sessions are told at once
        assert "weather__lookup" in await _names(session)
        answered = await session.call_tool("weather__lookup", {"city": "Oslo", "notes": ""})
        assert not answered.is_error, answered


async def test_a_tool_changed_between_runs_waits_for_the_command_line(
    loaded: LoadedSettings,
) -> None:
    require_servers()
    plain = {"mcp.servers": {"weather": shifter()}}
    async with running_gateway(loaded, plain) as gateway, local_mcp(gateway) as session:
        assert "weather__lookup" in await _names(session)
    pins = json.loads((loaded.settings.data_path / PINS_FILE).read_text())
    assert set(pins["servers"]["weather"]["pinned"]) == {"lookup", "shift"}

    changed = {"mcp.servers": {"weather": shifter("changed")}}
    async with running_gateway(loaded, changed) as gateway, local_mcp(gateway) as session:
        assert await _names(session) == {"weather__shift"}
        code, out, err = await run_ours("mcp-servers", "pending")
        assert code == 0, err
        assert "weather: lookup changed since it was approved" in out.decode()
        assert "+description: Look up today's weather for a city. <IMPORTANT>" in out.decode()
        code, out, err = await run_ours("mcp-servers", "approve", "weather")
        assert code == 0 and "Approved weather: lookup" in out.decode(), err
        async with asyncio.timeout(ARRIVAL_S):  # the app reads the file within a second
            while "weather__lookup" not in await _names(session):  # noqa: ASYNC110 - a file
                await asyncio.sleep(0.2)
    code, _, err = await run_ours("mcp-servers", "approve", "weather")
    assert code == 1 and "Nothing of MCP server 'weather'" in err.decode()


async def test_suspect_descriptions_are_flagged_and_withheld_under_the_setting(
    start: Start,
) -> None:
    gateway = await start(
        {
            "mcp.servers": {"weather": shifter("poisoned")},
            "mcp.withhold_flagged_tools": True,
        }
    )
    async with local_mcp(gateway) as session:
        assert await _names(session) == {"weather__shift"}
        reviews = {r.tool: r for r in gateway.engine.upstream_mcp.tool_reviews("weather")}
        assert reviews["helper"].withheld and reviews["lookup"].withheld
        assert (
            reviews["helper"]
            .flags[0]
            .startswith(
                "holds characters a reader cannot see (U+200B ZERO WIDTH SPACE, U+E0073 TAG"
            )
        )
        assert "tells the model to keep something from the user" in reviews["lookup"].flags
        assert reviews["lookup"].state == "pinned"  # flagged at first sight, not changed
        await gateway.engine.upstream_mcp.approve_tools(OPERATOR, "weather", "helper")
        assert await _names(session) == {"weather__shift", "weather__helper"}


async def test_flagged_tools_are_offered_to_you_while_the_setting_is_off(start: Start) -> None:
    gateway = await start({"mcp.servers": {"weather": shifter("poisoned")}})
    async with local_mcp(gateway) as session:
        names = await _names(session)
    assert {"weather__helper", "weather__lookup"} <= names
    # Flagged on the page, and withheld from remote callers until approved (SECURITY 98).
    reviews = gateway.engine.upstream_mcp.tool_reviews("weather")
    assert {r.tool for r in reviews} == {"helper", "lookup"}
    assert all(r.state == "pinned" and r.flags and r.withheld for r in reviews)


async def test_the_reference_servers_are_pinned_offered_and_never_flagged(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    require_servers()
    servers = {
        "everything": {"command": str(EVERYTHING), "args": ["stdio"]},
        "files": {"command": str(FILESYSTEM), "args": [str(tmp_path)]},
    }
    seen: list[set[str]] = []
    for _run in range(2):  # a second run reads the pins the first wrote
        async with running_gateway(loaded, {"mcp.servers": servers}) as gateway:
            async with local_mcp(gateway) as session:
                seen.append(await _names(session))
            assert gateway.engine.upstream_mcp.tool_reviews("everything") == []
            assert gateway.engine.upstream_mcp.tool_reviews("files") == []
    assert seen[0] == seen[1]
    assert {"everything__echo", "files__read_text_file"} <= seen[0]
    pins = json.loads((loaded.settings.data_path / PINS_FILE).read_text())
    assert {f"files__{n}" for n in pins["servers"]["files"]["pinned"]} <= seen[0]
    assert pins["servers"]["files"]["changed"] == {}
