"""A failed turn of `llmgw-desktop acp --model` reaches the editor as the gateway's own refusal
(`-32000`, "the gateway refused the turn: ..." with the gateway's code), never as an internal
error: an unknown model, an upstream 500, a stream cut mid-answer. Driven by editors written
with the official SDKs: the Python `agent-client-protocol` client and the TypeScript SDK's
`client().connectWith(...)`; after each failure the session goes on and answers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import acp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import run_program
from tests.clients.node import find_node
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.acp.python_editor import editor_of, open_session
from tests.transports.acp.test_acp_typescript_sdk import _sdk
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    gateway,
    provider_env,
    start_gateway,
)

FAILURES_SCRIPT = Path(__file__).with_name("acp_model_failures.mjs")
REFUSED = "the gateway refused the turn: "


async def test_failed_turns_reach_the_python_sdk_editor_as_the_gateways_refusal(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    upstream.script(Reply.error(500), Reply.cut(), Reply.ok("back again", verbatim=True))
    async with editor_of("--model", "gpt-4o-mini", cwd=tmp_path) as (conn, editor):
        session = await open_session(conn, tmp_path)
        failures = []
        for words in ("upstream fails", "stream cut"):
            with pytest.raises(acp.RequestError) as raised:
                await conn.prompt(session_id=session, prompt=[acp.text_block(words)])
            failures.append(raised.value)
        await conn.set_config_option(config_id="model", session_id=session, value="no-such-model")
        with pytest.raises(acp.RequestError) as unknown:
            await conn.prompt(session_id=session, prompt=[acp.text_block("hello")])
        failures.append(unknown.value)
        for failure in failures:
            assert failure.code == -32000, (failure.code, str(failure), failure.data)
            assert str(failure).startswith(REFUSED), str(failure)
            assert "TaskGroup" not in str(failure)
        assert failures[0].data["code"] == "all_routes_failed", failures[0].data
        assert "500" in str(failures[0])
        assert failures[1].data["code"] == "upstream_stream_broken", failures[1].data
        assert failures[2].data["code"] == "model_not_found", failures[2].data
        assert "no-such-model" in str(failures[2]), str(failures[2])
        # The session goes on after its failures.
        await conn.set_config_option(config_id="model", session_id=session, value="gpt-4o-mini")
        answer = await conn.prompt(session_id=session, prompt=[acp.text_block("again")])
        assert answer.stop_reason == "end_turn"
        assert "back again" in "".join(editor.texts())


async def test_failed_turns_reach_the_typescript_sdk_editor_as_the_gateways_refusal(
    gateway: GatewayRuntime,  # noqa: F811
    upstream: ScriptedUpstream,
    tmp_path: Path,
) -> None:
    sdk = _sdk()
    node = find_node("zod")
    upstream.script(Reply.error(500), Reply.cut(), Reply.ok("back again", verbatim=True))
    code, stdout, stderr = await run_program(
        (node, str(FAILURES_SCRIPT), sys.executable, "gpt-4o-mini", sdk),
        env=dict(os.environ),
        cwd=tmp_path,
        timeout_s=90,
    )
    assert code == 0, f"{stdout}\n{stderr}"
    out = json.loads(stdout.strip().splitlines()[-1])
    assert "error" not in out, out
    failures = [out["upstream500"], out["cut"], out["unknownModel"]]
    for failure in failures:
        assert failure["code"] == -32000, failure
        assert failure["message"].startswith(REFUSED), failure
    assert out["upstream500"]["data"]["code"] == "all_routes_failed"
    assert out["cut"]["data"]["code"] == "upstream_stream_broken"
    assert "no-such-model" in out["unknownModel"]["message"]
    assert out["after"]["stopReason"] == "end_turn"
    assert "back again" in out["afterText"]
