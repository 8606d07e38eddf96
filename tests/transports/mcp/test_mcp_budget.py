"""An MCP provider tool over a used-up hard budget: a structured `budget_exceeded` error,
and the CLI is never spawned for it; over HTTP the X-Project header names the project whose
budget a tool call counts against, as on the HTTP doors."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, Implementation
from mcp.client.streamable_http import streamable_http_client

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.gateways import gateway_starter
from tests.transports.mcp.conftest import structured

PROMPT = "a prompt the fake CLI would log"


@pytest.fixture
def fake_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder, first on PATH, of a `claude` that logs every argv it is started with (a
    version check included) to `spawned.log` beside it."""
    directory = tmp_path / "bin"
    directory.mkdir()
    script = directory / "claude"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {directory / "spawned.log"}\necho "1.0.0 (Claude Code)"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(directory) + os.pathsep + "/usr/bin:/bin")
    return directory


def _spawned(fake_claude: Path) -> str:
    log = fake_claude / "spawned.log"
    return log.read_text() if log.exists() else ""


@asynccontextmanager
async def _spent(
    loaded: LoadedSettings,
    fake_claude: Path,
    budget: dict[str, Any],
    who: dict[str, Any],
    spent: dict[str, Any],
) -> AsyncIterator[GatewayRuntime]:
    """A gateway whose Claude Code is `fake_claude`, under the hard `budget`, which one
    completed Claude row (of `who`, spending `spent`) has used up; stopped after the block."""
    async with gateway_starter(loaded) as start:
        gateway = await start({"budgets": [budget], "providers.cli_path": [str(fake_claude)]})
        recorder = gateway.engine.recorder
        row = recorder.start(principal="local", provider="claude", **who)
        recorder.finish(row, state="completed", **spent)
        yield gateway


async def test_a_provider_tool_is_refused_before_the_cli_is_spawned(
    loaded: LoadedSettings, fake_claude: Path
) -> None:
    budget = {"scope": "agent=budget-test", "unit": "usd", "period": "daily", "hard": 0.5}
    who, spent = {"caller": "budget-test"}, {"input_tokens": 10, "cost_usd": 0.75}
    async with _spent(loaded, fake_claude, budget, who, spent) as gateway:
        async with Client(
            gateway.mcp_url, client_info=Implementation(name="budget-test", version="1")
        ) as client:
            refused = await client.call_tool("claude_request", {"prompt": PROMPT})
        assert refused.is_error
        error = structured(refused)["error"]
        assert error["code"] == "budget_exceeded"
        assert "agent budget-test" in error["message"] and "$0.75" in error["message"]
        assert error["details"]["requestId"]
    spawned = _spawned(fake_claude)
    assert PROMPT not in spawned, spawned


async def test_the_x_project_header_puts_an_http_tool_call_under_its_project_budget(
    loaded: LoadedSettings, fake_claude: Path
) -> None:
    budget = {"scope": "project=shop", "unit": "tokens", "period": "daily", "hard": 5}
    who, spent = {"project": "shop"}, {"input_tokens": 10}
    async with _spent(loaded, fake_claude, budget, who, spent) as gateway:
        async with (
            httpx2.AsyncClient(headers={"X-Project": "shop"}, timeout=30) as http,
            Client(streamable_http_client(gateway.mcp_url, http_client=http)) as client,
        ):
            refused = await client.call_tool("claude_request", {"prompt": PROMPT})
        assert refused.is_error
        error = structured(refused)["error"]
        assert error["code"] == "budget_exceeded" and "project shop" in error["message"]
    spawned = _spawned(fake_claude)
    assert PROMPT not in spawned, spawned
