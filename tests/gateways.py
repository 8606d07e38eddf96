"""Real gateways for tests: in-process, headless, on a free port, each stopped after its test.

The fixtures that start gateways (for the locked front door, the HTTP gateway, the security
attacks) share this one starter, so a change to how a runtime starts or stops is made once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from llmgw_desktop.config.settings import LoadedSettings, Settings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.clock import Clock

__all__ = ["StartGateway", "gateway_starter", "start_runtime"]

StartGateway = Callable[..., Awaitable[GatewayRuntime]]


async def start_runtime(
    loaded: LoadedSettings,
    settings: Settings,
    *,
    mode: str = "headless",
    clock: Clock | None = None,
    monotonic: Clock | None = None,
) -> tuple[GatewayRuntime, InstanceLock]:
    """Start one gateway on `settings` (its data dir's instance lock taken); the caller stops
    it and releases the lock. `clock`, `monotonic`: the engine's clocks, where a test moves
    time itself (`tests/clock.py`)."""
    lock = InstanceLock(settings.data_path)
    assert lock.acquire()
    runtime = GatewayRuntime(
        replace(loaded, settings=settings),
        mode=mode,
        lock=lock,
        on_activate=lambda: mode,
        clock=clock,
        monotonic=monotonic,
    )
    await runtime.start()
    return runtime, lock


@asynccontextmanager
async def gateway_starter(loaded: LoadedSettings) -> AsyncIterator[StartGateway]:
    """A function that starts a headless gateway with settings overrides (by dotted key, such
    as `{"http.auth_token": ...}`; the port is free unless `http.port` is given), and the
    engine's `clock` or `monotonic` where a test moves time itself; all it started are
    stopped, newest first, when the context ends."""
    running: list[tuple[GatewayRuntime, InstanceLock]] = []

    async def start(
        overrides: Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        monotonic: Clock | None = None,
    ) -> GatewayRuntime:
        settings = loaded.settings.with_values({"http.port": 0, **(overrides or {})})
        runtime, lock = await start_runtime(loaded, settings, clock=clock, monotonic=monotonic)
        running.append((runtime, lock))
        return runtime

    try:
        yield start
    finally:
        for runtime, lock in reversed(running):
            await runtime.stop()
            lock.release()
