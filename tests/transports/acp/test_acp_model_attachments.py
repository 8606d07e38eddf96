"""Files and images an editor attaches to a prompt of `llmgw-desktop acp --model` reach the
model: a linked file (`resource_link`, how Zed and JetBrains attach an @-mentioned file) read
inside the session's folder, an embedded file (`resource`) and an image, each translated by the
gateway for the model's vendor. A link outside the folder (by `..`, by a symlink) and a file
past the cap are refused with a clear error before anything is sent. Driven by the official
Python client and the TypeScript SDK's `client().connectWith(...)`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import acp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.acp.python_editor import editor_of, open_session
from tests.transports.acp.ts_editor import run_steps
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    gateway,
    provider_env,
    start_gateway,
)

# A 1x1 transparent PNG.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()
NOTES = "NOTES-IN-THE-FILE: the build is broken\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The editor's folder: a notes file inside, a secret beside it, a link out of it."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.md").write_text(NOTES)
    (tmp_path / "secret.txt").write_text("TOP-SECRET-OUTSIDE")
    (folder / "escape.md").symlink_to(tmp_path / "secret.txt")
    return folder


def _sent(upstream: ScriptedUpstream) -> str:
    """Everything the model was sent, as one string."""
    return json.dumps([r.body for r in upstream.llm_requests])


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4-6"])
async def test_linked_and_embedded_files_and_an_image_reach_the_model(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
    project: Path,
    model: str,
) -> None:
    upstream.script(Reply.ok("read them", verbatim=True))
    prompt = [
        acp.text_block("What do these say?"),
        acp.resource_link_block("notes.md", (project / "notes.md").as_uri()),
        acp.resource_block(
            acp.embedded_text_resource("file:///elsewhere/open-buffer.py", "EMBEDDED-BUFFER = 1")
        ),
        acp.image_block(PNG, "image/png"),
    ]
    async with editor_of("--model", model, cwd=project) as (conn, editor):
        session = await open_session(conn, project)
        answer = await conn.prompt(session_id=session, prompt=prompt)
    assert answer.stop_reason == "end_turn"
    assert "read them" in "".join(editor.texts())
    sent = _sent(upstream)
    assert "What do these say?" in sent
    assert "NOTES-IN-THE-FILE" in sent and "EMBEDDED-BUFFER = 1" in sent
    assert PNG in sent  # the image went as an image (an image_url part, or Anthropic's source)
    body = upstream.llm_requests[-1].body
    kinds = json.dumps(body["messages"][-1]["content"])
    assert ('"image_url"' if model.startswith("gpt") else '"type": "image"') in kinds


async def test_links_outside_the_folder_and_files_past_the_cap_are_refused(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_MAX_ATTACHED_BYTES", "1000")
    (project / "big.log").write_bytes(b"x" * 1001)
    links = {
        "dotdot": f"file://{project}/../secret.txt",
        "symlink": (project / "escape.md").as_uri(),
        "big": (project / "big.log").as_uri(),
    }
    async with editor_of("--model", "gpt-4o-mini", cwd=project) as (conn, _editor):
        session = await open_session(conn, project)
        refused = {}
        for name, uri in links.items():
            with pytest.raises(acp.RequestError) as raised:
                await conn.prompt(
                    session_id=session,
                    prompt=[acp.text_block("read"), acp.resource_link_block(name, uri)],
                )
            refused[name] = raised.value
        too_big_image = base64.b64encode(b"\x89PNG" + b"\0" * 1200).decode()
        with pytest.raises(acp.RequestError) as image:
            await conn.prompt(
                session_id=session, prompt=[acp.image_block(too_big_image, "image/png")]
            )
    for name in ("dotdot", "symlink"):
        assert refused[name].code == -32000
        assert refused[name].data["code"] == "attachment_outside_folder", refused[name].data
        assert "outside the session's folder" in str(refused[name])
    assert refused["big"].data["code"] == "attachment_too_large"
    assert "1001 bytes" in str(refused["big"]) and "1000" in str(refused["big"])
    assert image.value.data["code"] == "attachment_too_large"
    assert upstream.llm_requests == []  # nothing was sent, the secret least of all


async def test_the_typescript_editor_attaches_a_file_and_is_refused_one_outside(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
    project: Path,
) -> None:
    upstream.script(Reply.ok("read it", verbatim=True))
    link = {"type": "resource_link", "name": "notes.md", "uri": (project / "notes.md").as_uri()}
    outside = {"type": "resource_link", "name": "x", "uri": (project / "escape.md").as_uri()}
    plan = [
        {"new": {}},
        {"prompt": [{"type": "text", "text": "Summarise"}, link]},
        {"prompt": [{"type": "text", "text": "and this"}, outside]},
    ]
    out = await run_steps(plan, "--model", "gpt-4o-mini", cwd=project)
    caps = out["initialize"]["agentCapabilities"]["promptCapabilities"]
    assert caps["image"] is True and caps["embeddedContext"] is True
    read, refused = out["steps"][1], out["steps"][2]
    assert read["answered"]["stopReason"] == "end_turn", read
    assert refused["code"] == -32000 and refused["data"]["code"] == "attachment_outside_folder"
    assert "NOTES-IN-THE-FILE" in _sent(upstream)
    assert "TOP-SECRET" not in _sent(upstream)
    assert len(upstream.llm_requests) == 1
