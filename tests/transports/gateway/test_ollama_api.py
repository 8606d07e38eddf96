"""Ollama's API on the gateway through the official `ollama` Python library: chat (whole and
streamed, with tools), generate (and fill-in-the-middle with a `suffix`), embed, the model
list and the rest, each reaching any model the gateway routes, with keys, budgets and the
recorder; and the same access rules as every route (a locked gateway wants the key the
library is given as a header)."""

from __future__ import annotations

import ollama
import pytest

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import (
    DEFAULT_ANSWER,
    OPENAI_OUTPUT_TOKENS,
    OPENAI_PROMPT_TOKENS,
    Reply,
    ScriptedUpstream,
)
from tests.fakes.upstream.embeddings import fake_vector
from tests.transports.auth.conftest import Start, start_fixture
from tests.transports.gateway.completions.test_fim import PROMPT, SUFFIX, providers
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import _rows

__all__ = ["start_fixture"]  # the fixture used here

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"


def client(gateway: GatewayRuntime, **headers: str) -> ollama.AsyncClient:
    return ollama.AsyncClient(host=gateway.base_url, headers=headers or None)


@pytest.fixture
async def gateway(start_gateway: GatewayFactory, upstream: ScriptedUpstream) -> GatewayRuntime:
    started: GatewayRuntime = await start_gateway(providers(upstream))
    return started


async def test_chat_whole_reaches_an_openai_model_and_counts_as_ollama_does(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    answer = await client(gateway).chat(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        stream=False,
        options={"temperature": 0, "num_predict": 20},
    )
    assert answer.message.content is not None and answer.message.content.startswith(DEFAULT_ANSWER)
    assert answer.done and answer.done_reason == "stop"
    assert answer.prompt_eval_count == OPENAI_PROMPT_TOKENS
    assert answer.eval_count == OPENAI_OUTPUT_TOKENS
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/chat/completions"
    assert seen.body["max_tokens"] == 20 and seen.body["temperature"] == 0
    (row,) = await _rows(gateway, 1)
    assert row["tool"] == "/api/chat" and row["provider"] == "openai"


async def test_chat_streams_ndjson_ending_with_the_counts(gateway: GatewayRuntime) -> None:
    parts = [
        part
        async for part in await client(gateway).chat(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    ]
    text = "".join(p.message.content or "" for p in parts)
    assert text.startswith(DEFAULT_ANSWER)
    assert [p.done for p in parts][-1] is True and not any(p.done for p in parts[:-1])
    assert parts[-1].prompt_eval_count and parts[-1].eval_count


async def test_chat_tool_calls_come_back_with_object_arguments(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    upstream.script(Reply.tool_call("get_weather", {"city": "Paris"}))
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    answer = await client(gateway).chat(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[tool],
        stream=False,
    )
    (call,) = answer.message.tool_calls or []
    assert call.function.name == "get_weather" and call.function.arguments == {"city": "Paris"}


async def test_generate_without_suffix_is_a_one_turn_chat(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    answer = await client(gateway).generate(
        model="gpt-4o", prompt="Say hi", system="Be brief.", stream=False
    )
    assert answer.response.startswith(DEFAULT_ANSWER) and answer.done
    (seen,) = upstream.llm_requests
    assert seen.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi"},
    ]


async def test_generate_with_suffix_is_fill_in_the_middle_streamed(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    parts = [
        part
        async for part in await client(gateway).generate(
            model="codestral-latest", prompt=PROMPT, suffix=SUFFIX, stream=True
        )
    ]
    assert "".join(p.response for p in parts) == f"{DEFAULT_ANSWER}|{SUFFIX}"
    assert parts[-1].done
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1/fim/completions"
    (row,) = await _rows(gateway, 1)
    assert row["tool"] == "ollama:fim" and row["state"] == "completed"


async def test_embed_and_the_older_embeddings(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    sdk = client(gateway)
    answer = await sdk.embed(model="text-embedding-3-small", input=["a", "b"])
    assert [list(v) for v in answer.embeddings] == [fake_vector("a"), fake_vector("b")]
    older = await sdk.embeddings(model="ollama/nomic-embed-text", prompt="c")
    assert list(older.embedding) == fake_vector("c")
    first, second = upstream.llm_requests
    assert first.path == "/v1/embeddings" and second.path == "/api/embed"


async def test_list_show_ps_and_version(gateway: GatewayRuntime) -> None:
    sdk = client(gateway)
    listed = await sdk.list()
    names = {m.model for m in listed.models}
    assert "gpt-4o" in names
    shown = await sdk.show("gpt-4o")
    assert shown.details is not None and shown.details.family == "openai"
    assert (await sdk.ps()).models == []
    with pytest.raises(ollama.ResponseError) as missing:
        await sdk.show("no-such-model")
    assert missing.value.status_code == 404


async def test_show_says_what_each_model_is_as_ollama_does(gateway: GatewayRuntime) -> None:
    """An embedding model the gateway serves is listed and shown as one (llm-ollama registers
    embedding models by it), and a chat model's context window is where clients read it
    (LlamaIndex takes any `model_info` key with `context_length`, else 3,900 tokens)."""
    sdk = client(gateway)
    names = {m.model for m in (await sdk.list()).models}
    assert {"text-embedding-3-small", "gpt-4o"} <= names
    embedder = await sdk.show("text-embedding-3-small")
    assert embedder.capabilities == ["embedding"]
    chat = await sdk.show("gpt-4o")
    assert chat.capabilities == ["completion", "tools"]
    assert chat.modelinfo is not None
    assert chat.modelinfo["general.architecture"] == "openai"
    assert chat.modelinfo["openai.context_length"] == 128000
    claude = await sdk.show("claude-sonnet-4-6")
    assert claude.modelinfo is not None and claude.modelinfo["anthropic.context_length"] > 0
    # Served on the embedding routes as listed.
    assert (await sdk.embed(model="text-embedding-3-small", input="a")).embeddings


async def test_the_last_line_has_the_times_open_webui_reads_tokens_per_second_from(
    gateway: GatewayRuntime,
) -> None:
    parts = [
        part
        async for part in await client(gateway).chat(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    ]
    last = parts[-1]
    assert last.done and last.eval_count and last.prompt_eval_count
    assert last.prompt_eval_duration is not None and last.prompt_eval_duration > 0
    assert last.eval_duration is not None and last.eval_duration >= 0
    assert last.total_duration == last.prompt_eval_duration + last.eval_duration
    whole = await client(gateway).chat(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=False
    )
    assert whole.eval_duration == whole.total_duration and whole.prompt_eval_duration == 0


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_generate_answer_gives_the_context_the_next_one_goes_on_from(
    stream: bool, gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    sdk = client(gateway)
    if stream:
        parts = [
            p async for p in await sdk.generate(model="gpt-4o", prompt="I am Ada", stream=True)
        ]
        context, said = parts[-1].context, "".join(p.response for p in parts)
    else:
        first = await sdk.generate(model="gpt-4o", prompt="I am Ada", system="Be brief.")
        context, said = first.context, first.response
    assert context and all(0 <= n < 256 for n in context)
    second = await sdk.generate(model="claude-sonnet-4-6", prompt="Who am I?", context=context)
    assert second.response.startswith(DEFAULT_ANSWER)
    messages = upstream.llm_requests[-1].body["messages"]
    assert [m["role"] for m in messages][-3:] == ["user", "assistant", "user"]
    # The earlier turn and its answer, as the Anthropic upstream was sent them.
    assert "I am Ada" in str(messages[-3]["content"])
    assert said in str(messages[-2]["content"])


async def test_a_context_it_did_not_give_is_refused_by_name(gateway: GatewayRuntime) -> None:
    with pytest.raises(ollama.ResponseError) as refused:
        await client(gateway).generate(model="gpt-4o", prompt="hi", context=[1000, 2000])
    assert refused.value.status_code == 400 and "context" in refused.value.error


async def test_an_unknown_model_is_an_ollama_error(gateway: GatewayRuntime) -> None:
    with pytest.raises(ollama.ResponseError) as refused:
        await client(gateway).chat(
            model="nope-model-x", messages=[{"role": "user", "content": "hi"}], stream=False
        )
    assert refused.value.status_code == 404 and "nope-model-x" in refused.value.error


async def test_a_locked_gateway_wants_the_key_as_a_header(provider_env: None, start: Start) -> None:
    gateway = await start({"http.auth_token": TOKEN})
    with pytest.raises(ollama.ResponseError) as refused:
        await client(gateway).list()
    assert refused.value.status_code == 401
    assert "bearer" in refused.value.error.lower()  # Ollama's envelope: the message itself
    keyed = client(gateway, Authorization=f"Bearer {TOKEN}")
    assert (await keyed.list()).models
    answer = await keyed.chat(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=False
    )
    assert answer.done
