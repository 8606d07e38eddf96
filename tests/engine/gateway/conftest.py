"""The scripted upstream and the gateway's own upstream client, as most gateway tests use them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmgw_desktop.engine.gateway.http_client.upstream import UpstreamClient
from tests.fakes.upstream import ScriptedUpstream


@pytest.fixture
async def up() -> AsyncIterator[ScriptedUpstream]:
    """A scripted upstream on loopback, with its default model lists."""
    async with ScriptedUpstream() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    """The gateway's upstream client, with short limits (everything here is on loopback)."""
    upstream = UpstreamClient(connect_timeout_s=2.0, read_timeout_s=5.0)
    yield upstream
    await upstream.close()
