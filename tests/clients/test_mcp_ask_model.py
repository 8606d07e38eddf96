"""`ask_model` over MCP (the official `mcp` SDK client, streamable HTTP) on every kind of
provider: a coding CLI (the Mistral Vibe stand-in), API providers of each dialect and a local
model server (all answering from the scripted upstream), and names that are neither.

An API provider had crashed the tool (`internal_error`: the CLI budget check asked about a
provider that has no CLI); it is now asked through the gateway, with its recorder row.
"""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from llmgw_desktop.engine.api import CallParams, InvalidRequest
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.mcp_wire import mcp_session
from tests.transports.gateway.conftest import GatewayFactory

FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"


@pytest.fixture
async def gateway(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> GatewayRuntime:
    """A gateway whose one CLI is the Vibe stand-in and whose local Ollama is the upstream."""
    monkeypatch.setenv("VIBE_HOME", str(tmp_path / "vibe"))
    monkeypatch.setenv("VIBE_TEST_BASE_URL", upstream.base_url)
    monkeypatch.setenv("LLMGW_TEST_PYTHON", sys.executable)
    runtime: GatewayRuntime = await start_gateway(
        {
            "providers.cli_path": [str(FAKE_BIN)],
            "gateway.providers": {
                "ollama": {"base_url": upstream.base_url + "/v1", "enabled": True}
            },
        },
    )
    return runtime


def mcp_client(gateway: GatewayRuntime) -> AbstractAsyncContextManager[Client]:
    return mcp_session(gateway.mcp_url)


async def ask(client: Client, **arguments: Any) -> tuple[bool, dict[str, Any]]:
    result = await client.call_tool("ask_model", arguments)
    assert result.structured_content is not None, result
    return result.is_error, dict(result.structured_content)


@pytest.mark.parametrize(
    ("provider", "model", "upstream_path"),
    [
        ("openai", "gpt-4o-mini", "/v1/chat/completions"),
        ("anthropic", "claude-sonnet-4-6", "/v1/messages"),
        ("google", "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:generateContent"),
        ("ollama", "qwen3", "/v1/chat/completions"),
    ],
)
async def test_ask_model_asks_an_api_provider_through_the_gateway(
    provider: str,
    model: str,
    upstream_path: str,
    gateway: GatewayRuntime,
    upstream: ScriptedUpstream,
) -> None:
    async with mcp_client(gateway) as client:
        failed, answer = await ask(client, provider=provider, model=model, prompt="2+2?")
    assert not failed, answer
    assert answer["state"] == "completed" and answer["text"].startswith(DEFAULT_ANSWER)
    assert answer["provider"] == provider and answer["model"] == model
    assert answer["usage"]["outputTokens"] > 0
    (request,) = upstream.llm_requests
    assert request.path == upstream_path
    # Its recorder row, found by the id the tool answered with.
    await gateway.engine.recorder.flush()
    detail = await gateway.engine.recorder_query.detail(answer["requestId"])
    assert detail is not None
    assert detail.record["provider"] == provider and detail.record["state"] == "completed"
    assert detail.record["transport"] == "mcp-http"


async def test_ask_model_asks_a_coding_cli_as_a_job(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    async with mcp_client(gateway) as client:
        failed, answer = await ask(client, provider="mistral", prompt="2+2?")
    assert not failed, answer
    assert answer["state"] == "completed" and "FAKE-OK" in answer["text"]
    assert answer["jobId"] and answer["requestId"]


async def test_ask_model_refuses_what_it_cannot_ask_with_a_code(gateway: GatewayRuntime) -> None:
    async with mcp_client(gateway) as client:
        _, no_key = await ask(client, provider="groq", prompt="2+2?")
        _, unknown = await ask(client, provider="chatgpt", prompt="2+2?")
    assert no_key["error"]["code"] == "no_provider_available"
    assert no_key["error"]["details"]["param"] == "provider"
    assert unknown["error"]["code"] == "unknown_provider"
    assert "claude" in unknown["error"]["message"]
    # Below the tool: the job path runs CLIs only, and says so rather than crash.
    with pytest.raises(InvalidRequest) as refused:
        await gateway.engine.calls.submit("openai", CallParams(prompt="hi"), "local")
    assert refused.value.code == "unknown_provider" and "/v1/chat/completions" in str(refused.value)


async def test_an_api_provider_without_a_model_is_asked_its_first_that_answers(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    async with mcp_client(gateway) as client:
        failed, answer = await ask(client, provider="openai", prompt="2+2?")
    assert not failed, answer
    assert answer["provider"] == "openai" and answer["text"].startswith(DEFAULT_ANSWER)
    assert upstream.llm_requests[0].body["model"] == answer["model"]


async def test_the_seeds_llm_generate_answers_a_prompt_alone_as_ask_model_does(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    """mcp-llm-bridge's `llm_generate {"prompt": ...}`: no provider, no model; the first
    model that answers (OpenAI, Anthropic and Gemini have keys: Anthropic's, the catalogue's
    first)."""
    async with mcp_client(gateway) as client:
        seeds = await client.call_tool("llm_generate", {"prompt": "Explain quicksort"})
        ours = await client.call_tool("ask_model", {"prompt": "Explain quicksort"})
        listed = await client.call_tool("llm_models", {})
        by_model = await client.call_tool("llm_generate", {"prompt": "hi", "model": "gpt-4o"})
    for result in (seeds, ours, by_model):
        assert not result.is_error, result
    answer = dict(seeds.structured_content or {})
    assert answer["provider"] == "anthropic" and answer["text"].startswith(DEFAULT_ANSWER)
    assert dict(ours.structured_content or {})["model"] == answer["model"]
    assert dict(by_model.structured_content or {})["provider"] == "openai"
    models = dict(listed.structured_content or {})
    # Every provider's models: the CLIs' and the API providers' that answer.
    assert "mistral" in models["models"] and answer["model"] in models["apiModels"]["anthropic"]
    assert list(models["apiModels"])[:3] == ["anthropic", "openai", "google"]
    assert len(upstream.llm_requests) == 3
