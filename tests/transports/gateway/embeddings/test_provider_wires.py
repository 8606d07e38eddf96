"""Embeddings on Ollama (its own `/api/embed`), Mistral and an OpenAI-compatible server, and
the engine's own `embed` call that other parts of the engine build on."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.engine.api import LOCAL_CALLER
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.embeddings import TOKENS_PER_TEXT, fake_vector
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import _rows


def _providers(upstream: ScriptedUpstream) -> dict[str, object]:
    return {
        "gateway.providers": {
            "ollama": {"enabled": True, "base_url": upstream.base_url + "/v1"},
            "mistral": {"api_key": "mistral-test-key-0123", "base_url": upstream.base_url + "/v1"},
            "vllm": {"enabled": True, "base_url": upstream.base_url + "/v1"},
        }
    }


async def test_ollama_is_asked_through_its_own_embed_api(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(_providers(upstream))
    answer = await openai_client(gateway).embeddings.create(
        model="ollama/nomic-embed-text", input=["x", "y"]
    )
    assert [d.embedding for d in answer.data] == [fake_vector("x"), fake_vector("y")]
    assert answer.usage.prompt_tokens == 2 * TOKENS_PER_TEXT
    (seen,) = upstream.llm_requests
    assert seen.path == "/api/embed"
    assert seen.body == {"model": "nomic-embed-text", "input": ["x", "y"]}


async def test_mistral_and_a_compatible_server_take_the_openai_wire(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(_providers(upstream))
    client = openai_client(gateway)
    await client.embeddings.create(model="mistral-embed", input="m")
    await client.embeddings.create(model="vllm/bge-m3", input=[[1, 2, 3]])  # token ids
    mistral, vllm = upstream.llm_requests
    assert mistral.path == "/v1/embeddings" and mistral.body["model"] == "mistral-embed"
    assert vllm.body["input"] == [[1, 2, 3]]


async def test_token_arrays_are_not_sent_to_a_wire_that_embeds_text(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(_providers(upstream))
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(gateway).embeddings.create(
            model="ollama/nomic-embed-text", input=[5, 6]
        )
    assert "token arrays are sent only to OpenAI-compatible providers" in str(refused.value)
    assert "ollama/nomic-embed-text" in str(refused.value)
    assert upstream.llm_requests == []


async def test_the_engine_embed_call_is_routed_recorded_and_priced(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    answer = await gateway.engine.gateway.embed(
        ["one", "two"], "text-embedding-3-small", LOCAL_CALLER.id, caller="semantic-cache"
    )
    assert answer.vectors == [fake_vector("one"), fake_vector("two")]
    assert answer.usage.input_tokens == TOKENS_PER_TEXT * 2
    assert answer.route.provider == "openai"
    (row,) = await _rows(gateway, 1)
    assert row["tool"] == "engine:embed" and row["caller"] == "semantic-cache"
    assert row["cost_usd"] > 0
    (seen,) = upstream.llm_requests
    assert seen.body["input"] == ["one", "two"]


async def test_the_playground_tries_an_embedding_and_says_why_one_fails(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    playground = gateway.engine.playground
    reply = await playground.embed("text-embedding-3-small", "hello")
    assert reply.ok, reply.error
    shown = ", ".join(f"{v:.4f}" for v in fake_vector("hello"))
    assert reply.text == f"8 dimensions: [{shown}]"
    assert reply.record is not None and reply.record["caller"] == "playground"
    assert reply.record["tool"] == "engine:embed" and reply.record["cost_usd"] > 0
    refused = await playground.embed("claude-sonnet-4-6", "hello")
    assert not refused.ok and "no embeddings API" in (refused.error or "")
    assert refused.record is not None and refused.record["state"] == "refused"
