"""The HTTP front door over a real loopback socket, driven by a real HTTP client."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from llmgw_desktop.instance import InstanceLock
from llmgw_desktop.runtime import GatewayRuntime
from llmgw_desktop.settings import LoadedSettings
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from llmgw_desktop.transports.http_server import PortInUse, find_free_port


@pytest.fixture
async def gateway(loaded: LoadedSettings) -> AsyncIterator[GatewayRuntime]:
    small = replace(loaded, settings=replace(loaded.settings, http_max_body_bytes=1024))
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    runtime = GatewayRuntime(small, mode="headless", lock=lock, on_activate=lambda: "headless")
    await runtime.start()
    yield runtime
    await runtime.stop()
    lock.release()


async def test_health_answers_over_a_real_socket(gateway: GatewayRuntime) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(gateway.base_url + "/health") as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok"
    assert body["service"] == "llmgw-desktop"
    assert isinstance(body["uptime_seconds"], float)
    assert "token" not in str(body).lower()


async def test_foreign_host_is_rejected(gateway: GatewayRuntime) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            gateway.base_url + "/health", headers={"Host": "attacker.example:3333"}
        ) as response,
    ):
        assert response.status == 421
        body = await response.json()
    assert body["error"]["code"] == "host_not_allowed"
    assert "DNS rebinding" in body["error"]["message"]


async def test_foreign_origin_is_rejected(gateway: GatewayRuntime) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            gateway.base_url + "/health", headers={"Origin": "https://attacker.example"}
        ) as response,
    ):
        assert response.status == 403
        body = await response.json()
    assert body["error"]["code"] == "origin_not_allowed"


async def test_loopback_origin_is_let_in(gateway: GatewayRuntime) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            gateway.base_url + "/health", headers={"Origin": "http://localhost:5173"}
        ) as response,
    ):
        assert response.status == 200


async def test_oversized_body_gets_413(gateway: GatewayRuntime) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.post(gateway.base_url + "/instance/activate", data=b"x" * 4096) as response,
    ):
        assert response.status == 413
        body = await response.json()
    assert body["error"]["code"] == "body_too_large"


async def test_unknown_route_is_a_json_404(gateway: GatewayRuntime) -> None:
    async with (
        aiohttp.ClientSession() as client,
        client.get(gateway.base_url + "/nope") as response,
    ):
        assert response.status == 404
        body = await response.json()
    assert body["error"]["code"] == "not_found"


async def test_activation_needs_the_instance_token(gateway: GatewayRuntime) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.post(gateway.base_url + "/instance/activate") as response:
            assert response.status == 401
        async with client.post(
            gateway.base_url + "/instance/activate", headers={INSTANCE_TOKEN_HEADER: "guess"}
        ) as response:
            assert response.status == 401


async def test_taken_port_raises_port_in_use_and_leaves_nothing_running(
    loaded: LoadedSettings,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        lock = InstanceLock(loaded.settings.data_path)
        runtime = GatewayRuntime(
            loaded, mode="headless", lock=lock, on_activate=lambda: "headless", port=port
        )
        with pytest.raises(PortInUse) as caught:
            await runtime.start()
        assert caught.value.port == port
        assert runtime.engine.state.value == "stopped"
        assert find_free_port("127.0.0.1", port) != port
