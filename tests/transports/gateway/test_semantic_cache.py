"""The semantic cache: a request that means what an earlier one meant is answered with its answer,
the meaning embedded by a real local model (all-MiniLM-L6-v2, `tests/fakes/minilm.py`) through
the gateway's own embeddings route, with the official OpenAI SDK as the client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from llmgw_desktop.engine.api import KeySpec
from llmgw_desktop.engine.auth.principals import LOCAL_CALLER
from llmgw_desktop.shell.runtime import GatewayRuntime
from tests.fakes.minilm import MINILM, minilm_server
from tests.fakes.upstream import ScriptedUpstream
from tests.sdk_clients import openai_client
from tests.transports.gateway.conftest import GatewayFactory

TOKEN = "semantic-cache-operator-token-0123456789"
FRANCE = "What is the capital of France?"
PARAPHRASE = "Which city is the capital of France?"  # 0.94 to FRANCE with this model
GERMANY = "What is the capital of Germany?"  # 0.66 to FRANCE: another question
TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


@dataclass
class Rig:
    gateway: GatewayRuntime
    upstream: ScriptedUpstream

    def client(self, key: str = TOKEN) -> openai.AsyncOpenAI:
        return openai_client(self.gateway, key)

    async def ask(self, text: str, key: str = TOKEN, **extra: Any) -> tuple[str, str]:
        """One chat at temperature 0 (unless `extra` says otherwise): its answer's text and
        its `x-gateway-cache`."""
        body: dict[str, Any] = {"temperature": 0} | extra
        async with self.client(key) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=[{"role": "user", "content": text}], **body
            )
        answer = raw.parse()
        return answer.choices[0].message.content or "", raw.headers["x-gateway-cache"]

    async def rows(self) -> list[dict[str, Any]]:
        return list(reversed(await self.gateway.engine.recorder.recent(limit=50)))


@asynccontextmanager
async def semantic_rig(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    settings: Mapping[str, Any] | None = None,
) -> AsyncIterator[Rig]:
    async with minilm_server() as embed_url:
        gateway: GatewayRuntime = await start_gateway(
            {
                "http.auth_token": TOKEN,
                "http.rate_limit_per_minute": 0,
                "gateway.providers": {
                    "local-embed": {
                        "kind": "openai-compatible",
                        "base_url": embed_url,
                        "models": [MINILM],
                    }
                },
                "cache.enabled": True,
                "cache.semantic": True,
                "cache.semantic_model": f"local-embed/{MINILM}",
                "cache.semantic_thresholds": {"*": 0.9, "gpt-4o-mini*": 0.99},
                # A real model on a loaded machine, its first embedding loading it: what is
                # tested here is what hits, not the lookup's deadline (that is
                # tests/reliability/test_semantic_cache_faults.py).
                "cache.semantic_timeout_ms": 60_000,
                **(settings or {}),
            }
        )
        yield Rig(gateway, upstream)


async def test_a_paraphrase_over_the_threshold_is_answered_from_the_cache(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    async with semantic_rig(start_gateway, upstream) as rig:
        first, cache = await rig.ask(FRANCE)
        assert cache == "miss" and len(upstream.llm_requests) == 1
        again, cache = await rig.ask(PARAPHRASE)
        assert cache == "semantic-hit"
        assert again == first  # the earlier answer, word for word
        assert len(upstream.llm_requests) == 1  # the upstream was not asked
        rows = await rig.rows()
        hit = rows[-1]
        assert hit["cost_usd"] == 0.0 and hit["route"]["cache"]["semantic"] is True
        assert 0.9 <= hit["route"]["cache"]["similarity"] < 1.0
        # Each meaning was embedded through the gateway's own route, as the caller's call.
        embedded = [r for r in rows if r["provider"] == "local-embed"]
        assert len(embedded) == 2 and {r["caller"] for r in embedded} == {"semantic-cache"}


async def test_a_question_under_the_threshold_is_asked_upstream(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    async with semantic_rig(start_gateway, upstream) as rig:
        await rig.ask(FRANCE)
        _, cache = await rig.ask(GERMANY)
        assert cache == "miss"
        assert [r.body["messages"][0]["content"] for r in upstream.llm_requests] == [
            FRANCE,
            GERMANY,
        ]


async def test_another_principal_never_hits(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    async with semantic_rig(start_gateway, upstream) as rig:
        keys = rig.gateway.engine.keys
        alice = (await keys.create(LOCAL_CALLER, KeySpec(name="alice"))).secret
        bob = (await keys.create(LOCAL_CALLER, KeySpec(name="bob"))).secret
        await rig.ask(FRANCE, alice)
        _, cache = await rig.ask(FRANCE, bob)  # the very same words: still not alice's
        assert cache == "miss"
        _, cache = await rig.ask(PARAPHRASE, bob)
        assert cache == "semantic-hit"  # bob's own earlier answer
        assert len(upstream.llm_requests) == 2


async def test_a_stream_is_replayed_as_a_stream(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    async with semantic_rig(start_gateway, upstream) as rig:
        messages = [{"role": "user", "content": FRANCE}]
        async with rig.client() as client:
            first = await client.chat.completions.create(
                model="gpt-4o", messages=messages, temperature=0, stream=True
            )
            told = "".join([c.choices[0].delta.content or "" async for c in first if c.choices])
            raw = await client.chat.completions.with_raw_response.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": PARAPHRASE}],
                temperature=0,
                stream=True,
            )
            assert raw.headers["x-gateway-cache"] == "semantic-hit"
            assert raw.headers["content-type"].startswith("text/event-stream")
            again = raw.parse()
            retold = "".join([c.choices[0].delta.content or "" async for c in again if c.choices])
        assert retold == told and len(upstream.llm_requests) == 1


@pytest.mark.parametrize("allowed", [False, True], ids=["by-default", "when-allowed"])
@pytest.mark.parametrize(
    ("extra", "allowed_by"),
    [({"temperature": 0.7}, "cache.semantic_sampled"), ({"tools": [TOOL]}, "cache.semantic_tools")],
    ids=["sampled", "tools"],
)
async def test_sampled_or_tool_requests_are_served_only_when_the_operator_says_so(
    start_gateway: GatewayFactory,
    upstream: ScriptedUpstream,
    extra: dict[str, Any],
    allowed_by: str,
    allowed: bool,
) -> None:
    settings: dict[str, Any] = {}
    if allowed:  # a sampled answer is kept only where the exact cache keeps those too
        settings = {allowed_by: True} | ({"cache.sampled": True} if "temperature" in extra else {})
    async with semantic_rig(start_gateway, upstream, settings) as rig:
        await rig.ask(FRANCE, **extra)
        _, cache = await rig.ask(PARAPHRASE, **extra)
    if allowed:
        assert cache == "semantic-hit" and len(upstream.llm_requests) == 1
    else:
        assert cache == "miss" and len(upstream.llm_requests) == 2


async def test_the_threshold_is_the_operators_per_model(
    start_gateway: GatewayFactory, upstream: ScriptedUpstream
) -> None:
    """gpt-4o-mini's threshold is 0.99: the same paraphrase that hits for gpt-4o misses."""
    async with semantic_rig(start_gateway, upstream) as rig:
        async with rig.client() as client:
            for text in (FRANCE, PARAPHRASE):
                raw = await client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": text}],
                    temperature=0,
                )
                assert raw.headers["x-gateway-cache"] == "miss"
        assert len(upstream.llm_requests) == 2
