"""An embedding takes a chat's path: Gemini's own front (the google-genai SDK), the response
cache, hard budgets, the recorder's rows and the edge's rate limits, each as a chat has them."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from google.genai import types

from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.fakes.upstream.embeddings import TOKENS_PER_TEXT, fake_vector
from tests.sdk_clients import gemini_client, openai_client
from tests.transports.auth.conftest import Start, send, start_fixture
from tests.transports.gateway.conftest import GatewayFactory
from tests.transports.gateway.test_response_cache import _rows

__all__ = ["start_fixture"]  # the fixture used here

TOKEN = "bearer-token-for-tests-0123456789-abcdefghij"


async def test_google_genai_embeds_through_the_gemini_front_to_the_gemini_api(
    gateway: GatewayRuntime, upstream: ScriptedUpstream
) -> None:
    answer = await gemini_client(gateway).aio.models.embed_content(
        model="gemini-embedding-001",
        contents=["first", "second"],
        config=types.EmbedContentConfig(output_dimensionality=4, task_type="RETRIEVAL_QUERY"),
    )
    assert answer.embeddings is not None
    assert [e.values for e in answer.embeddings] == [
        fake_vector("first", 4),
        fake_vector("second", 4),
    ]
    (seen,) = upstream.llm_requests
    assert seen.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert seen.body["requests"][0]["taskType"] == "RETRIEVAL_QUERY"
    assert seen.body["requests"][1]["outputDimensionality"] == 4
    (row,) = await _rows(gateway, 1)
    assert row["tool"] == "gemini:batchEmbedContents" and row["provider"] == "google"
    # The Gemini API reports no usage: counted at the estimate, and priced.
    assert row["input_tokens"] == 2 and row["cost_usd"] > 0


async def test_a_repeat_is_answered_from_the_cache_at_no_cost(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway({"cache.enabled": True})
    client = openai_client(gateway)
    first = await client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="q"
    )
    second = await client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="q"
    )
    assert first.headers["x-gateway-cache"] == "miss"
    assert second.headers["x-gateway-cache"] == "hit"
    assert second.parse().data[0].embedding == first.parse().data[0].embedding == fake_vector("q")
    assert len(upstream.llm_requests) == 1
    hit, miss = await _rows(gateway, 2)
    assert hit["cost_usd"] == 0.0 and miss["cost_usd"] > 0
    assert miss["input_tokens"] == TOKENS_PER_TEXT
    # Another model is another answer.
    other = await client.embeddings.with_raw_response.create(
        model="text-embedding-3-large", input="q"
    )
    assert other.headers["x-gateway-cache"] == "miss"


async def test_a_hard_budget_without_room_for_the_input_refuses_before_the_upstream(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    budget = [{"scope": "global", "unit": "tokens", "period": "daily", "hard": 10}]
    gateway: GatewayRuntime = await start_gateway({"budgets": budget})
    client = openai_client(gateway)
    await client.embeddings.create(model="text-embedding-3-small", input="short")
    with pytest.raises(openai.APIStatusError) as refused:
        await client.embeddings.create(model="text-embedding-3-small", input="x" * 400)
    assert refused.value.status_code == 402
    assert len(upstream.llm_requests) == 1  # the refused one was never sent
    refusal, spent = await _rows(gateway, 2)
    assert refusal["error_code"] == "budget_exceeded" and refusal["tool"] == "/v1/embeddings"
    assert spent["input_tokens"] == TOKENS_PER_TEXT


async def test_an_upstream_429_falls_back_to_the_next_key_and_is_recorded(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    gateway: GatewayRuntime = await start_gateway(
        {"gateway.providers": {"openai": {"api_keys": ["sk-one-aaaaaaaa", "sk-two-bbbbbbbb"]}}}
    )
    upstream.script(Reply.error(429, retry_after_s=1))
    answer = await openai_client(gateway).embeddings.create(
        model="text-embedding-3-small", input="z"
    )
    assert answer.data[0].embedding == fake_vector("z")
    ok, limited = await _rows(gateway, 2)
    assert limited["state"] == "failed" and limited["error_code"] == "upstream_429"
    assert ok["state"] == "completed" and ok["attempts"] == 2


async def test_a_remote_principal_is_rate_limited_on_embeddings_as_on_chat(
    provider_env: None, start: Start
) -> None:
    gateway = await start(
        {
            "http.auth_token": TOKEN,
            "http.rate_limit_per_minute": 1,
            "http.rate_limit_burst": 1,
        }
    )
    body: dict[str, Any] = {"model": "text-embedding-3-small", "input": "a"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first = await send(gateway, "POST", "/v1/embeddings", json=body, headers=headers)
    assert first.status == 200, first.text
    second = await send(gateway, "POST", "/v1/embeddings", json=body, headers=headers)
    assert second.status == 429 and second.json()["error"]["code"] == "rate_limited"
    # Without the bearer a locked gateway refuses it as it refuses a chat.
    anonymous = await send(gateway, "POST", "/v1/embeddings", json=body)
    assert anonymous.status == 401


async def test_bad_input_is_refused_naming_the_field_and_recorded(gateway: GatewayRuntime) -> None:
    client = openai_client(gateway)
    with pytest.raises(openai.BadRequestError) as refused:
        await client.embeddings.create(model="text-embedding-3-small", input=["ok", ""])
    assert "input[1]: empty" in str(refusal_text := refused.value)
    (row,) = await _rows(gateway, 1)
    assert row["state"] == "refused" and row["tool"] == "/v1/embeddings", refusal_text
