"""Embeddings and fill-in-the-middle completions from real clients in their default
configuration, on an open and on a locked gateway: the `openai` npm package (embeddings as
base64, completions with `suffix`, whole and streamed), the `ollama` npm package (chat whole
and streamed, generate, embed, list), and LangChain's `OpenAIEmbeddings` and
`OllamaEmbeddings`."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_ollama import OllamaEmbeddings
from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

from tests.clients.harness import KeyedGateway
from tests.clients.node import node_environment, run_node
from tests.fakes.upstream import DEFAULT_ANSWER, ScriptedUpstream
from tests.fakes.upstream.completions import FIM_OUTPUT_TOKENS
from tests.fakes.upstream.embeddings import TOKENS_PER_TEXT, fake_vector

SUFFIX = "\n\nprint(add(1, 2))"


async def _openai_npm(case: str, model: str, gateway: KeyedGateway, home: Path) -> dict:
    base_url = gateway.runtime.base_url + "/v1"
    env = node_environment(home, {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": gateway.key})
    return await run_node("openai", "openai_more.cjs", case, model, env=env, cwd=home)


async def test_openai_npm_embeddings_decode_from_base64(
    keyed_gateway: KeyedGateway, upstream: ScriptedUpstream, home: Path
) -> None:
    answer = await _openai_npm("embed", "text-embedding-3-small", keyed_gateway, home)
    assert answer["vectors"] == [fake_vector("alpha"), fake_vector("beta")], answer
    assert answer["usage"]["prompt_tokens"] == 2 * TOKENS_PER_TEXT
    (seen,) = upstream.llm_requests
    assert seen.body["encoding_format"] == "base64"


@pytest.mark.parametrize("case", ["fim", "fim-stream"])
async def test_openai_npm_completions_with_suffix(
    keyed_gateway: KeyedGateway, upstream: ScriptedUpstream, home: Path, case: str
) -> None:
    answer = await _openai_npm(case, "gpt-3.5-turbo-instruct", keyed_gateway, home)
    assert answer["text"] == f"{DEFAULT_ANSWER}|{SUFFIX}", answer
    assert answer["finish"] == "stop" and answer["usage"]["completion_tokens"] == FIM_OUTPUT_TOKENS
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/completions" and seen.body["suffix"] == SUFFIX


async def test_ollama_npm_chat_generate_embed_and_list(
    keyed_gateway: KeyedGateway, upstream: ScriptedUpstream, home: Path
) -> None:
    key = keyed_gateway.key if keyed_gateway.locked else ""
    env = node_environment(home, {})
    answer = await run_node(
        "ollama",
        "ollama_js.cjs",
        keyed_gateway.runtime.base_url,
        key,
        "gpt-4o-mini",
        "text-embedding-3-small",
        env=env,
        cwd=home,
    )
    assert answer["chat"].startswith(DEFAULT_ANSWER) and answer["chatDone"], answer
    assert answer["streamed"].startswith(DEFAULT_ANSWER) and answer["streamDone"], answer
    assert answer["evalCount"] > 0
    assert answer["generated"].startswith(DEFAULT_ANSWER)
    assert answer["vectors"] == [fake_vector("alpha"), fake_vector("beta")]
    assert "gpt-4o-mini" in answer["models"]


async def test_langchain_openai_and_ollama_embeddings(
    keyed_gateway: KeyedGateway, upstream: ScriptedUpstream
) -> None:
    runtime = keyed_gateway.runtime
    openai_embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=runtime.base_url + "/v1",
        api_key=SecretStr(keyed_gateway.key),
        check_embedding_ctx_length=False,  # no tiktoken download: texts go as they are
    )
    assert await openai_embeddings.aembed_documents(["one", "two"]) == [
        fake_vector("one"),
        fake_vector("two"),
    ]
    assert await openai_embeddings.aembed_query("q") == fake_vector("q")
    headers = {"Authorization": f"Bearer {keyed_gateway.key}"} if keyed_gateway.locked else {}
    ollama_embeddings = OllamaEmbeddings(
        model="text-embedding-3-small",
        base_url=runtime.base_url,
        client_kwargs={"headers": headers},
        validate_model_on_init=False,
    )
    assert await ollama_embeddings.aembed_documents(["three"]) == [fake_vector("three")]
    assert all(r.path == "/v1/embeddings" for r in upstream.llm_requests)
