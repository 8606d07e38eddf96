"""Fixtures for contract tests: the real CLIs, the scripted upstream, a real engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.engine.calls.params import CallParams
from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.engine.jobs.model import JobView
from tests.contract.offline import CLI_DIRS, offline_environment, vibe_stand_in
from tests.fakes.upstream import ScriptedUpstream

JOB_TIMEOUT_S = 90.0


@pytest.fixture
def offline(tmp_path: Path, upstream: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    offline_environment(home, upstream.base_url, monkeypatch)
    return home


# The real CLIs, each tried once, with room for a slow start and a short grace to stop.
CLI_SETTINGS: Mapping[str, Any] = {
    "providers.cli_path": [str(d) for d in CLI_DIRS],
    "providers.retry_attempts": 1,
    "providers.retry_base_delay_ms": 0,
    "providers.timeout_ms": 120_000,
    "providers.kill_grace_ms": 1000,
}


def engine_settings(loaded: LoadedSettings, overrides: Mapping[str, Any] | None = None) -> Any:
    return loaded.settings.with_values({**CLI_SETTINGS, **(overrides or {})})


# The Mistral Vibe stand-in (tests/fakes/bin/vibe): the real one takes ~20 s a call. It starts in
# a fraction of a second and answers through the scripted upstream.
VIBE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"


@pytest.fixture
def vibe(
    offline: Path, upstream: ScriptedUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment the Vibe stand-in reads (its home, the upstream, the Python to run)."""
    vibe_stand_in(monkeypatch, tmp_path / "vibe", upstream.base_url)


@asynccontextmanager
async def vibe_engine(
    loaded: LoadedSettings, overrides: Mapping[str, Any] | None = None
) -> AsyncIterator[Engine]:
    """A started engine whose one CLI is the Vibe stand-in (with the `vibe` fixture's
    environment), stopped when the block ends."""
    started = Engine(
        engine_settings(loaded, {"providers.cli_path": [str(VIBE_BIN)], **(overrides or {})})
    )
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


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
