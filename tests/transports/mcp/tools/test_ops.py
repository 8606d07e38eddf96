"""The operations tools in memory: models, CLI versions, upgrade dry run, process health."""

from __future__ import annotations

from llmgw_desktop.engine.engine import Engine
from tests.transports.mcp.tools.conftest import call, call_error, connect


async def test_operations_tools(engine: Engine) -> None:
    async with connect(engine) as client:
        models = await call(client, "list_models", {"provider": "mistral"})
        everyone = await call(client, "list_models", {})
        versions = await call(client, "cli_versions", {})
        plan = await call(client, "cli_upgrade", {"provider": "mistral"})
        health = await call(client, "llm_process_health", {})
    assert models["models"]["mistral"]
    assert set(everyone["models"]) >= {"claude", "codex", "mistral"}
    installed = {c["provider"]: c for c in versions["clis"]}
    assert installed["mistral"]["installed"] is True
    assert installed["claude"]["installed"] is False
    assert plan["dry_run"] is True and plan["ran"] is False
    assert set(health) >= {"engine", "jobs", "breakers", "providers"}


async def test_unknown_provider_is_refused_with_its_param(engine: Engine) -> None:
    async with connect(engine) as client:
        listed = await call_error(client, "list_models", {"provider": "chatgpt"})
        upgrade = await call_error(client, "cli_upgrade", {"provider": "chatgpt"})
    assert listed["code"] == upgrade["code"] == "invalid_request"
    assert listed["details"]["param"] == "provider"
