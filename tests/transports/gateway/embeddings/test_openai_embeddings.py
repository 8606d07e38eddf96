"""The official `openai` SDK's embeddings through the gateway, to an OpenAI upstream."""

from __future__ import annotations

import openai
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import ScriptedUpstream
from tests.fakes.upstream.embeddings import TOKENS_PER_TEXT, fake_vector
from tests.sdk_clients import openai_client


async def test_sdk_default_base64_embedding_reaches_openai_and_decodes(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    answer = await openai_client(gateway).embeddings.create(
        model="text-embedding-3-small", input="hello world"
    )
    assert answer.data[0].embedding == fake_vector("hello world")
    assert answer.usage.prompt_tokens == TOKENS_PER_TEXT
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/embeddings"
    # The SDK asks for base64 by default: sent on as the client sent it.
    assert seen.body["encoding_format"] == "base64"
    assert seen.body["model"] == "text-embedding-3-small"
    assert seen.headers["authorization"].startswith("<redacted")


async def test_list_of_texts_as_floats_with_dimensions(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    answer = await openai_client(gateway).embeddings.create(
        model="text-embedding-3-large",
        input=["one", "two", "three"],
        dimensions=4,
        encoding_format="float",
    )
    assert [d.embedding for d in answer.data] == [
        fake_vector(t, 4) for t in ("one", "two", "three")
    ]
    assert [d.index for d in answer.data] == [0, 1, 2]
    (seen,) = upstream.llm_requests
    assert seen.body["dimensions"] == 4


async def test_anthropic_model_is_refused_naming_it(gateway: GatewayRuntime) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await openai_client(gateway).embeddings.create(model="claude-sonnet-4-5", input="x")
    assert "anthropic/claude-sonnet-4-5" in str(refused.value)
    assert "no embeddings API" in str(refused.value)
