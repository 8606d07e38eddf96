"""A damaged MCP tool pins file fails closed (issue 66, item 2).

A real server (the Python SDK's MCPServer, tests/fakes/mcp_shifter.py) is pinned in one run and
lists `lookup` rewritten in the next, where the change waits for approval. The pins file torn in
half, or emptied, was read as "no pins" and written again with the tools as they are now: the
changed tool offered, re-pinned, approved by nobody. Now the damaged file is kept aside
(`mcp-tool-pins.json.damaged`, as the recorder's journal keeps a damaged segment), every server's
tools are withheld until the person approves them again, that is said once (the log and a
notice on the desk), and what the person approves is offered again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import PINS_FILE
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.engine.events import Notice
from tests.child_python import run_ours
from tests.transports.mcp.conftest import running_gateway
from tests.transports.mcp.upstream_support import local_mcp

SHIFTER = Path(__file__).resolve().parents[2] / "fakes" / "mcp_shifter.py"
WITHIN_S = 30.0


def shifter(mode: str = "plain") -> dict[str, Any]:
    return {"mcp.servers": {"weather": {"command": sys.executable, "args": [str(SHIFTER), mode]}}}


def torn(text: bytes) -> bytes:
    return text[: len(text) // 2]


def emptied(_text: bytes) -> bytes:
    return b""


async def _names(session: Any) -> set[str]:
    return {t.name for t in (await session.list_tools()).tools if "__" in t.name}


async def _pinned_plain(loaded: LoadedSettings) -> Path:
    """Run a gateway whose server is as approved: its tools pinned; the pins file."""
    async with running_gateway(loaded, shifter()) as gateway, local_mcp(gateway) as session:
        assert await _names(session) == {"weather__lookup", "weather__shift"}
    return loaded.settings.data_path / PINS_FILE


@pytest.mark.parametrize("damage", [torn, emptied])
async def test_a_pins_file_damaged_while_a_change_waits_withholds_every_tool(
    loaded: LoadedSettings, damage: Callable[[bytes], bytes], caplog: pytest.LogCaptureFixture
) -> None:
    path = await _pinned_plain(loaded)
    async with running_gateway(loaded, shifter("changed")) as gateway:
        notices: list[Notice] = []
        gateway.engine.events.subscribe(Notice, notices.append)
        async with local_mcp(gateway) as session:
            assert await _names(session) == {"weather__shift"}  # lookup's change waits
            before = path.read_bytes()
            path.write_bytes(damage(before))
            # The app reads the file again within a second: the change never goes through.
            async with asyncio.timeout(WITHIN_S):
                while names := await _names(session):
                    assert "weather__lookup" not in names, "the changed tool was offered"
                    await asyncio.sleep(0.1)
            aside = path.with_name(PINS_FILE + ".damaged")
            assert aside.read_bytes() == damage(before)  # kept for a look
            data = json.loads(path.read_text())  # whole again, written by the app
            assert data["servers"]["weather"]["reapprove"] is True
            assert data["servers"]["weather"]["pinned"] == {}
            reviews = {r.tool: r for r in gateway.engine.upstream_mcp.tool_reviews("weather")}
            assert {t: (r.state, r.withheld) for t, r in reviews.items()} == {
                "lookup": ("new", True),
                "shift": ("new", True),
            }
            assert "+description: Look up today's weather for a city. <IMPORTANT>" in (
                reviews["lookup"].diff
            )
            # What is waiting is listed on the command line too, and approved there.
            code, out, err = await run_ours("mcp-servers", "pending", "weather")
            assert code == 0, err
            assert "weather: lookup is new" in out.decode()
            code, out, err = await run_ours("mcp-servers", "approve", "weather")
            assert code == 0 and "Approved weather:" in out.decode(), err
            async with asyncio.timeout(WITHIN_S):  # the app reads the file within a second
                while await _names(session) != {"weather__lookup", "weather__shift"}:  # noqa: ASYNC110 - a file
                    await asyncio.sleep(0.2)
        # Said once: one notice for the desk, one warning in the log.
        assert [n.topic for n in notices] == ["mcp-servers"]
        assert "withheld until you approve them again" in notices[0].message
        damaged = [r for r in caplog.records if "pins file" in r.getMessage()]
        assert [r.levelno for r in damaged] == [logging.WARNING]


async def test_a_pins_file_damaged_between_runs_withholds_every_tool(
    loaded: LoadedSettings,
) -> None:
    path = await _pinned_plain(loaded)
    path.write_bytes(torn(path.read_bytes()))
    code, _, err = await run_ours("mcp-servers", "approve", "weather")
    assert code == 1 and "is damaged" in err.decode()  # the command line never writes over it
    async with running_gateway(loaded, shifter()) as gateway, local_mcp(gateway) as session:
        assert await _names(session) == set()
        assert path.with_name(PINS_FILE + ".damaged").exists()
        approved = await gateway.engine.upstream_mcp.approve_tools(OPERATOR, "weather")
        assert sorted(approved) == ["lookup", "shift"]
        assert await _names(session) == {"weather__lookup", "weather__shift"}
