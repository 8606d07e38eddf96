"""The playground reaches every kind of model the gateway serves (issue 31 item 4): an API
provider, a local model server and a coding CLI behind its bridge, each streamed through the
same path a client takes and recorded; a replay on another kind of target is linked to its
original. The local server is the scripted upstream on loopback standing in for Ollama; the CLI
is the real Claude Code, itself pointed at the scripted upstream (`offline`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.contract.conftest import engine_settings, offline  # noqa: F401
from tests.contract.offline import find_cli
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    GatewayFactory,
    provider_env,
    start_gateway,
)
from tests.transports.gateway.test_cli_bridge import CLI_SETTINGS

pytestmark = pytest.mark.contract

HI = [{"role": "user", "content": "which animal holds hands?"}]


@pytest.fixture
async def gateway(
    start_gateway: GatewayFactory,  # noqa: F811
    upstream: ScriptedUpstream,
    offline: Path,  # noqa: F811
) -> GatewayRuntime:
    find_cli("claude")
    runtime: GatewayRuntime = await start_gateway(
        {"gateway.providers": {"ollama": {"base_url": upstream.base_url + "/v1"}}, **CLI_SETTINGS}
    )
    await runtime.engine.gateway.directory.refresh()
    return runtime


async def test_the_playground_lists_and_streams_an_api_a_local_and_a_cli_model(
    gateway: GatewayRuntime,
) -> None:
    playground = gateway.engine.playground
    listed = {(row["provider"], row["type"]): row["id"] for row in await playground.models()}
    assert ("openai", "api") in listed and ("ollama", "local") in listed
    assert ("claude-cli", "cli") in listed

    replies = {}
    for model in ("openai/gpt-4o-mini", listed[("ollama", "local")], "claude-cli/sonnet"):
        pieces: list[str] = []
        reply = await playground.send(model, HI, on_text=pieces.append)
        assert reply.ok, (model, reply.error)
        assert DEFAULT_ANSWER in reply.text and "".join(pieces) == reply.text, model
        assert reply.record is not None and reply.record_id, model
        replies[model] = reply
    assert replies["claude-cli/sonnet"].record["provider"] == "claude"  # type: ignore[index]
    assert replies[listed[("ollama", "local")]].record["provider"] == "ollama"  # type: ignore[index]

    # Compare: the local answer replayed on the CLI, the rows naming each other.
    first = replies[listed[("ollama", "local")]]
    again = await playground.send("claude-cli/sonnet", HI, replay_of=first.record_id)
    assert again.ok, again.error
    await gateway.engine.recorder.flush()
    query = gateway.engine.recorder_query
    original = await query.detail(first.record_id or "")
    replay = await query.detail(again.record_id or "")
    assert original is not None and replay is not None
    assert original.replays == (again.record_id,)
    assert replay.record["route"]["replayOf"] == first.record_id
