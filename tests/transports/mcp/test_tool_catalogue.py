"""The tools/list answer (names, schemas, annotations) stays byte-identical to the snapshot.

Clients cache tool schemas and agents are prompted with them, so any change to a name, a
property, a default or a description is a change of the wire format. Regenerate the snapshot
deliberately (`LLMGW_WRITE_TOOL_SNAPSHOT=1`) only when such a change is intended.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.transports.mcp.server import build_mcp_server

SNAPSHOT = Path(__file__).with_name("tools_list.json")


async def test_tools_list_matches_the_snapshot(loaded: LoadedSettings) -> None:
    async with Client(build_mcp_server(Engine(loaded.settings))) as client:
        listed = await client.list_tools()
    tools = [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed.tools
    ]
    text = json.dumps(tools, indent=1, ensure_ascii=False) + "\n"
    if os.environ.get("LLMGW_WRITE_TOOL_SNAPSHOT") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")


def test_every_listed_tool_is_named_in_the_tools_page() -> None:
    """Every tool of the snapshot is on docs/mcp-tools.md (an `_async` twin by its sync
    tool's name: the page names each once, "each with an `_async` twin")."""
    page = (Path(__file__).resolve().parents[3] / "docs" / "mcp-tools.md").read_text("utf-8")
    listed = [tool["name"] for tool in json.loads(SNAPSHOT.read_text(encoding="utf-8"))]
    missing = [n for n in listed if f"`{n.removesuffix('_async')}`" not in page]
    assert missing == [], "name them in docs/mcp-tools.md"
