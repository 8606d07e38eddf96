"""The HTTP front door over a real loopback socket, driven by a real HTTP client."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from llmgw_desktop.config.settings import LoadedSettings
from llmgw_desktop.shell.instance import InstanceLock
from llmgw_desktop.shell.runtime import GatewayRuntime
from llmgw_desktop.transports.http_app import INSTANCE_TOKEN_HEADER
from llmgw_desktop.transports.http_server import PortInUse, find_free_port


@pytest.fixture
async def gateway(loaded: LoadedSettings) -> AsyncIterator[GatewayRuntime]:
    small = replace(loaded, settings=loaded.settings.with_values({"http.max_body_bytes": 1024}))
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    runtime = GatewayRuntime(small, mode="headless", lock=lock, on_activate=lambda: "headless")
    await runtime.start()
    yield runtime
    await runtime.stop()
    lock.release()


async def _call(
    gateway: GatewayRuntime, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """One real HTTP request to the running gateway: (status, JSON body)."""
    async with (
        aiohttp.ClientSession() as client,
        client.request(method, gateway.base_url + path, **kwargs) as response,
    ):
        return response.status, await response.json()


async def test_health_answers_over_a_real_socket(gateway: GatewayRuntime) -> None:
    status, body = await _call(gateway, "GET", "/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["service"] == "llmgw-desktop"
    assert isinstance(body["uptime_seconds"], float)
    assert "token" not in str(body).lower()


async def test_foreign_host_is_rejected(gateway: GatewayRuntime) -> None:
    status, body = await _call(gateway, "GET", "/health", headers={"Host": "attacker.example:3333"})
    assert status == 421
    assert body["error"]["code"] == "host_not_allowed"
    assert "DNS rebinding" in body["error"]["message"]


async def test_foreign_origin_is_rejected(gateway: GatewayRuntime) -> None:
    status, body = await _call(
        gateway, "GET", "/health", headers={"Origin": "https://attacker.example"}
    )
    assert status == 403
    assert body["error"]["code"] == "origin_not_allowed"


async def test_loopback_origin_is_let_in(gateway: GatewayRuntime) -> None:
    status, _ = await _call(gateway, "GET", "/health", headers={"Origin": "http://localhost:5173"})
    assert status == 200


async def test_oversized_body_gets_413(gateway: GatewayRuntime) -> None:
    status, body = await _call(gateway, "POST", "/instance/activate", data=b"x" * 4096)
    assert status == 413
    assert body["error"]["code"] == "body_too_large"


async def test_unknown_route_is_a_json_404(gateway: GatewayRuntime) -> None:
    status, body = await _call(gateway, "GET", "/nope")
    assert status == 404
    assert body["error"]["code"] == "not_found"


async def test_activation_needs_the_instance_token(gateway: GatewayRuntime) -> None:
    status, body = await _call(gateway, "POST", "/instance/activate")
    assert (status, body["error"]["code"]) == (401, "bad_instance_token")
    headers = {INSTANCE_TOKEN_HEADER: "guess"}
    status, _ = await _call(gateway, "POST", "/instance/activate", headers=headers)
    assert status == 401


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


async def test_quit_needs_the_instance_token_not_the_bearer_token(loaded: LoadedSettings) -> None:
    # A remote caller holding the gateway's bearer token (an operator for everything else)
    # must not stop the app: only the local user's instance token (a 0600 file) may.
    bearer = "b" * 40
    settings = loaded.settings.with_values({"http.auth_token": bearer})
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    asked: list[str] = []
    runtime = GatewayRuntime(
        replace(loaded, settings=settings),
        mode="headless",
        lock=lock,
        on_activate=lambda: "headless",
        on_quit=lambda: asked.append("quit"),
    )
    await runtime.start()
    try:
        for headers in (
            {"Authorization": f"Bearer {bearer}"},
            {"Authorization": f"Bearer {bearer}", INSTANCE_TOKEN_HEADER: "guess"},
            {INSTANCE_TOKEN_HEADER: ""},
        ):
            status, body = await _call(runtime, "POST", "/instance/quit", headers=headers)
            assert (status, body["error"]["code"]) == (401, "bad_instance_token")
        assert asked == []
        token = {INSTANCE_TOKEN_HEADER: lock.token}
        status, body = await _call(runtime, "POST", "/instance/quit", headers=token)
        assert (status, body) == (200, {"quitting": True})
    finally:
        await runtime.stop()
        lock.release()
    assert asked == ["quit"]


async def test_a_stdio_instance_refuses_quit_without_acting_as_if_asked_to_activate(
    loaded: LoadedSettings,
) -> None:
    # It lives as long as the editor that spawned it; the answer names its mode, and nothing
    # of "another launch asked for the window" happens on the way.
    lock = InstanceLock(loaded.settings.data_path)
    assert lock.acquire()
    activated: list[str] = []
    runtime = GatewayRuntime(
        loaded, mode="stdio", lock=lock, on_activate=lambda: activated.append("x") or "stdio"
    )
    await runtime.start()
    try:
        token = {INSTANCE_TOKEN_HEADER: lock.token}
        status, body = await _call(runtime, "POST", "/instance/quit", headers=token)
        assert (status, body) == (200, {"quitting": False, "mode": "stdio"})
        assert activated == []
    finally:
        await runtime.stop()
        lock.release()


async def test_a_foreign_host_is_refused_every_time_beside_allowed_ones(
    gateway: GatewayRuntime,
) -> None:
    """The edge remembers each `Host` value's check (`auth_edge._AllowedHosts`): per value."""
    for host, status in (
        ("attacker.example:3333", 421),
        (None, 200),
        ("attacker.example:3333", 421),
        ("localhost:1", 200),
        ("attacker.example", 421),
    ):
        headers = {"Host": host} if host else {}
        got, _ = await _call(gateway, "GET", "/health", headers=headers)
        assert got == status, host


async def test_the_edge_remembers_each_routes_door_not_each_unserved_request(
    gateway: GatewayRuntime,
) -> None:
    """The edge looks each route's door up once (`auth_edge.Edge.doors`); a request no route
    serves has a route object of its own, which is not kept (else every 404 would grow it)."""
    door = gateway.http.app.middlewares[0]
    cells = [cell.cell_contents for cell in getattr(door, "__closure__", None) or ()]
    (edge,) = [c.__self__ for c in cells if type(getattr(c, "__self__", None)).__name__ == "Edge"]
    for _ in range(3):
        assert (await _call(gateway, "GET", "/health"))[0] == 200
    remembered = len(edge.doors)
    for n in range(40):
        assert (await _call(gateway, "GET", f"/no-such-route-{n}"))[0] == 404
    assert len(edge.doors) == remembered
