"""The workspace tools in memory: list and get; creating needs the operator's opt-in."""

from __future__ import annotations

from pathlib import Path

from llmgw_desktop.engine.engine import Engine
from tests.transports.mcp.tools.conftest import call, call_error, connect


async def test_no_workspaces_until_some_are_registered(engine: Engine) -> None:
    async with connect(engine) as client:
        listed = await call(client, "workspace_list", {})
        missing = await call_error(client, "workspace_get", {"name": "nope"})
    assert listed == {"workspaces": [], "default": None}
    assert missing["code"] == "unknown_workspace"


async def test_creating_workspaces_is_off_without_the_admin_switch(
    engine: Engine, tmp_path: Path
) -> None:
    async with connect(engine) as client:
        made = await call_error(client, "workspace_create", {"name": "fresh"})
        registered = await call_error(
            client,
            "workspace_register_existing_repo",
            {"name": "repo", "path": str(tmp_path)},
        )
    assert made["code"] and made["code"] == registered["code"]
