"""The scripted upstream the fakes' own tests drive, with the SDKs' own clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.upstream import ScriptedUpstream

# A proxy from the developer's shell would take loopback calls elsewhere; Vertex mode would
# ignore the base URL.
_ENV_THAT_REROUTES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "GOOGLE_GENAI_USE_VERTEXAI",
)


@pytest.fixture
async def up(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ScriptedUpstream]:
    """A scripted upstream on loopback, with nothing in the environment to reroute a client."""
    for name in _ENV_THAT_REROUTES:
        monkeypatch.delenv(name, raising=False)
    async with ScriptedUpstream() as upstream:
        yield upstream
