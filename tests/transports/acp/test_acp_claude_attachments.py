"""A linked file and an image attached in the editor reach Claude Code's model through the real
agent: `llmgw-desktop acp --agent claude` runs Zed's claude-agent-acp (pinned in
`.ci/acp-agents`) with its model calls pointed back at the gateway, whose Anthropic provider is
the scripted upstream. The editor is the official Python client; a link out of the folder is
refused before the agent starts."""

from __future__ import annotations

import json
from pathlib import Path

import acp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from tests.contract.conftest import offline  # noqa: F401 - fixtures
from tests.contract.offline import ACP_BIN, CLI_BIN, find_cli
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.gateways import gateway_starter
from tests.transports.acp.python_editor import editor_of, open_session
from tests.transports.acp.test_acp_model_attachments import NOTES, PNG

pytestmark = pytest.mark.contract


async def test_claude_reads_a_linked_file_and_sees_an_image(
    loaded: LoadedSettings,
    offline: Path,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    find_cli("claude-agent-acp", ACP_BIN)
    monkeypatch.setenv("IS_SANDBOX", "1")  # Claude Code refuses root without it (this CI is root)
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.md").write_text(NOTES)
    (tmp_path / "secret.txt").write_text("TOP-SECRET-OUTSIDE")
    upstream.script_when_offered("Bash", Reply.ok("I read your notes", verbatim=True))
    settings = {
        "providers.cli_path": [str(ACP_BIN), str(CLI_BIN)],
        "providers.acp": {"claude-acp": {"env": ["IS_SANDBOX"]}},
        "providers.retry_attempts": 1,
    }
    prompt = [
        acp.text_block("What do my notes say?"),
        acp.resource_link_block("notes.md", (work / "notes.md").as_uri()),
        acp.image_block(PNG, "image/png"),
    ]
    async with gateway_starter(loaded) as start:
        await start(settings)
        async with editor_of("--agent", "claude", cwd=work) as (conn, editor):
            session = await open_session(conn, work)
            with pytest.raises(acp.RequestError) as refused:
                link = acp.resource_link_block("s", f"file://{work}/../secret.txt")
                await conn.prompt(session_id=session, prompt=[acp.text_block("x"), link])
            answer = await conn.prompt(session_id=session, prompt=prompt)
    assert refused.value.data["code"] == "attachment_outside_folder"
    assert answer.stop_reason == "end_turn"
    assert "I read your notes" in "".join(editor.texts())
    turn = next(r for r in upstream.llm_requests if b'"Bash"' in r.raw_body)
    sent = json.dumps(turn.body)
    assert "NOTES-IN-THE-FILE" in sent
    assert PNG in sent and '"type": "image"' in sent  # Claude's model got the image as one
    assert "TOP-SECRET" not in json.dumps([r.body for r in upstream.llm_requests])
