"""A failed turn of `llmgw-desktop acp --model` reaches the editor as the gateway's own refusal
(`-32000`, "the gateway refused the turn: ..." with the gateway's code), never as an internal
error: an unknown model, an upstream 500, a stream cut mid-answer. Driven by editors written
with the official SDKs: the Python `agent-client-protocol` client and the TypeScript SDK's
`client().connectWith(...)`; after each failure the session goes on and answers."""

from __future__ import annotations

from pathlib import Path

import acp
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.transports.acp.python_editor import editor_of, open_session
from tests.transports.acp.ts_editor import chunks, run_steps
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    gateway,
    provider_env,
    start_gateway,
)

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
    upstream.script(Reply.error(500), Reply.cut(), Reply.ok("back again", verbatim=True))
    plan = [
        {"new": {}},
        {"prompt": [{"type": "text", "text": "upstream fails"}]},
        {"prompt": [{"type": "text", "text": "stream cut"}]},
        {"set": {"configId": "model", "value": "no-such-model"}},
        {"prompt": [{"type": "text", "text": "hello"}]},
        {"set": {"configId": "model", "value": "gpt-4o-mini"}},
        {"prompt": [{"type": "text", "text": "again"}]},
    ]
    out = await run_steps(plan, "--model", "gpt-4o-mini", cwd=tmp_path)
    steps = out["steps"]
    failed, cut, unknown, after = steps[1], steps[2], steps[4], steps[6]
    for failure in (failed, cut, unknown):
        assert failure["code"] == -32000, failure
        assert failure["message"].startswith(REFUSED), failure
    assert failed["data"]["code"] == "all_routes_failed"
    assert cut["data"]["code"] == "upstream_stream_broken"
    assert unknown["data"]["code"] == "model_not_found"
    assert "no-such-model" in unknown["message"]
    assert after["answered"]["stopReason"] == "end_turn"
    assert "back again" in chunks(after)
