"""`locked_gateway`: a gateway locked by a static bearer token, running the stand-in ACP agent
in place of the shipped `opencode-acp` (so a remote caller's run is held to that agent's row of
the confinement table; an added agent runs for remote callers only at `bypass`), with one
registered workspace, `shared` (the tests of whose an editor's socket and sessions are start
from it)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.transports.acp.test_acp_agent_remote import FAKE, TOKEN

HELLO = {"protocolVersion": 1, "clientInfo": {"name": "zed", "version": "1"}}


@pytest.fixture
async def locked_gateway(loaded: LoadedSettings, tmp_path: Path) -> AsyncIterator[GatewayRuntime]:
    """A locked gateway running the stand-in agent, with one workspace, `shared`."""
    (tmp_path / "shared").mkdir()
    agent = {"command": sys.executable, "args": [str(FAKE), "answer"]}
    async with gateway_starter(loaded) as start:
        yield await start(
            {
                "providers.acp": {"opencode-acp": agent},
                "workspaces.registry": {"shared": str(tmp_path / "shared")},
                "http.auth_token": TOKEN,
                "providers.retry_attempts": 1,
            }
        )
