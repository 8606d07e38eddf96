"""`http.ollama_port`: the gateway also serves on Ollama's own port for tools that assume it,
only while that port is free and no ollama program is installed, and never asks itself there
as the Ollama provider. The port is a free one here (a test never takes the real 11434)."""

from __future__ import annotations

import shutil
import socket

import ollama
import pytest

from llmgw_desktop.shell import runtime
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.ports import free_port
from tests.transports.gateway.conftest import GatewayFactory


@pytest.fixture
def ollama_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """A free loopback port standing in for 11434, and no ollama program on the PATH."""
    port = free_port()
    monkeypatch.setattr(runtime, "OLLAMA_PORT", port)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    return port


def _settings(port: int, on: bool = True) -> dict[str, object]:
    return {
        "http.ollama_port": on,
        "gateway.providers": {
            "ollama": {"enabled": True, "base_url": f"http://127.0.0.1:{port}/v1"}
        },
    }


async def test_ollama_clients_reach_the_gateway_on_ollamas_port(
    ollama_port: int, start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(_settings(ollama_port))
    client = ollama.AsyncClient(host=f"http://127.0.0.1:{ollama_port}")
    assert any(m.model == "gpt-4o" for m in (await client.list()).models)
    answer = await client.chat(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=False
    )
    assert (answer.message.content or "").startswith(DEFAULT_ANSWER)
    # The Ollama provider's address is the gateway's own now: never asked (no loop).
    with pytest.raises(ollama.ResponseError) as refused:
        await client.chat(model="ollama/llama3", messages=[{"role": "user", "content": "hi"}])
    assert "is this gateway itself" in refused.value.error
    assert len(upstream.llm_requests) == 1
    assert gateway.engine.gateway.directory.detected.get("ollama") is None


async def test_off_by_default(ollama_port: int, start_gateway: GatewayFactory) -> None:
    await start_gateway(_settings(ollama_port, on=False))
    with socket.socket() as free:
        free.bind(("127.0.0.1", ollama_port))  # nobody took it


async def test_a_taken_port_is_left_to_whoever_has_it(
    ollama_port: int, start_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="llmgw_desktop.shell.runtime")
    with socket.socket() as real_ollama:
        real_ollama.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        real_ollama.bind(("127.0.0.1", ollama_port))
        real_ollama.listen()
        gateway: GatewayRuntime = await start_gateway(_settings(ollama_port))
        assert "in use" in caplog.text
        assert (
            gateway.engine.gateway.keys.points_at_us(
                gateway.engine.providers.api_provider("ollama")  # type: ignore[arg-type]
            )
            is False
        )


async def test_an_installed_ollama_keeps_its_port(
    ollama_port: int, start_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: "/usr/local/bin/ollama")
    await start_gateway(_settings(ollama_port))
    with socket.socket() as free:
        free.bind(("127.0.0.1", ollama_port))
