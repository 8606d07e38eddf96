"""Files and images an editor attaches to a prompt of `llmgw-desktop acp --agent NAME` reach the
agent: a linked file (`resource_link`) read by the gateway inside the session's folder, an
embedded file (`resource`) in the agent's prompt, an image to an agent that takes images. An
agent that takes none, or a CLI without ACP, is refused the image with why; a remote caller's
links are read only inside the workspace it is granted. The agent is the stand-in
(`tests/fakes/fake_acp_agent.py`: it quotes its prompt and names each image it got); the
editors are the official Python client, the TypeScript SDK's, and a bare socket for a key."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import acp
import aiohttp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER as OPERATOR
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.transports.acp.conftest import HELLO
from tests.transports.acp.python_editor import editor_of, open_session
from tests.transports.acp.test_acp_agent_remote import FAKE, TOKEN, Editor
from tests.transports.acp.test_acp_model_attachments import NOTES, PNG
from tests.transports.acp.ts_editor import chunks, run_steps

EMBEDDED = "EMBEDDED-BUFFER = 1"


@pytest.fixture
async def gateway(loaded: LoadedSettings, tmp_path: Path) -> AsyncIterator[GatewayRuntime]:
    """A locked gateway with two stand-in agents (one in place of the shipped `opencode-acp`,
    which takes images and which a gateway key may run, held by its confinement row; `plain`,
    added, which does not take them) and one workspace, `shared`, holding notes.md; a secret
    beside it and a link to it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.md").write_text(NOTES)
    (tmp_path / "secret.txt").write_text("TOP-SECRET-OUTSIDE")
    (shared / "escape.md").symlink_to(tmp_path / "secret.txt")

    def agent(behaviour: str) -> dict[str, object]:
        return {"command": sys.executable, "args": [str(FAKE), behaviour]}

    async with gateway_starter(loaded) as start:
        yield await start(
            {
                "providers.acp": {"opencode-acp": agent("answer"), "plain": agent("text-only")},
                "workspaces.registry": {"shared": str(shared)},
                "http.auth_token": TOKEN,
                "providers.retry_attempts": 1,
            }
        )


async def test_linked_and_embedded_files_and_an_image_reach_the_agent(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    prompt = [
        acp.text_block("What do these say?"),
        acp.resource_link_block("notes.md", (shared / "notes.md").as_uri()),
        acp.resource_block(acp.embedded_text_resource("file:///elsewhere/buffer.py", EMBEDDED)),
        acp.image_block(PNG, "image/png"),
    ]
    async with editor_of("--agent", "opencode-acp", cwd=shared) as (conn, editor):
        session = await open_session(conn, shared)
        answer = await conn.prompt(session_id=session, prompt=prompt)
    assert answer.stop_reason == "end_turn"
    said = "".join(editor.texts())
    assert "What do these say?" in said
    assert "NOTES-IN-THE-FILE" in said and str(shared / "notes.md") in said
    assert EMBEDDED in said and "file:///elsewhere/buffer.py" in said
    assert f"image:image/png:{len(PNG)}" in said


async def test_an_image_for_an_agent_or_cli_that_takes_none_is_refused_with_why(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    image = {"type": "image", "mimeType": "image/png", "data": PNG}
    text = {"type": "text", "text": "look"}
    plan = [{"new": {}}, {"prompt": [text, image]}, {"prompt": [text]}]
    plain = (await run_steps(plan, "--agent", "plain", cwd=shared))["steps"]
    assert plain[1]["code"] == -32000, plain[1]
    assert "takes no images" in plain[1]["message"]
    assert plain[2]["answered"]["stopReason"] == "end_turn"  # text alone goes on
    assert "heard 'look'" in chunks(plain[2])
    cli = (await run_steps(plan[:2], "--agent", "grok", cwd=shared))["steps"]
    assert cli[1]["code"] == -32000
    assert "grok takes no images through the gateway" in cli[1]["message"]


async def _prompt(editor: Editor, cwd: Path, link: str) -> dict[str, object]:
    new = await editor.request("session/new", {"cwd": str(cwd), "mcpServers": []})
    blocks = [{"type": "text", "text": "read"}, {"type": "resource_link", "name": "f", "uri": link}]
    params = {"sessionId": new["result"]["sessionId"], "prompt": blocks}
    return await editor.request("session/prompt", params)


async def test_a_remote_callers_links_are_read_only_inside_its_workspace(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "mine.md").write_text("NOT-A-WORKSPACE")
    key = await gateway.engine.keys.create(OPERATOR, KeySpec(name="editor"))
    url = f"{gateway.base_url}/acp?agent=opencode-acp"
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, headers={"Authorization": f"Bearer {key.secret}"}) as socket,
    ):
        editor = Editor(socket)
        await editor.request("initialize", HELLO)
        inside = await _prompt(editor, shared, (shared / "notes.md").as_uri())
        assert "NOTES-IN-THE-FILE" in editor.said(), inside
        escapes = [
            await _prompt(editor, shared, f"file://{shared}/../secret.txt"),
            await _prompt(editor, shared, (shared / "escape.md").as_uri()),
        ]
        elsewhere = await _prompt(editor, outside, (outside / "mine.md").as_uri())
    for refused in escapes:
        error = refused["error"]
        assert error["code"] == -32000 and error["data"]["code"] == "attachment_outside_folder"
    assert "no folder the gateway may read" in elsewhere["error"]["message"]
    assert "TOP-SECRET" not in editor.said() and "NOT-A-WORKSPACE" not in editor.said()
