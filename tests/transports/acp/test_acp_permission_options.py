"""An editor is offered only what the gateway applies: each answer to an agent's permission
request holds for that one call (the agent is answered allow once or reject once), so the
editor is never offered "Always allow" or "Always reject", and an editor that answers with an
option it was not offered (the agent's own "always" id) is denied. The agent is the stand-in
(`tests/fakes/fake_acp_agent.py`, `permission`: it offers allow once, allow always and reject
once for `rm -rf build`, then says what it was answered); the editors are the official Python
client and the TypeScript SDK's `client().connectWith(...)`. Claude Code's own options are in
`test_acp_agent_front.py`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import acp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.transports.acp.python_editor import PythonEditor, editor_of, open_session
from tests.transports.acp.test_acp_agent_remote import FAKE
from tests.transports.acp.ts_editor import chunks, run_steps

ONCE = ["allow_once", "reject_once"]


@pytest.fixture
async def gateway(loaded: LoadedSettings) -> AsyncIterator[GatewayRuntime]:
    agent = {"command": sys.executable, "args": [str(FAKE), "permission"]}
    async with gateway_starter(loaded) as start:
        yield await start({"providers.acp": {"asking": agent}, "providers.retry_attempts": 1})


async def _said(editor: PythonEditor, tmp_path: Path) -> str:
    async with editor_of("--agent", "asking", cwd=tmp_path, editor=editor) as (conn, side):
        session = await open_session(conn, tmp_path)
        answer = await conn.prompt(session_id=session, prompt=[acp.text_block("clean up")])
        assert answer.stop_reason == "end_turn"
        return "".join(side.texts())


@pytest.mark.parametrize(
    ("editor", "said"),
    [
        (PythonEditor(answer_kind="allow_once"), "allowed:yes"),
        (PythonEditor(answer_kind="allow_always"), "rejected:no"),  # not offered: no answer
        (PythonEditor(forged_option_id="always"), "rejected:no"),  # the agent's id, forged
    ],
    ids=["allow-once", "always-not-offered", "forged-always"],
)
async def test_the_python_editor_is_offered_once_only_and_a_forged_always_is_denied(
    gateway: GatewayRuntime, tmp_path: Path, editor: PythonEditor, said: str
) -> None:
    assert await _said(editor, tmp_path) == said
    assert editor.asked == [ONCE]


async def test_the_typescript_editor_is_offered_once_only(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    prompt = [{"type": "text", "text": "clean up"}]
    plan = [
        {"new": {}},
        {"answer": "allow_always"},
        {"prompt": prompt},
        {"answer": "allow_once"},
        {"prompt": prompt},
    ]
    steps = (await run_steps(plan, "--agent", "asking", cwd=tmp_path))["steps"]
    always, once = steps[2], steps[4]
    assert always["asked"] == [ONCE] and chunks(always) == "rejected:no"
    assert once["asked"] == [ONCE] and chunks(once) == "allowed:yes"
