"""A workspace that lets remote callers edit is never made inside or around a `commands` one
(SECURITY.md 37).

What an allow-listed command runs comes from files, so `commands` and `edit` never meet on the
same files (finding 15). That was checked only when a call in the `commands` workspace was
submitted: a principal holding `workspace:admin` could register (or create) an `edit`
workspace inside it while a long `commands` run went on, write a test file there, and have the
running command execute it. Now the registry refuses such a workspace when it is made. The
caller is an OAuth client granted `workspace:admin`, over the official MCP client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.transports.auth.conftest import (  # noqa: F401 - the fixture
    CLIENT_ID,
    TOKEN,
    Start,
    call_tool,
    oauth_access_token,
    oauth_settings,
    start,
)


def _repo(path: Path) -> Path:
    (path / ".git").mkdir(parents=True)
    return path


async def _gateway(start: Start, tmp_path: Path, level: str) -> GatewayRuntime:  # noqa: F811
    roots = tmp_path / "roots"
    settings = oauth_settings()
    settings["http.oauth.clients"][CLIENT_ID]["scopes"] = "mcp workspace:admin"
    return await start(
        {
            **settings,
            "http.auth_token": TOKEN,
            "workspaces.remote_level": level,
            "workspaces.allowed_roots": [str(roots), str(roots / "site")],
            "workspaces.registry": {
                "site": {
                    "path": str(roots / "site"),
                    "remote_level": "commands",
                    "remote_allowed_tools": ["Bash(npm test)"],
                }
            },
        },
    )


async def _tool(gateway: GatewayRuntime, tool: str, **arguments: Any) -> tuple[bool, Any]:
    token = await oauth_access_token(gateway, "mcp workspace:admin")
    result = await call_tool(gateway, {"Authorization": f"Bearer {token}"}, tool, arguments)
    return bool(result.is_error), result.structured_content


async def test_an_edit_workspace_is_not_made_inside_or_around_a_commands_one(
    start: Start,  # noqa: F811
    tmp_path: Path,
    workspace_admin_opt_in: None,
) -> None:
    gateway = await _gateway(start, tmp_path, "edit")
    roots = tmp_path / "roots"
    site = roots / "site"
    inside, around = _repo(site / "tests"), _repo(roots)
    attempts = {
        "register inside": ("workspace_register_existing_repo", {"path": str(inside)}),
        "register around": ("workspace_register_existing_repo", {"path": str(around)}),
        "register at": ("workspace_register_existing_repo", {"path": str(_repo(site))}),
        "create inside": ("workspace_create", {"root": str(site)}),
    }
    for label, (tool, arguments) in attempts.items():
        failed, body = await _tool(gateway, tool, name=label.replace(" ", "-"), **arguments)
        assert failed, (label, body)
        error = body["error"]
        assert error["code"] == "remote_power_refused", (label, error)
        assert "'site'" in error["message"] and "workspaces.remote_level" in error["message"]
    assert not (site / "create-inside").exists()  # refused before the directory was made
    # Apart from it, the same caller makes and registers workspaces as before.
    failed, made = await _tool(gateway, "workspace_create", name="apart", root=str(roots))
    assert not failed, made
    failed, registered = await _tool(
        gateway, "workspace_register_existing_repo", name="other", path=str(_repo(roots / "other"))
    )
    assert not failed, registered
    names = [w.name for w in await gateway.engine.workspaces.visible(f"oauth:{CLIENT_ID}")]
    assert names == ["site", "apart", "other"]


async def test_a_read_only_workspace_may_be_made_inside_a_commands_one(
    start: Start,  # noqa: F811
    tmp_path: Path,
    workspace_admin_opt_in: None,
) -> None:
    # Made workspaces take the global level: read-only ones write nothing a command could run.
    gateway = await _gateway(start, tmp_path, "read-only")
    inside = _repo(tmp_path / "roots" / "site" / "tests")
    failed, registered = await _tool(
        gateway, "workspace_register_existing_repo", name="tests", path=str(inside)
    )
    assert not failed, registered
