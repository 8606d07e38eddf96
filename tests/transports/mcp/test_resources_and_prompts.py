"""The resources and prompts in memory: cache views, health and models; the three workflows."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from llmgw_desktop.engine.engine import Engine

# The engine fixture (a real engine with the Vibe stand-in) lives beside the tool tests.
from tests.transports.mcp.tools.conftest import call, connect, engine, vibe  # noqa: F401


async def read_json(client: Client, uri: str) -> object:
    result = await client.read_resource(uri)
    return json.loads(result.contents[0].text)  # type: ignore[union-attr]


async def test_resources_show_health_models_and_cache_views(engine: Engine) -> None:  # noqa: F811
    async with connect(engine) as client:
        answer = await call(client, "mistral_request", {"prompt": "hi"})
        health = await read_json(client, "gateway://health")
        models = await read_json(client, "gateway://models")
        cache = await read_json(client, "cache-state://global")
        with pytest.raises(MCPError):
            await client.read_resource("cache-state://session/gw-missing")
    assert answer["state"] == "completed"
    assert isinstance(health, dict) and set(health) >= {"engine", "jobs", "breakers"}
    assert isinstance(models, dict) and models["mistral"]
    assert isinstance(cache, dict)


async def test_prompts_name_the_tools_to_call(engine: Engine) -> None:  # noqa: F811
    async with connect(engine) as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        loop = await client.get_prompt("review_loop", {"task": "add a flag"})
    assert names == {"review_loop", "red_team_blue_team", "consensus"}
    text = loop.messages[0].content.text  # type: ignore[union-attr]
    assert "codex_request" in text and "validate_with_models" in text
