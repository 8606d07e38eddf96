"""Fixtures for the real CLIs as clients of the HTTP gateway: the scripted upstream and a
running gateway whose API providers point at it (shared with the gateway's SDK tests), and
each CLI's private home pointed at the gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clients.harness import CLIENT_KEY, LOCK_TOKEN, KeyedGateway, client_environment
from tests.transports.gateway.conftest import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    OPENAI_KEY,
    GatewayFactory,
    gateway,
    provider_env,
    start_gateway,
)

__all__ = ["GATEWAY_KEYS", "gateway", "provider_env", "start_gateway"]

# The gateway's own keys for its upstreams (what an existing setup has in its environment).
GATEWAY_KEYS = {
    "OPENAI_API_KEY": OPENAI_KEY,
    "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
    "GEMINI_API_KEY": GEMINI_KEY,
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path, gateway: GatewayRuntime) -> dict[str, str]:
    return client_environment(home, gateway.base_url)


@pytest.fixture(params=["open", "locked"])
async def keyed_gateway(
    request: pytest.FixtureRequest, start_gateway: GatewayFactory
) -> KeyedGateway:
    """The gateway open to this account (the client's key is ignored), then locked with a
    bearer token (the client's key is the token)."""
    if request.param == "open":
        return KeyedGateway(await start_gateway(), CLIENT_KEY, locked=False)
    return KeyedGateway(
        await start_gateway({"http.auth_token": LOCK_TOKEN}), LOCK_TOKEN, locked=True
    )


@pytest.fixture
async def locked_with_a_wrong_key(start_gateway: GatewayFactory) -> KeyedGateway:
    """A locked gateway, and a key for it that is not its token."""
    return KeyedGateway(
        await start_gateway({"http.auth_token": LOCK_TOKEN}), "not-the-token", locked=True
    )
