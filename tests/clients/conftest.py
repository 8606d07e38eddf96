"""Fixtures for the real CLIs as clients of the HTTP gateway: the scripted upstream, a running
gateway whose API providers point at it, and each CLI's private home pointed at the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from llmgw_desktop.instance import InstanceLock
from llmgw_desktop.runtime import GatewayRuntime
from llmgw_desktop.settings import LoadedSettings
from tests.clients.harness import client_environment
from tests.fakes.upstream import ScriptedUpstream

# The gateway's own keys for its upstreams (what an existing setup has in its environment).
GATEWAY_KEYS = {
    "OPENAI_API_KEY": "sk-gateway-openai-key-aaaa",
    "ANTHROPIC_API_KEY": "sk-ant-gateway-key-bbbbbbbb",
    "GEMINI_API_KEY": "gateway-gemini-key-cc",
}


@pytest.fixture
async def upstream() -> AsyncIterator[ScriptedUpstream]:
    async with ScriptedUpstream() as up:
        yield up


@pytest.fixture
async def gateway(
    loaded: LoadedSettings, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GatewayRuntime]:
    for name, value in GATEWAY_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url + "/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", upstream.base_url)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", upstream.base_url)
    settings = replace(loaded.settings, http_port=0)
    lock = InstanceLock(settings.data_path)
    assert lock.acquire()
    runtime = GatewayRuntime(
        replace(loaded, settings=settings),
        mode="headless",
        lock=lock,
        on_activate=lambda: "headless",
    )
    await runtime.start()
    yield runtime
    await runtime.stop()
    lock.release()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path, gateway: GatewayRuntime) -> dict[str, str]:
    return client_environment(home, gateway.base_url)
