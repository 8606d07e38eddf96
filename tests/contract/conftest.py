"""Fixtures for contract tests: the real CLIs, the scripted upstream, a real engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobView
from tests.contract.offline import CLI_BIN, offline_environment
from tests.fakes.upstream import ScriptedUpstream

JOB_TIMEOUT_S = 90.0


@pytest.fixture
async def upstream() -> AsyncIterator[ScriptedUpstream]:
    async with ScriptedUpstream() as up:
        yield up


@pytest.fixture
def offline(tmp_path: Path, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    offline_environment(home, upstream.base_url, monkeypatch)
    return home


def engine_settings(loaded: LoadedSettings, overrides: Mapping[str, Any] | None = None) -> Any:
    base = {
        "providers.cli_path": [str(CLI_BIN)],
        "providers.retry_attempts": 1,
        "providers.retry_base_delay_ms": 0,
        "providers.timeout_ms": 120_000,
        "providers.kill_grace_ms": 1000,
    }
    return loaded.settings.with_values(base | dict(overrides or {}))


@pytest.fixture
async def engine(loaded: LoadedSettings, offline: Path) -> AsyncIterator[Engine]:
    e = Engine(engine_settings(loaded))
    await e.start()
    yield e
    await e.stop()


async def run(engine: Engine, provider: str, **params: Any) -> JobView:
    """Submit one call as the local principal and wait for it to finish."""
    submitted = await engine.calls.submit(provider, CallParams(**params), "local")
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while True:
            view = await engine.jobs.wait(submitted.job_id, "local", timeout_s=JOB_TIMEOUT_S)
            if view.finished:
                return view
