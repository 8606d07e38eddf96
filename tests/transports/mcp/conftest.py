"""A running gateway (engine, HTTP front door, MCP) with the real CLIs pointed at the upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime

# Re-exported for the tests in this package.
from tests.contract.conftest import engine_settings, offline, upstream  # noqa: F401
from tests.gateways import start_runtime


def structured(result: Any) -> dict[str, Any]:
    """A tool result's structured body (errors included)."""
    assert result.structured_content is not None, result
    return dict(result.structured_content)


async def start_gateway(
    loaded: LoadedSettings, overrides: Mapping[str, Any] | None = None
) -> tuple[GatewayRuntime, InstanceLock]:
    return await start_runtime(
        loaded, engine_settings(loaded, {"http.port": 0, **(overrides or {})})
    )


@pytest.fixture
async def gateway(loaded: LoadedSettings, offline: Path) -> AsyncIterator[GatewayRuntime]:  # noqa: F811
    runtime, lock = await start_gateway(loaded)
    yield runtime
    await runtime.stop()
    lock.release()
