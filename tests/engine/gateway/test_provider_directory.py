"""Which providers can serve now and why not: local servers found, configured, or not running.

The directory answers from what its last refresh found (the engine refreshes it in the
background), so each test refreshes it first, as the engine's service task does at start."""

from __future__ import annotations

from typing import Any

import pytest

from llmgw_desktop.config.gateway_tables import gateway_config
from llmgw_desktop.engine.errors import EngineError, ProviderUnavailable
from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from llmgw_desktop.engine.gateway.keys import KeyChain
from llmgw_desktop.engine.gateway.provider_directory import REFRESH_AFTER_S, ProviderDirectory
from llmgw_desktop.engine.gateway.router import ModelRegistry, Target
from tests.clock import Clock
from tests.fakes.upstream import ScriptedUpstream
from tests.ports import free_port

# What the scripted upstream's GET /v1/models lists.
FAKE_MODELS = ["gpt-5-fake", "grok-fake", "fake-model"]


async def _cli_available(engine_provider: str) -> EngineError | None:
    if engine_provider == "codex":
        return ProviderUnavailable("codex is not installed")
    return None


def _directory(
    client: UpstreamClient,
    providers: dict[str, Any],
    *,
    environ: dict[str, str] | None = None,
    aliases: dict[str, str] | None = None,
    detect_local: bool = True,
    clock: Clock | None = None,
) -> ProviderDirectory:
    config = gateway_config(providers=providers, aliases=aliases or {}, routes={}, fallback=[])
    return ProviderDirectory(
        ModelRegistry(config),
        KeyChain(config, environ=environ or {}),
        client,
        cli_available=_cli_available,
        detect_local=detect_local,
        clock=clock or Clock(0.0),
    )


def _locals(up: ScriptedUpstream) -> dict[str, Any]:
    """Every local spec pointed at a server of this test, so no real port is probed."""
    return {
        "ollama": {"base_url": up.base_url + "/v1"},
        "lmstudio": {"base_url": up.base_url + "/v1", "enabled": False},
        "vllm": {"base_url": f"http://127.0.0.1:{free_port()}/v1", "enabled": False},
        "llamacpp": {"base_url": f"http://127.0.0.1:{free_port()}/v1", "enabled": False},
    }


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def _model_probes(up: ScriptedUpstream) -> int:
    return sum(1 for r in up.requests if r.endpoint == "models")


async def test_configured_local_server_is_available_with_its_models(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    directory = _directory(client, _locals(up))
    await directory.refresh()
    ollama = _by_id(await directory.providers())["ollama"]
    assert ollama["available"] and ollama["reason"] is None
    assert (ollama["type"], ollama["detected"], ollama["keySources"]) == ("local", True, [])
    assert ollama["baseUrl"] == up.base_url + "/v1"
    assert ollama["models"] == FAKE_MODELS
    assert ollama["modelsSource"] == "server"


async def test_discovered_models_route_to_the_local_server(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    directory = _directory(client, _locals(up))
    await directory.refresh()
    registry = directory._registry
    assert registry.resolve("fake-model") == Target("ollama", "fake-model")
    # A model the server lists beats the grok-* name prefix.
    assert registry.resolve("grok-fake") == Target("ollama", "grok-fake")
    assert "lmstudio" not in registry.discovered  # detected, not switched on: not used


@pytest.mark.parametrize(
    ("pid", "reason", "detected"),
    [
        ("lmstudio", "detected at {up}/v1; switch it on with [gateway.providers.lmstudio]", True),
        ("vllm", "not running (nothing answers on its default port)", False),
        ("llamacpp", "not running (nothing answers on its default port)", False),
    ],
)
async def test_unconfigured_local_server_says_how_to_switch_it_on(
    up: ScriptedUpstream, client: UpstreamClient, pid: str, reason: str, detected: bool
) -> None:
    directory = _directory(client, _locals(up))
    await directory.refresh()
    row = _by_id(await directory.providers())[pid]
    assert not row["available"]
    assert row["reason"].startswith(reason.format(up=up.base_url))
    assert row["detected"] is detected
    assert row["models"] == []


async def test_without_detection_only_configured_servers_are_probed(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    directory = _directory(client, _locals(up), detect_local=False)
    await directory.refresh()
    rows = _by_id(await directory.providers())
    assert rows["ollama"]["available"]
    assert rows["lmstudio"]["reason"].startswith("not running")
    assert _model_probes(up) == 1


async def test_model_lists_are_read_at_most_once_a_minute(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    clock = Clock(0.0)  # starts at 0.0: a first refresh at time zero still counts
    directory = _directory(client, {"ollama": {"base_url": up.base_url + "/v1"}}, clock=clock)
    await directory.refresh()
    clock.now = REFRESH_AFTER_S - 1
    await directory.refresh()
    await directory.providers()
    assert _model_probes(up) == 1
    clock.now = REFRESH_AFTER_S
    await directory.refresh()
    await directory.refresh(force=True)
    assert _model_probes(up) == 3


async def test_configured_server_that_stops_answering_is_no_longer_detected(
    client: UpstreamClient,
) -> None:
    async with ScriptedUpstream() as server:
        directory = _directory(client, {"ollama": {"base_url": server.base_url + "/v1"}})
        await directory.refresh()
        assert directory.detected == {"ollama": server.base_url + "/v1"}
    await directory.refresh(force=True)
    assert directory.detected == {}


WORK = {"base_url": "https://w.example/v1"}


@pytest.mark.parametrize(
    ("providers", "environ", "pid", "reason", "sources"),
    [
        ({}, {}, "openai", "no API key: set OPENAI_API_KEY or store one in the vault", []),
        ({}, {}, "google", "no API key: set GEMINI_API_KEY or GOOGLE_API_KEY", []),
        ({}, {"OPENAI_API_KEY": "sk-e"}, "openai", None, ["env:OPENAI_API_KEY"]),
        ({"groq": {"api_key": "g", "enabled": False}}, {}, "groq", "switched off in config", []),
        ({"work": {**WORK, "api_key": "k"}}, {}, "work", None, ["config#1"]),
        ({"work": WORK}, {}, "work", None, []),
    ],
)
async def test_api_provider_availability(
    client: UpstreamClient,
    providers: dict[str, Any],
    environ: dict[str, str],
    pid: str,
    reason: str | None,
    sources: list[str],
) -> None:
    row = _by_id(
        await _directory(client, providers, environ=environ, detect_local=False).providers()
    )[pid]
    assert row["available"] is (reason is None)
    assert row["reason"] is None if reason is None else row["reason"].startswith(reason)
    assert row["keySources"] == sources
    assert row["type"] == "api" and row["detected"] is None


async def test_cli_bridges_report_why_not(client: UpstreamClient) -> None:
    rows = _by_id(await _directory(client, {}, detect_local=False).providers())
    assert rows["claude-cli"]["available"] and rows["claude-cli"]["type"] == "cli"
    assert rows["claude-cli"]["models"] == [
        "claude-cli/sonnet",
        "claude-cli/opus",
        "claude-cli/haiku",
        "claude-cli/opusplan",
    ]
    assert rows["codex-cli"] == rows["codex-cli"] | {
        "available": False,
        "reason": "codex is not installed",
        "engineProvider": "codex",
    }


async def test_models_lists_available_providers_and_their_aliases(
    up: ScriptedUpstream, client: UpstreamClient
) -> None:
    aliases = {"local": "fake-model", "sonnet": "claude-sonnet-4-6", "ghost": "no-such-model"}
    directory = _directory(client, _locals(up), aliases=aliases)
    await directory.refresh()
    rows = {(r["id"], r["owned_by"]): r for r in await directory.models()}
    for model in FAKE_MODELS:
        assert rows[(model, "ollama")]["type"] == "local"
    assert rows[("claude-cli/sonnet", "claude-cli")]["type"] == "cli"
    assert (
        rows[("local", "ollama")] | {"alias_of": "fake-model", "type": "alias"}
        == rows[("local", "ollama")]
    )
    # Anthropic has no key here, and "ghost" names nothing: neither alias is offered.
    assert not any(r[0] in ("sonnet", "ghost") for r in rows)
    assert not any(owner in ("anthropic", "lmstudio", "codex-cli") for _, owner in rows)
