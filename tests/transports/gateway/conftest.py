"""A running gateway whose API providers point at the scripted upstream on loopback.

The keys and base URLs come from the environment, the way an existing OpenAI, Anthropic or
Gemini setup provides them; the official SDKs are the clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.gateways import gateway_starter
from tests.transports.gateway.hostile_upstream import HostileUpstream

# Different lengths, so the fake upstream's redacted headers still tell keys apart.
OPENAI_KEY = "sk-test-openai-key-aaaa"
ANTHROPIC_KEY = "sk-ant-test-key-bbbbbbbb"
GEMINI_KEY = "gemini-test-key-cc"


def point_providers_at(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every API provider's test key and base URL, pointed at an upstream on `base_url` (set
    before a gateway starts: its engine reads them)."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", base_url + "/v1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", base_url)


@pytest.fixture
def provider_env(upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    point_providers_at(upstream.base_url, monkeypatch)


GatewayFactory = Callable[..., Any]


@pytest.fixture
async def start_gateway(
    loaded: LoadedSettings, provider_env: None
) -> AsyncIterator[GatewayFactory]:
    """Start a gateway with settings overrides; stopped at the end of the test."""
    async with gateway_starter(loaded) as start:
        yield start


@pytest.fixture
async def gateway(start_gateway: GatewayFactory) -> GatewayRuntime:
    runtime: GatewayRuntime = await start_gateway()
    return runtime


@pytest.fixture
async def hostile(
    provider_env: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[HostileUpstream]:
    """Every API provider pointed at a `HostileUpstream` (over the scripted one), which answers
    with the bytes a test writes."""
    async with HostileUpstream() as up:
        point_providers_at(up.base_url, monkeypatch)
        yield up
