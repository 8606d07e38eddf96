"""An ACP agent the gateway does not ship, added by `[providers.acp.NAME]` alone, is a provider
like the shipped ones: its MCP tools, the HTTP CLI bridge, its switch, the recorder, health and
budgets. The agent is the stand-in (`tests/fakes/fake_acp_agent.py`) under a new name: no real
agent can be told to be "scripted"."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from mcp import Client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.mcp.server import build_mcp_server
from tests.gateways import gateway_starter
from tests.sdk_clients import openai_client
from tests.transports.mcp.conftest import structured

FAKE = Path(__file__).resolve().parents[2] / "fakes" / "fake_acp_agent.py"
AGENT = {
    "scripted": {
        "command": sys.executable,
        "args": [str(FAKE), "answer"],
        "name": "Scripted agent",
        "models": ["fake-1"],
    }
}
SETTINGS = {
    "providers.acp": AGENT,
    "providers.retry_attempts": 1,
    "providers.retry_base_delay_ms": 0,
}


@pytest.fixture
async def gateway(loaded: LoadedSettings) -> AsyncIterator[GatewayRuntime]:
    async with gateway_starter(loaded) as start:
        yield await start(SETTINGS)


async def _tool(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    return {"error": result.is_error, **structured(result)}


async def test_added_agent_has_its_mcp_tools_and_answers(
    gateway: GatewayRuntime, tmp_path: Path
) -> None:
    async with Client(build_mcp_server(gateway.engine)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"scripted_request", "scripted_request_async"} <= names
        answer = await _tool(
            client, "scripted_request", {"prompt": "hi", "workingDir": str(tmp_path)}
        )
        assert not answer["error"], answer
        assert answer["text"] == "FAKE-ACP heard 'hi'"
        models = await _tool(client, "list_models", {"provider": "scripted"})
        assert models["models"] == {"scripted": ["fake-1"]}
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["provider"] == "scripted" and rows[0]["state"] == "completed"
    assert rows[0]["input_tokens"] == 10 and rows[0]["output_tokens"] == 4


async def test_added_agent_answers_through_the_http_cli_bridge(gateway: GatewayRuntime) -> None:
    client = openai_client(gateway, timeout=60)
    reply = await client.chat.completions.create(
        model="scripted-cli/fake-1", messages=[{"role": "user", "content": "hello there"}]
    )
    assert "FAKE-ACP heard" in (reply.choices[0].message.content or "")
    route = (reply.model_extra or {})["x_gateway"]
    assert route["resolvedProvider"] == "scripted-cli"
    listed = await client.models.list()
    assert "scripted-cli/fake-1" in {model.id for model in listed.data}
    rows = await gateway.engine.recorder.recent(limit=5)
    assert rows[0]["provider"] == "scripted" and rows[0]["tool"] == "/v1/chat/completions"
    # Its health counts the call as any provider's does.
    assert gateway.engine.provider_health.of("scripted").calls == 1


async def test_added_agent_has_a_switch_that_stops_both_doors(gateway: GatewayRuntime) -> None:
    providers = gateway.engine.providers
    state = next(s for s in providers.states() if s.id == "scripted")
    assert (state.display_name, state.kind, state.gateway_id) == (
        "Scripted agent",
        "cli",
        "scripted-cli",
    )
    providers.set_enabled(LOCAL_CALLER, "scripted", False)
    async with Client(build_mcp_server(gateway.engine)) as client:
        refused = await _tool(client, "scripted_request", {"prompt": "hi"})
    assert refused["error"] and refused["error"]["code"] == "provider_disabled"
    client_ = openai_client(gateway, timeout=60)
    with pytest.raises(openai.APIStatusError) as caught:
        await client_.chat.completions.create(
            model="scripted-cli/fake-1", messages=[{"role": "user", "content": "hi"}]
        )
    assert "provider_disabled" in str(caught.value.body)


async def test_a_hard_budget_stops_the_added_agent(loaded: LoadedSettings, tmp_path: Path) -> None:
    # Room for one CLI run's hold (a short prompt and 4,096 tokens of output) and no more: a CLI
    # cannot be sent a limit, so the next run, with its 14 tokens spent, is refused. The agent
    # reports its usage only as its turn ends: it runs under a hard budget only with the
    # operator's acceptance (SECURITY 70).
    budgets = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 4105}]
    accepted = {"providers.unmetered_clis": ["scripted"]}
    async with gateway_starter(loaded) as start:
        gateway = await start({**SETTINGS, "budgets": budgets, **accepted})
        async with Client(build_mcp_server(gateway.engine)) as client:
            first = await _tool(
                client, "scripted_request", {"prompt": "one", "workingDir": str(tmp_path)}
            )
            assert not first["error"], first
            second = await _tool(
                client, "scripted_request", {"prompt": "two", "workingDir": str(tmp_path)}
            )
    assert second["error"] and second["error"]["code"] == "budget_exceeded"


async def test_an_added_agent_is_refused_under_a_hard_budget_without_the_operators_word(
    loaded: LoadedSettings, tmp_path: Path
) -> None:
    """An agent the gateway does not ship cannot be stopped at its hold (SECURITY 70): under a
    hard budget its MCP tool and its HTTP bridge are refused before it is started."""
    budgets = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 10**6}]
    async with gateway_starter(loaded) as start:
        gateway = await start({**SETTINGS, "budgets": budgets})
        async with Client(build_mcp_server(gateway.engine)) as client:
            refused = await _tool(
                client, "scripted_request", {"prompt": "one", "workingDir": str(tmp_path)}
            )
        async with openai_client(gateway) as sdk:  # closed here, not by a later test's GC
            with pytest.raises(openai.APIStatusError) as caught:
                await sdk.chat.completions.create(
                    model="scripted-cli/fake-1", messages=[{"role": "user", "content": "hi"}]
                )
        jobs = await gateway.engine.jobs.list_jobs("local")
    assert refused["error"]["details"]["reason"] == "unmetered_cli", refused
    assert "Scripted agent" in refused["error"]["message"]
    assert caught.value.status_code == 402 and "unmetered_clis" in str(caught.value.body)
    assert jobs == []
